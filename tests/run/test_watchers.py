"""The run's early stops, and the client interface the runner declares instead of
checking what a client can do."""

from __future__ import annotations

import inspect

import anyio

from batchgen.api import ScenarioClient
from batchgen.errors import AccessDenied
from batchgen.run.runner import RunClient
from batchgen.run.watchers import Stops


class Driver:
    def __init__(self):
        self.stopped = 0
        self.stopping = False

    def stop(self):
        self.stopped += 1
        self.stopping = True


class Away:
    """A client every call of which has failed to connect for `seconds` so far."""

    base_url = "http://api.test/v1"

    def __init__(self, seconds):
        self.seconds = seconds

    def unreachable_for(self):
        self.seconds += 0.1  # time passes between looks
        return self.seconds


def _stops(said, driver=None):
    return Stops(driver or Driver(), submitter=None, limiter=None, say=said.append,
                 handle_signals=False, drain=False)


def _declared(protocol) -> set[str]:
    names = set()
    for cls in protocol.__mro__:
        if cls.__module__.startswith("batchgen."):
            names |= {n for n in vars(cls) if not n.startswith("_")}
            names |= set(getattr(cls, "__annotations__", {}))
    return names


def test_scenario_client_has_everything_the_run_client_interface_declares():
    declared = _declared(RunClient)
    assert {"generate", "get_job", "list_jobs", "iter_jobs", "get_asset", "get_assets",
            "upload_image", "download", "get_model", "team_limits",
            "unreachable_for", "base_url"} <= declared
    client = ScenarioClient("http://api.test/v1", "k", "s")
    missing = [name for name in declared if not hasattr(client, name)]
    assert missing == []
    assert inspect.iscoroutinefunction(ScenarioClient.team_limits)


def test_an_api_out_of_reach_for_the_limit_stops_the_run_and_says_where():
    said, driver = [], Driver()
    stops = _stops(said, driver)

    async def watch():
        with anyio.fail_after(5):
            await stops.watch_connection(Away(0.0), 0.5)
    anyio.run(watch)
    assert stops.unreachable == "could not connect to http://api.test/v1 for 0.5 s"
    assert said == ["could not connect to http://api.test/v1 for 0.5 s; stopping the batch "
                    "(nothing more is sent)"]
    assert driver.stopped == 1


def test_a_denial_is_said_once_and_kept_but_every_one_stops_the_driver():
    said, driver = [], Driver()
    stops = _stops(said, driver)
    first, second = AccessDenied("bad key", status=401), AccessDenied("again", status=401)
    stops.deny(first)
    stops.deny(second)
    assert stops.denied is first and driver.stopped == 2
    assert said == ["the API refused access: bad key; stopping the batch"]
