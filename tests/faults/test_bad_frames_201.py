"""Bad frames from an OCPP 2.0.1 backend get the OCPP-J 2.0.1 CALLERROR (§4.3) for what is wrong
with them, and cost neither the session nor the connection. The backend is the ``ocpp``
library's central-system side (tests/faults/ledger201.py); the station the real agent."""

from __future__ import annotations

import json

import pytest

from tests.faults.ledger201 import Ledger201
from tests.faults.test_fuzz_frames import charging_in_201
from tests.integration.test_session_flow import evse

# (frame, the error codes it may get). OCPP-J 2.0.1 §4.3 names the codes; where two fit the
# words of the table (a missing required field is both "not conform the PDU structure" and an
# occurrence constraint), either is taken.
BAD_CALLS = [
    ('[2,"a1","Heartbeat"]', {"FormatViolation", "RpcFrameworkError"}),  # no payload: not a CALL
    ('[2,"a2","DataTransfer",{"vendorId":"x"},1]', {"FormatViolation", "RpcFrameworkError"}),  # five elements
    ('[2,"a3","NoSuchAction",{}]', {"NotImplemented"}),  # not known by the receiver
    ('[2,"a4","Heartbeat",{}]', {"NotSupported"}),  # known (a station's request), not supported here
    ('[2,"a5","RequestStopTransaction",{}]', {"OccurrenceConstraintViolation", "ProtocolError"}),
    ('[2,"a6","RequestStopTransaction",{"transactionId":5}]', {"TypeConstraintViolation"}),
    ('[2,"a7","DataTransfer",{"vendorId":"x","extra":1}]', {"FormatViolation"}),  # additionalProperties false
    ('[2,"a8","GetVariables",{"getVariableData":'
     + json.dumps([{"component": {"name": "K"}, "variable": {"name": "V"}}] * 200) + "}]",
     {"OccurrenceConstraintViolation"}),  # more than DeviceDataCtrlr ItemsPerMessage GetVariables
    (('[2,"a9","SetChargingProfile",{"evseId":1,"chargingProfile":{"id":1,"stackLevel":0,'
      '"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":[{"id":1,'
      '"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":NaN}]}]}}]'),
     {"FormatViolation"}),  # NaN is not JSON (RFC 8259 §6)
]
IGNORED = ['not json at all', "[]", "[2]", '{"not": "an array"}', '[3,"never-sent",{}]',
           '[4,"never-sent","InternalError","",{}]']
# OCPP-J 2.0.1 §4.1.3: a message type number not in the list (2.1's CALLRESULTERROR 5, SEND 6)
# is ignored: no answer at all.
UNKNOWN_TYPES = ['[5,"u5","InternalError","",{}]', '[6,"u6","Heartbeat",{}]']


async def test_bad_frames_get_the_2_0_1_callerror_and_the_session_goes_on(sim, make_agent):
    ledger = Ledger201()
    await ledger.start()
    try:
        agent = await charging_in_201(ledger, sim, make_agent, "BAD")
        connection = ledger.stations["CP-TEST-1"]
        for text in IGNORED + UNKNOWN_TYPES:
            await ledger.send_raw(text)
        wrong = []
        for text, codes in BAD_CALLS:
            await ledger.send_raw(text)
            unique_id = text.split('"')[1]
            reply = await ledger.response_to(unique_id)
            if reply[0] != 4 or reply[2] not in codes:
                wrong.append((text[:60], reply[:3]))
        assert not wrong, wrong
        # Still the same connection, answering; still charging, the transaction not ended.
        assert (await ledger.request("GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}))
        assert ledger.stations["CP-TEST-1"] is connection
        assert ledger.answer_to("u5") is None and ledger.answer_to("u6") is None  # answered in order: none came
        assert agent.proc.returncode is None
        assert evse(sim.state())["contactor_closed"]
        assert "Ended" not in ledger.transaction_of("BAD").event_types
        assert not ledger.refused()
    finally:
        await ledger.stop()


@pytest.mark.parametrize("limit", ["1e308", "-9007199254740992"])
async def test_a_number_no_field_can_hold_gets_property_constraint_violation_in_201(sim, make_agent, limit):
    ledger = Ledger201()
    await ledger.start()
    try:
        await charging_in_201(ledger, sim, make_agent, "BIGNUM")
        await ledger.send_raw('[2,"n1","CostUpdated",{"totalCost":' + limit + ',"transactionId":"t"}]')
        reply = await ledger.response_to("n1")
        assert reply[:3] == [4, "n1", "PropertyConstraintViolation"]
        assert evse(sim.state())["contactor_closed"]
    finally:
        await ledger.stop()
