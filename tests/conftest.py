"""The suite's shared helpers (`simkit`, `runkit`, `manifestkit`, `crashkit`, ...) live
beside this file; pytest puts this folder on `sys.path` because this conftest is here,
so the tests in each package's sub-folder import them by name.

The fixtures below keep the suite away from the user's own state: it runs with a HOME
and XDG folders of its own, without the user's batchgen/Scenario settings, from an
empty working folder, and it fails if it left anything in the checkout (the Quick
start's demo writes `manifests/out/`; the tests must neither read nor change it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

# What batchgen reads from the environment: a user's real credentials or API URL must
# never reach a test (nor a test's simulator), and their log level or confirmation
# threshold must not change what the tests see.
USER_SETTINGS = ("SCENARIO_SDK_API_KEY", "SCENARIO_SDK_API_SECRET", "SCENARIO_BASE_URL",
                 "BATCHGEN_LOG", "BATCHGEN_CONFIRM_ABOVE_CU")
HOME_FOLDERS = {"HOME": "home", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config",
                "XDG_DATA_HOME": "data", "XDG_STATE_HOME": "state"}
# Written by the tools that run the suite, never by batchgen or a test.
TOOLING = {".git", ".venv", "venv", "build", "dist", ".pytest_cache", "__pycache__"}
SOURCES = (".py", ".md", ".swp", "~")


@pytest.fixture(scope="session", autouse=True)
def _user_state_out_of_reach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A home of the suite's own (chromium, pip and friends write there), no user settings."""
    root = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as patch:
        for name, folder in HOME_FOLDERS.items():
            (root / folder).mkdir()
            patch.setenv(name, str(root / folder))
        for name in USER_SETTINGS:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _index_of_its_own(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has an index of paid results of its own (BATCHGEN_CACHE_DIR): never the
    user's, and results one test recorded are never offered to another."""
    monkeypatch.setenv("BATCHGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _empty_working_folder(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts in an empty folder, so a relative path or a default `.` never
    lands in (or reads from) the folder pytest was started in."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session", autouse=True)
def _checkout_left_as_found() -> Iterator[None]:
    """Fail the session if a test wrote into the checkout: any change under manifests/
    (the demo's output folder is there), or a new file elsewhere. Sources (.py, .md)
    are left out, so editing the code while the suite runs is no failure."""
    before = checkout_files()
    yield
    after = checkout_files()
    changed = sorted(name for name in before.keys() | after.keys()
                     if before.get(name) != after.get(name)
                     and (name.startswith(f"manifests{os.sep}") or name not in before)
                     and not name.endswith(SOURCES))
    if changed:
        pytest.fail("the tests changed the checkout (they must work on copies in tmp_path): "
                    + ", ".join(changed[:20]), pytrace=False)


def checkout_files() -> dict[str, tuple[int, int]]:
    """Every file of the checkout but the tooling's, with its size and mtime."""
    files = {}
    for folder, subfolders, names in os.walk(CHECKOUT):
        subfolders[:] = [s for s in subfolders
                         if s not in TOOLING and not s.endswith(".egg-info")]
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            files[os.path.relpath(path, CHECKOUT)] = (info.st_size, info.st_mtime_ns)
    return files
