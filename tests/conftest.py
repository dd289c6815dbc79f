"""What the whole suite shares: which tests must not run beside each other.

The suite runs on two pytest-xdist workers (`.ci/dev test`, `--dist loadgroup`). The machine has
one vpcd card reader in pcscd (and the demo's simulator connects to it), so every test that
taps cards through it, or starts the demo, runs in one xdist group: one at a time, on one worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_SHARED_READER_DIRS = ("demo",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if item.get_closest_marker("pcsc") or folder in _SHARED_READER_DIRS:
            item.add_marker(pytest.mark.xdist_group("vpcd-reader"))
