"""`batchgen schema check`: against a simulator serving a chosen model definition."""

from __future__ import annotations

import contextlib
import json

import pytest

from batchgen.cli import main
from batchgen.simulator.server import serve_in_thread

from simkit import KEY, SECRET, simulator
from modelkit import by_name, live


@pytest.fixture
def served(monkeypatch):
    """`served(inputs)` -> base URL of a loopback simulator serving those model inputs."""
    monkeypatch.setenv("SCENARIO_SDK_API_KEY", KEY)
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", SECRET)
    with contextlib.ExitStack() as stack:
        yield lambda inputs: stack.enter_context(serve_in_thread(simulator(model_inputs=inputs)))


def test_a_definition_in_sync_exits_0(served, capsys):
    assert main(["schema", "check", "--base-url", served(live())]) == 0
    assert "matches the shipped schema" in capsys.readouterr().out


def test_a_drifted_definition_exits_1_and_prints_every_difference(served, capsys):
    drifted = live()
    by_name(drifted, "resolution")["allowedValues"].append("4k")
    by_name(drifted, "duration")["default"] = "10s"
    by_name(drifted, "prompt")["maxLength"] = 2000
    del by_name(drifted, "prompt")["required"]
    assert main(["schema", "check", "--base-url", served(drifted)]) == 1
    out = capsys.readouterr().out
    assert "differs from the shipped schema" in out and "in 4 ways" in out
    for expected in ['resolution: allowed values', 'live adds "4k"',
                     'duration: default: live "10s", shipped schema "5s"',
                     "prompt: maxLength: live 2000, shipped schema 6000",
                     "prompt: required: live no such rule, shipped schema always required"]:
        assert expected in out


def test_json_output_lists_the_differences(served, capsys):
    drifted = [i for i in live() if i["name"] != "loop"]
    assert main(["schema", "check", "--json", "--base-url", served(drifted)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drifted"] is True
    assert [(d["input"], d["what"]) for d in report["differences"]] == [("loop", "input")]


def test_a_model_without_a_schema_is_a_usage_error_naming_where_to_put_one(served, capsys):
    assert main(["schema", "check", "model_other", "--base-url", served(live())]) == 2
    err = capsys.readouterr().err
    assert "no schema for the model model_other" in err and "models/model_other.schema.json" in err


def test_refused_credentials_exit_3(served, monkeypatch, capsys):
    url = served(live())
    monkeypatch.setenv("SCENARIO_SDK_API_SECRET", "wrong-secret")
    assert main(["schema", "check", "--base-url", url]) == 3
    err = capsys.readouterr().err
    assert "401" in err and "wrong-secret" not in err


def test_a_definition_without_inputs_exits_2(served, capsys):
    assert main(["schema", "check", "--base-url", served([{"type": "string"}])]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_missing_credentials_exit_2(monkeypatch, capsys):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    monkeypatch.delenv("SCENARIO_SDK_API_SECRET", raising=False)
    assert main(["schema", "check", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "credentials are missing" in capsys.readouterr().err


def test_the_built_in_simulator_serves_a_definition_in_sync_with_the_shipped_schema(capsys):
    assert main(["schema", "check", "--simulate"]) == 0
