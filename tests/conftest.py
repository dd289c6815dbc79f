"""What the whole suite shares: which tests must not run beside each other.

The suite runs on two pytest-xdist workers (`.ci/dev test`, `--dist loadgroup`). The machine has
one vpcd card reader in pcscd, so every test that taps cards through it, starts the demo (its
simulator and agent use it) or runs a shipped build whose agent polls it (config/agent-sim*.toml)
runs in one xdist group: one at a time, on one worker. Other agents get no PC/SC reader
(tests/integration/conftest.py make_agent).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_SHARED_READER_DIRS = ("demo",)
_SHARED_READER_MODULES = ("test_builds.py",)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    for item in items:
        path = Path(str(item.fspath))
        if item.get_closest_marker("pcsc") or path.parent.name in _SHARED_READER_DIRS or path.name in _SHARED_READER_MODULES:
            item.add_marker(pytest.mark.xdist_group("vpcd-reader"))
    yield  # xdist's own hook puts each test's group into its node id: the controller schedules by that
    # If it did not, the reader's tests would run beside each other and fail as flakes: stop.
    # (pytest 9.2 moved the node id from where pytest-xdist 3.8 writes it: setup.cfg pins pytest 9.1.)
    if config.getoption("loadgroup", default=False):  # an xdist worker under --dist loadgroup
        lost = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if lost:
            why = (f"pytest-xdist did not group {len(lost)} tests (first: {lost[0]}); "
                   "check the pytest and pytest-xdist versions pinned in setup.cfg")
            print(f"\n{why}\n", file=sys.__stderr__)  # a worker's own report would be lost
            pytest.exit(why, returncode=pytest.ExitCode.USAGE_ERROR)
