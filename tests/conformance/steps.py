"""The OCTT's reusable states and steps, done the way an EV driver and a backend do them."""

from __future__ import annotations

from tests.conformance.conftest import VALID, Station
from tests.conformance.strict_csms import StrictCsms


async def authorized(station: Station, csms: StrictCsms, tag: str = VALID) -> None:
    """Reusable state Authorized: a valid card presented, no cable plugged yet."""
    mark = csms.mark()
    await station.tap(tag)
    await csms.wait_call("Authorize", lambda p: p["idTag"] == tag, after=mark)
    await csms.wait_status("Preparing", after=mark)


async def charging(station: Station, csms: StrictCsms, tag: str = VALID) -> int:
    """Reusable state Charging: plugged in, the card presented, the transaction started and
    energy flowing. Returns the transactionId the backend gave it."""
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    await station.tap(tag)
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == tag and start["connectorId"] == 1
    await csms.wait_status("Charging", after=mark)
    await station.energy_flows()
    return csms.transaction_id(after=mark)


async def confirmed(csms: StrictCsms, transaction_id: int) -> None:
    """The charge point stored the backend's transactionId: a MeterValues carries it
    (MeterValueSampleInterval must be short). Killing the agent before that point would
    resend the StartTransaction after the restart, which OCPP 1.6 allows."""
    await csms.wait_call("MeterValues", lambda p: p.get("transactionId") == transaction_id)


async def barrier(csms: StrictCsms) -> None:
    """Give the charge point a round trip to send what it had decided before: a Heartbeat it is
    asked for now queues behind those messages (one CALL at a time on the link, OCPP-J §4.1.1).
    Used before checking that something was NOT sent."""
    mark = csms.mark()
    assert await csms.call("TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
    await csms.wait_call("Heartbeat", after=mark)
