"""Fixtures of the OCPP 2.0.1 tests: the ``ocpp`` library's central-system side as a backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ocpp201.csms import LibraryCsms


@pytest.fixture
async def library_csms() -> AsyncIterator[LibraryCsms]:
    """A 2.0.1 CSMS from the ``ocpp`` library (tests/ocpp201/csms.py) on a free port; ``url()``."""
    backend = LibraryCsms()
    await backend.start()
    yield backend
    await backend.stop()
