"""Every numeric option is finite and in range: inf and nan are usage errors (exit 2)
before anything is read or sent."""

from __future__ import annotations

import pytest

from batchgen.cli import main
from batchgen.errors import UsageError
from batchgen.run.budget import confirm_threshold

RUN = ["run", "missing.yaml", "--simulate"]


@pytest.mark.parametrize("argv", [
    [*RUN, "--poll-interval", "inf"], [*RUN, "--poll-interval", "nan"],
    [*RUN, "--poll-interval", "1e9"], [*RUN, "--poll-interval", "0"],
    [*RUN, "--max-cu", "inf"], [*RUN, "--max-cu", "nan"], [*RUN, "--max-cu", "-1"],
    [*RUN, "--recovery-wait", "inf"], [*RUN, "--recovery-wait", "-0.5"],
    [*RUN, "--concurrency", "0"], [*RUN, "--concurrency", "100000"],
    ["estimate", "missing.yaml", "--concurrency", "1000001"],
    ["simulate", "--time-scale", "inf"], ["simulate", "--duration", "1", "nan"],
    ["simulate", "--url-lifetime", "infinity"], ["simulate", "--retry-after=-inf"],
])
def test_a_non_finite_or_out_of_range_number_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "argument --" in err and "Traceback" not in err
    assert any(word in err for word in ("finite", "above 0", "at least", "more than"))


@pytest.mark.parametrize("raw", ["inf", "nan", "-1"])
def test_the_confirmation_threshold_must_be_finite(raw):
    with pytest.raises(UsageError, match="finite number"):
        confirm_threshold({"BATCHGEN_CONFIRM_ABOVE_CU": raw})


def test_ordinary_values_still_parse():
    from batchgen.cli import build_parser
    args = build_parser().parse_args([*RUN, "--poll-interval", "0.5", "--max-cu", "0",
                                      "--recovery-wait", "0", "--concurrency", "1000"])
    assert (args.poll_interval, args.max_cu, args.recovery_wait, args.concurrency) == (0.5, 0, 0, 1000)
