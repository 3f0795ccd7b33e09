"""The side-by-side comparison report of a sweep: one self-contained HTML file, with
results.csv and results.json beside it."""

from batchgen.report.targets import report_targets
from batchgen.report.write import RESULTS_CSV, RESULTS_JSON, write_report

__all__ = ["RESULTS_CSV", "RESULTS_JSON", "report_targets", "write_report"]
