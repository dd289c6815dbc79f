"""The charging station under test and the strict OCPP 2.0.1 backend that tests it.

The station is the 1.6 suite's (tests/conformance/conftest.py): the simulator's hardware (EVSE-DIN
board and SDM630 meter on Modbus TCP, PN532 card reader on the simulated I²C bus, main contactor
and motor cable lock on GPIO) and ``evse-agent run`` as a process, here offering only
``ocpp2.0.1``. The backend: ``strict_csms.mjs`` (ocpp-rpc in strictMode on the ``ocpp2.0.1``
subprotocol, every message checked against the official OCPP 2.0.1 schemas in both
directions), the same node process as the 1.6 suite, one endpoint per test. A test fails if the
backend saw a single violation.

Fixtures: ``csms`` (a StrictCsms listening for 2.0.1; ``csms.listen(version=("2.0.1", "1.6"))``
adds an endpoint offering both), ``station`` (a Station201), ``sim``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conformance.conftest import CP_ID, GROUP_1, GROUP_2, PARENT, REMOTE, VALID, VALID_2, Station
from tests.conformance.conftest import sim  # noqa: F401  (the fixture, shared with the 1.6 suite)
from tests.conformance.strict_csms import StrictCsms, shared_control_url, violations_report

__all__ = ["CP_ID", "KNOWN_ID_TOKENS", "Station201"]

# idTokenInfo by idToken (the cards are ISO14443 tokens, REMOTE a Central one).
KNOWN_ID_TOKENS = {
    VALID: {"status": "Accepted"},
    VALID_2: {"status": "Accepted"},
    REMOTE: {"status": "Accepted"},
    GROUP_1: {"status": "Accepted", "groupIdToken": {"idToken": PARENT, "type": "Central"}},
    GROUP_2: {"status": "Accepted", "groupIdToken": {"idToken": PARENT, "type": "Central"}},
}


@pytest.fixture(scope="session")
def strict_backend() -> str:
    """The control URL of the one ``node strict_csms.mjs`` of the whole run (shared with the 1.6 suite)."""
    return shared_control_url()


@pytest.fixture
async def csms(strict_backend, tmp_path) -> AsyncIterator[StrictCsms]:
    backend = StrictCsms(strict_backend, frames_log=tmp_path / "ocpp-frames.log")
    backend.knows.id_tokens.update(KNOWN_ID_TOKENS)
    await backend.start(version="2.0.1")
    yield backend
    await backend.stop()
    if failure := violations_report(backend):
        pytest.fail(failure, pytrace=False)


class Station201(Station):
    """The 1.6 suite's Station, offering the backend ``ocpp2.0.1`` (or ``versions``)."""

    def config(self, *, versions: tuple[str, ...] = ("ocpp2.0.1",), ocpp: str = "", **options: Any) -> str:
        listed = ", ".join(f'"{v}"' for v in versions)
        return super().config(ocpp=f"versions = [{listed}]\n{ocpp}", **options)

    async def booted(self, *, after: int = 0, status: str = "Available", timeout: float = 30.0) -> None:
        """Registered (a BootNotification) and its connector reported ``status`` (2.0.1 StatusNotification)."""
        boot = await self.csms.wait_call("BootNotification", after=after, timeout=timeout)
        assert boot["chargingStation"]["vendorName"] == "evse-agent"
        await self.csms.wait_connector_status(status, after=after)


@pytest.fixture
async def station(sim, csms, tmp_path) -> AsyncIterator[Station201]:  # noqa: F811
    cp = Station201(sim, csms, tmp_path)
    yield cp
    await cp.stop()
    if cp.agent is not None:
        print(f"--- agent log ({tmp_path / 'agent.log'}) ---")
        print(cp.log()[-8000:])
        frames = tmp_path / "ocpp-frames.log"
        if frames.exists():
            print(f"--- OCPP frames ({frames}) ---")
            print(frames.read_text()[-8000:])
