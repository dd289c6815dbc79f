"""OCPP 1.6 Core profile behaviour, driven through real websockets (ocpp-csms, raw frames)."""

from __future__ import annotations

import json

from ocpp_csms import AvailabilityType, MessageTrigger, ResetType, BootEvent, MeterValuesEvent, StatusEvent, TransactionStartedEvent, TransactionStoppedEvent

from tests.integration.test_outages import start_charging
from tests.integration.test_session_flow import booted, evse, status_reached


async def test_change_availability_persists_and_is_scheduled_during_a_transaction(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_change_availability(1, AvailabilityType.INOPERATIVE) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Unavailable"))
    assert await cp.async_remote_start_transaction("TAG", connector_id=1) == "Rejected"
    # It stays inoperative across a restart.
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(status_reached(csms, "Unavailable"), after=mark, timeout=20)
    # Connector 0, the charge point itself, stays Available: only its own ChangeAvailability
    # (connector 0) makes it Unavailable, and that persists as well (OCTT TC_013, TC_034).
    await csms.recorder.wait_for(status_reached(csms, "Available", connector_id=0), after=mark)
    assert await cp.async_change_availability(0, AvailabilityType.INOPERATIVE) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Unavailable", connector_id=0), after=mark)
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(status_reached(csms, "Unavailable", connector_id=0), after=mark, timeout=20)
    assert await cp.async_change_availability(0, AvailabilityType.OPERATIVE) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)
    await csms.recorder.wait_for(status_reached(csms, "Available", connector_id=0), after=mark)

    tx = await start_charging(sim, csms)
    assert await cp.async_change_availability(1, AvailabilityType.INOPERATIVE) == "Scheduled"
    assert evse(sim.state())["contactor_closed"]  # the session goes on
    assert await cp.async_remote_stop_transaction(tx.transaction_id) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    await csms.recorder.wait_for(status_reached(csms, "Unavailable"), after=mark + 1)


async def test_soft_reset_stops_the_transaction_and_boots_again(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_reset(ResetType.SOFT) == "Accepted"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "SoftReset"
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=csms.recorder.events.index(stopped), timeout=30)
    assert len(csms.recorder.of(BootEvent)) == 2


async def test_hard_reset_uses_its_own_reason(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    assert await csms.charge_points["CP-TEST-1"].async_reset(ResetType.HARD) == "Accepted"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "HardReset"
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=csms.recorder.events.index(stopped), timeout=30)


async def test_unlock_connector_without_a_lock_stops_the_transaction(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    assert await csms.charge_points["CP-TEST-1"].async_unlock_connector(1) == "NotSupported"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "UnlockCommand"


async def test_data_transfer_to_an_unknown_vendor(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    result = await csms.charge_points["CP-TEST-1"].async_data_transfer("com.example.nobody", "Hello", "{}")
    assert result.status == "UnknownVendorId"


async def test_configuration_keys_through_the_backend_persist(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_change_configuration("HeartbeatInterval", "123") == "Accepted"
    assert await cp.async_change_configuration("HeartbeatInterval", "abc") == "Rejected"
    assert await cp.async_change_configuration("NumberOfConnectors", "4") == "Rejected"
    assert await cp.async_change_configuration("NoSuchKey", "1") == "NotSupported"
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=mark, timeout=20)
    config = await cp.async_get_configuration(["MeterValueSampleInterval", "NumberOfConnectors", "Bogus"])
    assert config.values["NumberOfConnectors"].readonly is True
    assert config.values["NumberOfConnectors"].value == "1"
    assert "Bogus" in config.unknown_keys
    # The heartbeat interval from BootNotification.conf (60 s here) wins, as §4.2 says.
    everything = await cp.async_get_configuration()
    assert "SupportedFeatureProfiles" in everything.values
    assert everything.values["HeartbeatInterval"].value == "60"


async def test_trigger_message(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await cp.async_trigger_message(MessageTrigger.STATUS_NOTIFICATION, connector_id=1) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, StatusEvent) and e.connector.connector_id == 1, after=mark)
    assert await cp.async_trigger_message(MessageTrigger.METER_VALUES, connector_id=1) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, MeterValuesEvent), after=mark)
    assert await cp.async_trigger_message(MessageTrigger.BOOT_NOTIFICATION) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=mark)
    assert await cp.async_trigger_message(MessageTrigger.HEARTBEAT) == "Accepted"
    assert await cp.async_trigger_message(MessageTrigger.STATUS_NOTIFICATION, connector_id=7) == "Rejected"


async def test_bad_frames_get_the_ocpp_j_error_codes_and_never_stop_charging(sim, raw_csms, make_agent):
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    sim.plug(1)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "RAW", "connectorId": 1})
    assert (await raw_csms.response_to(uid))[2] == {"status": "Accepted"}
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction")
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)

    async def error_code(text: str) -> str:
        unique_id = json.loads(text)[1]
        await raw_csms.send(text)
        return (await raw_csms.response_to(unique_id))[2]

    # OCPP-J 1.6 §4.2.3
    assert await error_code('[2,"e1","NoSuchAction",{}]') == "NotImplemented"
    assert await error_code('[2,"e2","Authorize",{"idTag":"X"}]') == "NotSupported"  # a CP → CSMS action
    assert await error_code('[2,"e3","RemoteStopTransaction",{}]') == "ProtocolError"
    assert await error_code('[2,"e4","RemoteStopTransaction",{"transactionId":"one"}]') == "TypeConstraintViolation"
    assert await error_code('[2,"e5","ChangeAvailability",{"connectorId":1,"type":"Sideways"}]') == "FormationViolation"
    assert await error_code('[2,"e6","Heartbeat"]') == "FormationViolation"
    await raw_csms.send("this is not json")
    await raw_csms.send('[3,"never-sent",{}]')  # a CALLRESULT for a CALL never made
    # Still connected, still answering, still charging.
    uid = await raw_csms.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert (await raw_csms.response_to(uid))[0] == 3
    assert evse(sim.state())["contactor_closed"]
    assert len(raw_csms.calls("BootNotification")) == 1


async def test_transaction_message_rejected_is_retried_then_dropped(sim, raw_csms, make_agent):
    raw_csms.answer["StopTransaction"] = lambda payload: ("error", "InternalError")
    await make_agent(raw_csms.port, card_reader=False, extra_keys="TransactionMessageAttempts = 3")
    await raw_csms.connected()
    sim.plug(1)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "RAW", "connectorId": 1})
    await raw_csms.response_to(uid)
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction")
    sim.unplug(1)
    await raw_csms.wait_for(lambda f: len(raw_csms.calls("StopTransaction")) == 3, timeout=20)
    # Dropped after three attempts (TransactionMessageRetryInterval × attempt apart, 1 s here):
    # the next message in the queue goes out, and the stop is not sent a fourth time.
    raw_csms.answer.pop("StopTransaction")
    sim.plug(1)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "RAW2", "connectorId": 1})
    await raw_csms.response_to(uid)
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction" and f[3]["idTag"] == "RAW2", timeout=20)
    assert len(raw_csms.calls("StopTransaction")) == 3
    stops = raw_csms.calls("StopTransaction")
    assert len({f[1] for f in stops}) == 1  # the same message id on every attempt


async def test_clock_aligned_and_stop_transaction_data(sim, raw_csms, make_agent):
    await make_agent(
        raw_csms.port,
        card_reader=False,
        extra_keys='ClockAlignedDataInterval = 1\nStopTxnSampledData = ["Energy.Active.Import.Register"]\n'
        'StopTxnAlignedData = ["Power.Active.Import"]',
    )
    await raw_csms.connected()
    # Outside a transaction: clock-aligned readings without a transactionId.
    idle = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "MeterValues")
    assert "transactionId" not in idle[3]
    assert idle[3]["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    sim.plug(1)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "RAW", "connectorId": 1})
    await raw_csms.response_to(uid)
    start = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction")
    mark = len(raw_csms.received)
    await raw_csms.wait_for(
        lambda f: f[0] == 2 and f[2] == "MeterValues" and "transactionId" in f[3]
        and f[3]["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock", after=mark)
    await raw_csms.wait_for(
        lambda f: f[0] == 2 and f[2] == "MeterValues" and "transactionId" in f[3]
        and f[3]["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic", after=mark)
    sim.unplug(1)
    stop = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StopTransaction")
    contexts = {v["context"] for mv in stop[3]["transactionData"] for v in mv["sampledValue"]}
    assert {"Sample.Periodic", "Sample.Clock", "Transaction.End"} <= contexts
    assert stop[3]["meterStop"] >= start[3]["meterStart"]


async def test_connection_timeout_abandons_an_authorized_start(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, extra_keys="ConnectionTimeOut = 1")
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await cp.async_remote_start_transaction("LATE", connector_id=1) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark + 2)
    assert not csms.recorder.of(TransactionStartedEvent)


async def test_invalid_id_tag_in_start_transaction_deauthorizes(sim, raw_csms, make_agent):
    raw_csms.answer["StartTransaction"] = lambda p: ("result", {"transactionId": 7, "idTagInfo": {"status": "Invalid"}})
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    sim.plug(1)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "WHO", "connectorId": 1})
    await raw_csms.response_to(uid)
    stop = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StopTransaction")
    assert stop[3]["reason"] == "DeAuthorized" and stop[3]["transactionId"] == 7
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0)


async def test_timestamps_follow_the_backend_clock(sim, raw_csms, make_agent):
    future = "2031-01-02T03:04:05Z"
    raw_csms.answer["BootNotification"] = lambda p: ("result", {"status": "Accepted", "currentTime": future, "interval": 300})
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    status = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StatusNotification")
    assert status[3]["timestamp"].startswith("2031-01-02T03:0")
