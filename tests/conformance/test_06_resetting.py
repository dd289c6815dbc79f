"""OCTT module 06, Resetting (OCPP 1.6 §5.14 Reset, §5.2 ChangeAvailability persisting)."""

from __future__ import annotations

from tests.conformance.steps import charging


async def reset_without_transaction(station, csms, kind: str) -> None:
    await station.boot()
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Accepted"}
    await csms.wait_status("Unavailable", after=mark)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": kind}) == {"status": "Accepted"}
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_status("Unavailable", connector=1, after=mark)  # it persists across the reset
    await csms.wait_status("Available", connector=0, after=mark)
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {"status": "Accepted"}
    await csms.wait_status("Available", after=mark)


async def reset_with_transaction(station, csms, kind: str) -> None:
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": kind}) == {"status": "Accepted"}
    stop = await csms.wait_call("StopTransaction", after=mark, timeout=30)
    assert stop["reason"] == f"{kind}Reset" and stop["transactionId"] == transaction_id
    boot = csms.mark()
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    # The EV is still plugged in: connector 1 is Finishing (or Preparing), connector 0 Available.
    await csms.wait_call("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] in ("Finishing", "Preparing"),
                         after=boot)
    await csms.wait_status("Available", connector=0, after=boot)


async def test_TC_013_hard_reset_without_transaction(station, csms):
    await reset_without_transaction(station, csms, "Hard")


async def test_TC_014_soft_reset_without_transaction(station, csms):
    await reset_without_transaction(station, csms, "Soft")


async def test_TC_015_hard_reset_with_transaction(station, csms):
    await reset_with_transaction(station, csms, "Hard")


async def test_TC_016_soft_reset_with_transaction(station, csms):
    await reset_with_transaction(station, csms, "Soft")
