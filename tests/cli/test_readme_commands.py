"""The README's command table and `run` option list say what the parser accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchgen.cli import build_parser, subcommands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
TABLE = re.findall(r"^\| `batchgen ([^`]*)` \|", README, re.MULTILINE)
RUN_OPTIONS = README.split("`run` options:", 1)[1].split("\n\n", 1)[0]


def _commands() -> dict[str, object]:
    """'run', 'schema check', ...: every command a user types, with its parser."""
    found = {}
    for parser in subcommands(build_parser()):
        name = parser.prog.removeprefix("batchgen ")
        found[name] = parser
    return found


def _options(parser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings
            if flag.startswith("--")}


def _row_command(row: str) -> str:
    words = row.split()
    two = " ".join(words[:2])
    return two if two in _commands() else words[0]


def test_every_command_of_the_parser_has_a_row_in_the_readme_table():
    commands = _commands()
    leaves = {name for name in commands if not any(other.startswith(name + " ")
                                                   for other in commands)}
    assert {_row_command(row) for row in TABLE} == leaves


@pytest.mark.parametrize("row", TABLE)
def test_every_option_a_table_row_shows_is_one_its_command_takes(row):
    parser = _commands()[_row_command(row)]
    shown = set(re.findall(r"--[a-z][a-z-]*", row))
    assert shown <= _options(parser), f"{row}: {sorted(shown - _options(parser))} unknown"


def test_the_run_option_list_is_exactly_the_options_run_takes():
    listed = set(re.findall(r"`(--[a-z][a-z-]*)", RUN_OPTIONS))
    assert listed == _options(_commands()["run"]) - {"--help", "--verbose"}
