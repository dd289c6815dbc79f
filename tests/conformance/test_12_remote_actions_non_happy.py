"""OCTT module 12, Remote Actions – non-happy flow (OCPP 1.6 §5.11, §5.12)."""

from __future__ import annotations

from tests.conformance.conftest import VALID, VALID_2
from tests.conformance.steps import charging
from tests.conformance.strict_csms import CallErrorReply


async def test_TC_026_remote_start_charging_session_rejected(station, csms):
    await station.boot(keys={"LocalPreAuthorize": False})
    await charging(station, csms, VALID)
    reply = await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID_2})
    assert reply == {"status": "Rejected"}  # a transaction already runs on connector 1


async def test_TC_027_remote_start_transaction_connector_id_shall_not_be_0(station, csms):
    await station.boot()
    try:
        reply = await csms.call("RemoteStartTransaction", {"connectorId": 0, "idTag": VALID})
    except CallErrorReply as error:  # the OCTT accepts a CALLERROR as well
        assert error.code in ("PropertyConstraintViolation", "OccurrenceConstraintViolation")
    else:
        assert reply == {"status": "Rejected"}
    assert not csms.calls_of("StartTransaction")


async def test_TC_028_remote_stop_transaction_rejected(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms)
    reply = await csms.call("RemoteStopTransaction", {"transactionId": transaction_id + 1000})
    assert reply == {"status": "Rejected"}
    assert station.evse()["contactor_closed"]  # the real transaction goes on
