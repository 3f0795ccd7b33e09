"""Serving the simulator over a real loopback socket (uvicorn, HTTP/1.1 via h11)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from typing import Iterator

import uvicorn

from batchgen.errors import UsageError
from batchgen.simulator.app import API_PREFIX, Simulator
from batchgen.simulator.faults import DroppedConnection

LOOPBACK_NAMES = ("localhost",)


class _QuietDrops(logging.Filter):
    """Hide uvicorn's error report for connections the simulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def check_loopback(host: str) -> None:
    """Refuse any host that is not a loopback address: the simulator is a local test tool."""
    try:
        loopback = host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"--host {host} is not a loopback address: the simulator only serves "
                         "127.0.0.1, ::1 or localhost")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0 picks a free one)."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every answer (headers, then body) waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now, not when the server starts: `batchgen simulate` prints its URL
        # before serving, and a client connecting at once must be queued, not refused.
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{API_PREFIX}"


def make_server(sim: Simulator) -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(sim.app, http="h11", interface="asgi3", lifespan="off",
                            proxy_headers=False, access_log=False,
                            log_level="warning", log_config=None)
    return uvicorn.Server(config)


def serve(sim: Simulator, sock: socket.socket) -> None:
    """Serve until interrupted (blocking)."""
    make_server(sim).run(sockets=[sock])


@contextlib.contextmanager
def serve_in_thread(sim: Simulator, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `sim` on loopback in a background thread; yields the API base URL.

    The server stops (and its thread ends) when the block exits.
    """
    sock = bind(host, port)
    server = make_server(sim)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="batchgen-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator's server did not start")
        time.sleep(0.01)
    try:
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
