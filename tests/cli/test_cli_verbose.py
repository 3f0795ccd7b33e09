"""`batchgen -v/-vv` and BATCHGEN_LOG: log lines on stderr when asked, none by default."""

from __future__ import annotations

import pytest

from batchgen.cli import main
from batchgen.simulator import Simulator
from batchgen.simulator.server import serve_in_thread
from simkit import set_credentials

KEY, SECRET = "verbose-key-2d7a", "verbose-secret-61fe0c"
MANIFEST = "version: 1\nname: verbose\nprompts:\n  - a misty valley at dawn\n  - a knight in fog\n"
RENEWAL = "INFO batchgen.run.download:"  # a URL refused as expired and renewed at once


@pytest.fixture
def expiring(tmp_path, monkeypatch):
    """run(*global_options) -> (exit code, stderr) against a simulator refusing half the URLs."""
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    set_credentials(monkeypatch, KEY, SECRET)
    monkeypatch.delenv("BATCHGEN_LOG", raising=False)
    # Whole list pages keep seed 1's draws for the downloads, so a URL is refused.
    sim = Simulator(api_key=KEY, api_secret=SECRET, expire_rate=0.5, seed=1, short_page_rate=0.0,
                    duration_range=(5.0, 10.0), time_scale=100.0)

    def run(capfd, *options: str) -> tuple[int, str]:
        code = main([*options, "run", str(tmp_path / "m.yaml"), "--base-url", url, "--yes",
                     "--no-progress", "--poll-interval", "0.05"])
        return code, capfd.readouterr().err

    with serve_in_thread(sim) as url:
        yield run


def test_without_v_a_run_logs_nothing(expiring, capfd):
    code, err = expiring(capfd)
    assert code == 0 and RENEWAL not in err and " httpx:" not in err


def test_v_logs_batchgens_own_events_but_not_every_http_request(expiring, capfd):
    code, err = expiring(capfd, "-v")
    assert code == 0 and RENEWAL in err and "renewing it" in err
    assert " httpx:" not in err and " DEBUG " not in err


def test_vv_logs_http_requests_at_debug_too(expiring, capfd):
    code, err = expiring(capfd, "-vv")
    assert code == 0 and "INFO httpx: HTTP Request:" in err and "DEBUG httpcore." in err


def test_batchgen_log_info_does_what_v_does(expiring, capfd, monkeypatch):
    monkeypatch.setenv("BATCHGEN_LOG", "INFO")
    code, err = expiring(capfd)
    assert code == 0 and RENEWAL in err and " httpx:" not in err


def test_an_unknown_batchgen_log_level_is_refused_with_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("BATCHGEN_LOG", "loud")
    assert main(["status", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err == "batchgen: BATCHGEN_LOG=loud is not one of debug, info, warning\n"



def test_vv_after_the_command_works_as_before_it(tmp_path, capfd):
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    code = main(["run", str(tmp_path / "m.yaml"), "--simulate", "--yes", "--no-progress",
                 "--out", str(tmp_path / "out"), "-vv"])
    err = capfd.readouterr().err
    assert code == 0 and "INFO httpx: HTTP Request:" in err


def test_v_logs_the_runners_decisions_about_429s(tmp_path, capfd, monkeypatch):
    (tmp_path / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    set_credentials(monkeypatch, KEY, SECRET)
    monkeypatch.delenv("BATCHGEN_LOG", raising=False)
    sim = Simulator(api_key=KEY, api_secret=SECRET, ceiling=1, seed=1, retry_after=0.5,
                    duration_range=(5.0, 10.0), time_scale=100.0)
    with serve_in_thread(sim) as url:
        code = main(["run", str(tmp_path / "m.yaml"), "--base-url", url, "--yes", "-v",
                     "--no-progress", "--poll-interval", "0.05", "--concurrency", "2"])
    err = capfd.readouterr().err
    assert code == 0
    assert "INFO batchgen.run.submit: the API allows 1 in flight at once (stated in a 429)" in err
    assert "INFO batchgen.run.submit: rate limited (429): waiting" in err


@pytest.mark.parametrize("where", ["before", "between", "after"])
def test_vv_works_before_between_and_after_a_subcommand(where, capfd, monkeypatch):
    from modelkit import live
    from simkit import simulator

    set_credentials(monkeypatch)
    with serve_in_thread(simulator(model_inputs=live())) as url:
        command = {"before": ["-vv", "schema", "check"], "between": ["schema", "-vv", "check"],
                   "after": ["schema", "check", "-vv"]}[where]
        code = main([*command, "--base-url", url])
    captured = capfd.readouterr()
    assert code == 0 and "matches the shipped schema" in captured.out
    assert "INFO httpx: HTTP Request: GET" in captured.err
