"""docs/ARCHITECTURE.md maps every module: a module added without a line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "batchgen"


def test_the_architecture_names_every_module_in_its_packages_row():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\| (\w+) \| (.*) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.name == "__main__.py" or (relative.name == "__init__.py" and len(relative.parts) > 1
                                               and relative.parts[0] != "cli"):
            continue
        package = relative.parts[0] if len(relative.parts) > 1 else "top"
        named = "/".join(relative.parts[1:]) if len(relative.parts) > 1 else relative.name
        if f"`{named}`" not in rows.get(package, ""):
            missing.append(str(relative))
    assert missing == [], (f"docs/ARCHITECTURE.md does not name {missing}: add each to its "
                           "package's row of the packages table")


def test_where_to_change_what_names_files_that_exist():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text[text.index("## Where to change what"):text.index("## The packages")]
    for task in ("add a model parameter", "add a model", "change the polling strategy",
                 "add a ledger event", "add a command"):
        assert f"| {task} |" in table, task
    named = set(re.findall(r"`((?:\w+/)*\w+\.py)`", table))
    assert named and [p for p in named if not (ROOT / p).is_file() and not (PACKAGE / p).is_file()] == []
