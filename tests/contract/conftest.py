"""The station contract: one list of scenarios, run against both adapters (OCPP 1.6 and 2.0.1).

Each version has its own backend (the strict ocpp-rpc backend of tests/conformance, on the
``ocpp1.6`` or the ``ocpp2.0.1`` subprotocol, checking every message against that version's
schemas) and a tiny translation (``Speaks16``, ``Speaks201``) between the scenarios' neutral
words (a session started for an id token, ended for a reason, with the meter at its start and
end; a connector Available, Charging, Reserved, Unavailable) and what that backend received or
sends. The station is the conformance suites' (the simulator's hardware, ``evse-agent run``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from tests.conformance.conftest import (
    KNOWN_ID_TAGS,
    Station,
    sim,  # noqa: F401  (the fixture, shared with the conformance suites)
)
from tests.conformance.strict_csms import (
    StrictCsms,
    shared_control_url,
    violations_report,
)
from tests.conformance201.conftest import KNOWN_ID_TOKENS, Station201


@dataclass(frozen=True)
class Session:
    """A transaction as the backend saw it, in neutral words."""

    transaction_id: Any  # what a remote stop names it by
    id_token: str
    meter_start: float | None
    reservation_id: int | None = None


@dataclass(frozen=True)
class Ending:
    reason: str  # 1.6 Reason / 2.0.1 ReasonEnumType (the same names; absent = Local in both)
    meter_stop: float | None


class Speaks16:
    version = "1.6"
    format_violation = "FormationViolation"  # OCPP-J 1.6 §4.2.3
    statuses: ClassVar[dict[str, str]] = {"Available": "Available", "Charging": "Charging", "Reserved": "Reserved", "Unavailable": "Unavailable"}

    def __init__(self, csms: StrictCsms) -> None:
        self.csms = csms

    def station(self, simulator, tmp_path) -> Station:
        return Station(simulator, self.csms, tmp_path)

    async def status(self, status: str, *, after: int = 0) -> None:
        await self.csms.wait_status(self.statuses[status], after=after)

    async def started(self, id_token: str, *, after: int = 0) -> Session:
        call = await self.csms.wait_for_call("StartTransaction", lambda p: p["idTag"] == id_token, after=after)
        await self.csms.wait_for(lambda: call.seq in self.csms.replies)
        payload = call.payload
        return Session(self.csms.replies[call.seq]["transactionId"], payload["idTag"], payload["meterStart"],
                       payload.get("reservationId"))

    async def ended(self, session: Session, *, after: int = 0, timeout: float = 15.0) -> Ending:
        payload = await self.csms.wait_call("StopTransaction", lambda p: p["transactionId"] == session.transaction_id,
                                            after=after, timeout=timeout)
        return Ending(payload.get("reason", "Local"), payload["meterStop"])

    async def remote_start(self, id_token: str) -> str:
        return (await self.csms.call("RemoteStartTransaction", {"idTag": id_token, "connectorId": 1}))["status"]

    async def remote_stop(self, session: Session) -> str:
        return (await self.csms.call("RemoteStopTransaction", {"transactionId": session.transaction_id}))["status"]

    async def reserve(self, reservation_id: int, id_token: str, expiry: str) -> str:
        return (await self.csms.call("ReserveNow", {"connectorId": 1, "expiryDate": expiry, "idTag": id_token,
                                                    "reservationId": reservation_id}))["status"]

    async def change_availability(self, operative: bool) -> str:
        kind = "Operative" if operative else "Inoperative"
        return (await self.csms.call("ChangeAvailability", {"connectorId": 1, "type": kind}))["status"]


class Speaks201:
    version = "2.0.1"
    format_violation = "FormatViolation"  # OCPP-J 2.0.1 §4.3
    statuses: ClassVar[dict[str, str]] = {"Available": "Available", "Charging": "Occupied", "Reserved": "Reserved", "Unavailable": "Unavailable"}

    def __init__(self, csms: StrictCsms) -> None:
        self.csms = csms
        self._remote_start_ids = iter(range(1, 1_000_000))

    def station(self, simulator, tmp_path) -> Station201:
        return Station201(simulator, self.csms, tmp_path)

    async def status(self, status: str, *, after: int = 0) -> None:
        await self.csms.wait_connector_status(self.statuses[status], after=after)

    async def started(self, id_token: str, *, after: int = 0) -> Session:
        # The transaction whose events name the token (E01-E03: Started may come at the plug, the
        # token with it or with a later Updated), with the register at its Transaction.Begin.
        named = await self.csms.wait_transaction_event(
            None, lambda p: p.get("idToken", {}).get("idToken") == id_token, after=after)
        tx = named["transactionInfo"]["transactionId"]
        started = next(p for p in self.csms.transaction_events(tx, after=after) if p["eventType"] == "Started")
        return Session(tx, id_token, _register(started, "Transaction.Begin"), started.get("reservationId"))

    async def ended(self, session: Session, *, after: int = 0, timeout: float = 15.0) -> Ending:
        payload = await self.csms.wait_transaction_event(
            "Ended", lambda p: p["transactionInfo"]["transactionId"] == session.transaction_id, after=after,
            timeout=timeout)
        return Ending(payload["transactionInfo"].get("stoppedReason", "Local"), _register(payload, "Transaction.End"))

    async def remote_start(self, id_token: str) -> str:
        return (await self.csms.call("RequestStartTransaction", {
            "idToken": {"idToken": id_token, "type": "Central"}, "remoteStartId": next(self._remote_start_ids),
            "evseId": 1}))["status"]

    async def remote_stop(self, session: Session) -> str:
        return (await self.csms.call("RequestStopTransaction", {"transactionId": session.transaction_id}))["status"]

    async def reserve(self, reservation_id: int, id_token: str, expiry: str) -> str:
        return (await self.csms.call("ReserveNow", {"id": reservation_id, "expiryDateTime": expiry, "evseId": 1,
                                                    "idToken": {"idToken": id_token, "type": "ISO14443"}}))["status"]

    async def change_availability(self, operative: bool) -> str:
        status = "Operative" if operative else "Inoperative"
        return (await self.csms.call("ChangeAvailability", {"operationalStatus": status, "evse": {"id": 1}}))["status"]


def _register(event: dict, context: str) -> float | None:
    for value in event.get("meterValue", []):
        for sample in value["sampledValue"]:
            if sample.get("context") == context and \
                    sample.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register":
                return float(sample["value"])
    return None


@pytest.fixture(scope="session")
def strict_backend() -> str:
    return shared_control_url()


@pytest.fixture(params=[Speaks16, Speaks201], ids=["1.6", "2.0.1"])
async def speaks(request, strict_backend, tmp_path) -> AsyncIterator[Speaks16 | Speaks201]:
    backend = StrictCsms(strict_backend, frames_log=tmp_path / "ocpp-frames.log")
    backend.knows.id_tags.update(KNOWN_ID_TAGS)
    backend.knows.id_tokens.update(KNOWN_ID_TOKENS)
    await backend.start(version=request.param.version)
    yield request.param(backend)
    await backend.stop()
    if failure := violations_report(backend):
        pytest.fail(failure, pytrace=False)


@pytest.fixture
async def station(sim, speaks, tmp_path) -> AsyncIterator[Station]:  # noqa: F811  (sim: the fixture)
    cp = speaks.station(sim, tmp_path)
    yield cp
    await cp.stop()
    if cp.agent is not None:
        print(f"--- agent log ({tmp_path / 'agent.log'}) ---")
        print(cp.log()[-8000:])
