"""Every exception batchgen raises on purpose, in one place.

    BatchgenError                 base of everything below
    ├── ManifestError             the manifest (or CSV) is invalid; carries every Problem   -> exit 2
    ├── TemplateError             a prompt or filename template is not plain `{name}` text
    │                             (caught while loading and turned into a Problem)
    ├── UsageError                bad options or setup (missing credentials, bad --shard)   -> exit 2
    ├── LedgerError               a ledger line other than the last one is corrupt          -> exit 2
    ├── LockedError               another `run` holds the output folder                     -> exit 2
    ├── DiskError                 a file could not be written (disk full, read-only, no
    │                             permission); the ledger stays consistent               -> exit 4
    ├── DownloadFailed            an asset could not be downloaded intact after every attempt
    │   │                         (that job stays unfinished; the run goes on)
    │   └── AssetNotReady         the video was still `pending` past the wait limit: the
    │                             next run fetches it
    └── APIError                  the Scenario API (or the way to it) failed
        ├── RetriableError        worth trying again later
        │   ├── RateLimited       429; exposes retry_after and the stated ceiling
        │   ├── ServerError       5xx
        │   └── TransportError    time-out or dropped connection
        │       └── ConnectFailed the connection could not be opened: nothing was sent
        ├── AmbiguousSubmission   a generate call whose outcome is unknown: never resent
        ├── URLExpired            the CDN refused a signed URL (403): fetch the asset again
        ├── JobRejected           400/404/422: this job fails, the batch goes on
        └── AccessDenied          401/403: stop the whole batch                             -> exit 3

The boundary: `batchgen.cli.main` is the one place where these become a message on
stderr and the exit code on the class (`exit_code`, 1 unless stated above). Library
callers catch them by class. A wrong argument to a library function (a programming
mistake, not a condition of the world) raises the built-in TypeError or ValueError, as
Python's own functions do; the simulator's injected `DroppedConnection` is an httpx
error on purpose, since it stands for what httpx raises when a connection drops.

Messages never contain credentials: nothing here formats headers or auth objects.
"""

from __future__ import annotations

from dataclasses import dataclass


class BatchgenError(Exception):
    """Base class of every error batchgen raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    job: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.job}: {self.message}" if self.job else f"{where}: {self.message}"


class ManifestError(BatchgenError):
    """The manifest does not validate; `problems` lists every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TemplateError(BatchgenError):
    """A template that is not plain text with `{name}` placeholders."""


class UsageError(BatchgenError):
    """Options or setup are wrong; nothing was sent."""

    exit_code = 2


class LedgerError(BatchgenError):
    """The ledger cannot be trusted as it is (a corrupt line before the last one)."""

    exit_code = 2


class LockedError(BatchgenError):
    """Another `batchgen run` is working in the same output folder."""

    exit_code = 2


class DiskError(BatchgenError):
    """The disk refused a write batchgen needs (full, read-only, no permission).

    Raised where a write failed, with the file's name; the ledger is left with whole
    lines only, so the same command run again once the disk is fixed pays nothing twice.
    """

    exit_code = 4


class DownloadFailed(BatchgenError):
    """An asset could not be downloaded intact after every attempt."""


class AssetNotReady(DownloadFailed):
    """A video was still `pending` after its job succeeded, past the wait limit."""


class APIError(BatchgenError):
    """The Scenario API answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None,
                 body: object = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.hint = hint
        self.body = body


class RetriableError(APIError):
    """A failure that may clear by itself: retry with backoff."""

    retry_after: float | None = None
    should_retry: bool = True  # False when the API said `x-should-retry: false`


class RateLimited(RetriableError):
    """429: too many jobs in flight (or too many requests)."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 action_limit: int | None = None, action_name: str | None = None, **kw):
        super().__init__(message, status=429, **kw)
        self.retry_after = retry_after
        self.action_limit = action_limit
        self.action_name = action_name


class ServerError(RetriableError):
    """5xx from the API."""


class TransportError(RetriableError):
    """Time-out or dropped connection: no usable answer arrived."""


class ConnectFailed(TransportError):
    """The connection could not be opened: nothing was sent, so resending is safe."""


class AmbiguousSubmission(APIError):
    """A generate call was sent but its outcome is unknown.

    The job may or may not exist on the server. The client never resends such a call;
    the runner must look the job up (list jobs, match metadata.input) first.
    """


class URLExpired(APIError):
    """The CDN refused a signed download URL (403): it expired; get the asset again for a new one."""


class JobRejected(APIError):
    """400/404/422: the API refused this request for good; only this job fails."""


class AccessDenied(APIError):
    """401/403: credentials or access refused; retrying never helps, stop the batch."""

    exit_code = 3


def leaves(group: BaseExceptionGroup) -> list[BaseException]:
    """The exceptions of a group and its nested groups, in order: what concurrent tasks
    raised, each on its own."""
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out
