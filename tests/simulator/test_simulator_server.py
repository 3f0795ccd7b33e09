"""`batchgen simulate` and the loopback server: real sockets, knobs from flags, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import httpx
import pytest

from batchgen.cli import build_parser
from batchgen.cli.simulate_cmd import build_simulator
from batchgen.simulator.server import serve_in_thread
from simkit import KEY, MODEL, SECRET, simulator


def parse(*argv):
    return build_parser().parse_args(["simulate", *argv])


def test_every_knob_flag_reaches_the_simulator(monkeypatch):
    monkeypatch.delenv("SCENARIO_SDK_API_KEY", raising=False)
    sim, from_env = build_simulator(parse(
        "--duration", "5", "9", "--time-scale", "20", "--ceiling", "3", "--url-lifetime", "30",
        "--retry-after", "2", "--server-error-rate", "0.1", "--drop-rate", "0.2",
        "--truncate-rate", "0.3", "--failure-rate", "0.4", "--after-create-rate", "0.6",
        "--seed", "5", "--access-denied"))
    assert not from_env
    assert (sim.duration_range, sim.time_scale, sim.ceiling, sim.url_lifetime, sim.retry_after) == \
        ((5, 9), 20, 3, 30, 2)
    f = sim.faults
    assert (f.server_error, f.drop, f.truncate, f.job_failure, f.after_create) == (0.1, 0.2, 0.3, 0.4, 0.6)
    assert sim.access_denied


def test_a_reversed_duration_range_is_a_usage_error():
    from batchgen.errors import UsageError
    with pytest.raises(UsageError, match="MIN is above MAX"):
        build_simulator(parse("--duration", "9", "5"))


def test_a_non_loopback_host_is_refused_with_exit_2():
    done = subprocess.run([sys.executable, "-m", "batchgen", "simulate", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a loopback address" in done.stderr
    assert "Traceback" not in done.stderr


def test_batchgen_simulate_serves_until_interrupted():
    env = {**os.environ, "SCENARIO_SDK_API_KEY": KEY, "SCENARIO_SDK_API_SECRET": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "batchgen", "simulate", "--port", "0",
                             "--ceiling", "1", "--retry-after", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        url = first.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with httpx.Client(base_url=url + "/", auth=(KEY, SECRET)) as client:
            assert client.post(f"generate/custom/{MODEL}", json={"prompt": "a"}).status_code == 200
            limited = client.post(f"generate/custom/{MODEL}", json={"prompt": "b"})
            assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
            assert client.get("jobs", auth=(KEY, "nope")).status_code == 401
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    finally:
        proc.kill()
    assert "Traceback" not in proc.stderr.read()


def test_serve_in_thread_stops_and_frees_the_port():
    with serve_in_thread(simulator()) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert httpx.get(url + "/jobs", auth=(KEY, SECRET)).status_code == 200
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_a_dropped_connection_over_the_socket_is_a_protocol_error_and_logs_nothing(caplog):
    with serve_in_thread(simulator(drop_rate=1.0)) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url + "/jobs", auth=(KEY, SECRET))
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_answers_over_loopback_take_milliseconds_not_delayed_acks():
    with serve_in_thread(simulator()) as url, httpx.Client(auth=(KEY, SECRET)) as client:
        client.get(url + "/jobs")
        times = []
        for _ in range(15):
            start = time.perf_counter()
            client.get(url + "/jobs")
            times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.02
