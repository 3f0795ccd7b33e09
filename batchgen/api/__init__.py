"""Talking to Scenario's API: the client, its retry policy and credentials."""

from batchgen.api.auth import Credentials
from batchgen.api.client import DEFAULT_BASE_URL, ConnectFailed, ScenarioClient
from batchgen.api.download import Download
from batchgen.api.retry import NO_RETRY, RetryPolicy

__all__ = ["ScenarioClient", "Download", "ConnectFailed", "RetryPolicy", "NO_RETRY",
           "Credentials", "DEFAULT_BASE_URL"]
