"""OCTT modules 10-11, Basic Actions – non-happy flow (OCPP 1.6 §4.1 Authorize, §5.11, the cable lock)."""

from __future__ import annotations

from tests.conformance.conftest import INVALID, VALID
from tests.conformance.steps import barrier


async def test_TC_023_4_local_start_authorize_invalid(station, csms):
    await station.boot(keys={"LocalPreAuthorize": True})
    mark = csms.mark()
    await station.tap(INVALID)
    assert await csms.wait_call("Authorize", after=mark) == {"idTag": INVALID}  # answered Invalid
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    await barrier(csms)
    assert not csms.calls_of("StartTransaction")
    assert not station.evse()["contactor_closed"]


async def test_TC_023_5_remote_start_authorize_invalid(station, csms):
    await station.boot(keys={"AuthorizeRemoteTxRequests": True})
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    # The backend asks for a start with an idTag it then does not accept in Authorize.
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": INVALID}) == {"status": "Accepted"}
    assert await csms.wait_call("Authorize", after=mark) == {"idTag": INVALID}
    await barrier(csms)
    assert not csms.calls_of("StartTransaction")
    assert not station.evse()["contactor_closed"]
    # The connector can still be used by an EV driver who is allowed to.
    await station.tap(VALID)
    await csms.wait_call("StartTransaction", lambda p: p["idTag"] == VALID, after=mark)


async def test_TC_024_start_charging_session_lock_failure(station, csms):
    await station.boot(lock=True)
    station.sim.gpio.set(1, "lock_jammed", True)
    config = await csms.call("GetConfiguration", {"key": ["AuthorizeRemoteTxRequests"]})
    assert config["configurationKey"][0]["key"] == "AuthorizeRemoteTxRequests"
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    await csms.wait_status("Preparing", after=mark)
    station.plug()  # the plug does not go in far enough for the lock to engage
    await csms.wait_status("Faulted", after=mark, error_code="ConnectorLockFailure", timeout=10)
    await barrier(csms)
    assert not csms.calls_of("StartTransaction", after=mark)  # no transaction without a locked cable
    assert not station.evse()["contactor_closed"] and station.evse()["power_w"] == 0
