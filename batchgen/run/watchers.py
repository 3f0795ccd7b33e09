"""What stops a run before its jobs are done: the user's signals, a denial, an API out of reach.

`Stops` watches the signals and the connection beside the jobs, in the runner's task
group, and is told of an AccessDenied; each stops the `JobDriver` (no new submissions)
and is kept for the run's summary.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any, AsyncIterator, Callable, ContextManager, Iterator, Protocol

import anyio

from batchgen.errors import AccessDenied
from batchgen.run.drive import JobDriver
from batchgen.run.limiter import Limiter
from batchgen.run.submit import Submitter

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ReachableClient(Protocol):
    """What the connection watch asks of the client (`ScenarioClient` has both)."""

    base_url: str

    def unreachable_for(self) -> float:
        """Seconds during which every API call failed to connect (0 once one got an answer)."""
        ...


class Stops:
    """Why a run stopped early, and the watches that stop it.

    Ctrl-C and SIGTERM: the first stops new submissions, a second stops at once. An
    AccessDenied stops the batch, and so does an API every call failed to connect to
    for `unreachable_after` seconds.
    """

    def __init__(self, driver: JobDriver, submitter: Submitter, limiter: Limiter, *,
                 say: Callable[[str], None], handle_signals: bool, drain: bool) -> None:
        self._driver = driver
        self._submitter = submitter
        self._limiter = limiter
        self._say = say
        self._handle = handle_signals
        self._drain = drain
        self.interrupted = False
        self.denied: AccessDenied | None = None
        self.unreachable: str | None = None  # why, once the API could not be reached

    def deny(self, exc: AccessDenied) -> None:
        """The API refused access: stop the batch (said once)."""
        if self.denied is None:
            self.denied = exc
            self._say(f"the API refused access: {exc.message}; stopping the batch")
        self._driver.stop()

    async def watch_connection(self, client: ReachableClient, limit: float) -> None:
        """Stop the run once every call has failed to connect for `limit` s."""
        probe = client.unreachable_for
        while probe() < limit:
            await anyio.sleep(min(1.0, max(limit - probe(), 0.05)))
        self.unreachable = f"could not connect to {client.base_url} for {limit:g} s"
        self._say(f"{self.unreachable}; stopping the batch (nothing more is sent)")
        self._driver.stop()

    def receiver(self) -> ContextManager[Any]:
        """The signals to watch, for `with ... as received` (None when the run leaves
        signals to its caller)."""
        return anyio.open_signal_receiver(*SIGNALS) if self._handle else contextlib.nullcontext()

    @contextlib.contextmanager
    def deaf_once_interrupted(self) -> Iterator[None]:
        """After an interrupted run, SIGINT and SIGTERM are ignored: the user asked to quit,
        and one more Ctrl-C would only raise KeyboardInterrupt inside the event loop's
        shutdown, a traceback. The caller restores its handlers (the CLI does, at exit)."""
        try:
            yield
        finally:
            if self.interrupted and self._handle:
                for signum in SIGNALS:
                    signal.signal(signum, signal.SIG_IGN)

    async def watch_signals(self, signals: AsyncIterator[int]) -> None:
        """Stop the run as each signal asks, saying what happens."""
        async for _ in signals:
            if not self.interrupted:
                self.interrupted = self._driver.stopping = True
                if self._drain:
                    self._say(f"interrupted: no new submissions; waiting for the "
                              f"{self._limiter.in_flight} jobs in flight to finish "
                              "(press Ctrl-C again to quit now)")
                else:
                    self._say("interrupted: no new submissions; recording the answers of "
                              "calls in flight (press Ctrl-C again to quit now)")
                    self._driver.stop()
            else:
                self._driver.stop()
                self._submitter.abandon()
