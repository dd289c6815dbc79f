"""What the whole suite shares: which tests must not run beside each other.

The suite runs on two pytest-xdist workers (`.ci/dev test`, `--dist loadgroup`). The machine has
one vpcd card reader in pcscd, so every test that taps cards through it, starts the demo (its
simulator and agent use it) or runs a shipped build whose agent polls it (config/agent-sim*.toml)
runs in one xdist group: one at a time, on one worker. Other agents get no PC/SC reader
(tests/integration/conftest.py make_agent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

_SHARED_READER_DIRS = ("demo",)
_SHARED_READER_MODULES = ("test_builds.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if item.get_closest_marker("pcsc") or path.parent.name in _SHARED_READER_DIRS or path.name in _SHARED_READER_MODULES:
            item.add_marker(pytest.mark.xdist_group("vpcd-reader"))
