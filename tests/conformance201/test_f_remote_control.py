"""OCTT 2.0.1 block F (Remote control): RequestStartTransaction (F01/F02, remoteStartId carried
into the TransactionEvent), RequestStopTransaction (F03), UnlockConnector (F05) and TriggerMessage
for each message it names (F06), with the strict backend checking every message both ways.

The station has one EVSE with one connector (a socket outlet with a motor cable lock); the "All
EVSE" triggers run on the simulator's two-EVSE station (tests/conformance201/test_l_firmware.py)."""

from __future__ import annotations

import asyncio

from tests.conformance.conftest import REMOTE
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)
from tests.conformance201.test_l_firmware import (  # noqa: F401  (fixtures)
    Manufacturer,
    charging,
    http_server,
    second_evse,
    sim2,
    station2,
    update_firmware,
)
from tests.file_servers import Stream, closed_port

REMOTE_TOKEN = {"idToken": REMOTE, "type": "Central"}


def start_request(remote_start_id: int, evse: int | None = 1, token: dict = REMOTE_TOKEN) -> dict:
    request: dict = {"idToken": token, "remoteStartId": remote_start_id}
    if evse is not None:
        request["evseId"] = evse
    return request


async def set_variable(csms, component: str, variable: str, value: str) -> None:
    result = await csms.call("SetVariables", {"setVariableData": [
        {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted", result


async def trigger(csms, message: str, evse: dict | None = None) -> dict:
    request: dict = {"requestedMessage": message}
    if evse is not None:
        request["evse"] = evse
    return await csms.call("TriggerMessage", request)


async def meters_read(csms, *evses: int) -> None:
    """The EVSEs' meters have been read (FiscalMetering.EnergyImportRegister has a value): right
    after the boot the station may not have polled them yet."""
    data = [{"component": {"name": "FiscalMetering", "evse": {"id": evse}}, "variable": {"name": "EnergyImportRegister"}}
            for evse in evses]
    async with asyncio.timeout(10):
        while True:
            result = (await csms.call("GetVariables", {"getVariableData": data}))["getVariableResult"]
            if all(r["attributeStatus"] == "Accepted" and r.get("attributeValue") not in (None, "") for r in result):
                return
            await asyncio.sleep(0.1)  # the meter is polled every 0.1 s (conftest [[connectors]])


def remote_event(csms, *, after: int):
    """The first TransactionEvent naming the remote idToken (Started, or Updated when the
    transaction had started before it was authorized)."""
    return csms.wait_transaction_event(where=lambda p: p.get("idToken", {}).get("idToken") == REMOTE, after=after)


# ---- F01 / F02 RequestStartTransaction ----------------------------------------------------------


async def test_TC_F_01_remote_start_transaction_cable_plugin_first(station, csms):
    """F01: the EV is plugged in first; RequestStartTransaction Accepted; the transaction names the
    remote start (triggerReason RemoteStart, transactionInfo.remoteStartId)
    and energy flows."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    reply = await csms.call("RequestStartTransaction", start_request(101))
    assert reply["status"] == "Accepted"
    event = await remote_event(csms, after=mark)
    assert event["triggerReason"] == "RemoteStart"
    assert event["transactionInfo"]["remoteStartId"] == 101
    assert event["idToken"] == REMOTE_TOKEN
    await station.energy_flows()


async def test_TC_F_02_remote_start_transaction_remote_start_first_authorize_remote_start_is_true(station, csms):
    """F02 (AuthorizeRemoteStart true): the idToken is authorized first (AuthorizeRequest),
    then the EV is plugged in and the transaction, naming the remote start, charges."""
    await station.boot()
    await set_variable(csms, "AuthCtrlr", "AuthorizeRemoteStart", "true")
    mark = csms.mark()
    assert (await csms.call("RequestStartTransaction", start_request(102)))["status"] == "Accepted"
    authorize = await csms.wait_for_call("Authorize", after=mark)
    assert authorize.payload["idToken"] == REMOTE_TOKEN
    station.plug()
    event = await remote_event(csms, after=mark)
    assert event["transactionInfo"]["remoteStartId"] == 102
    assert event["evse"]["id"] == 1
    await station.energy_flows()


async def test_TC_F_03_remote_start_transaction_remote_start_first_authorize_remote_start_is_false(station, csms):
    """F02 (AuthorizeRemoteStart false): no AuthorizeRequest; the EV plugged in charges under the
    remote start."""
    await station.boot()
    await set_variable(csms, "AuthCtrlr", "AuthorizeRemoteStart", "false")
    mark = csms.mark()
    assert (await csms.call("RequestStartTransaction", start_request(103)))["status"] == "Accepted"
    station.plug()
    event = await remote_event(csms, after=mark)
    assert event["transactionInfo"]["remoteStartId"] == 103
    await station.energy_flows()
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_F_04_remote_start_transaction_remote_start_first_cable_plugin_timeout(station, csms):
    """F02 / E03: no EV within EVConnectionTimeOut: the remote start lapses (the connector
    Available again); an EV plugged in later starts no transaction and gets no energy."""
    await station.boot()
    await set_variable(csms, "TxCtrlr", "EVConnectionTimeOut", "2")
    mark = csms.mark()
    assert (await csms.call("RequestStartTransaction", start_request(104)))["status"] == "Accepted"
    held = await csms.wait_for_call("StatusNotification", lambda p: p["connectorStatus"] == "Occupied", after=mark)
    await csms.wait_connector_status("Available", after=held.seq + 1, timeout=10)
    for event in csms.transaction_events(after=mark):  # a transaction started at the authorization ends
        if event["eventType"] == "Ended":
            assert event["triggerReason"] == "EVConnectTimeout"
    later = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=later)
    await csms.barrier()
    assert not csms.transaction_events(after=later)
    assert not station.evse()["contactor_closed"]


# ---- F05 UnlockConnector ---------------------------------------------------------------------


async def test_TC_F_05_remote_unlock_connector_with_ongoing_transaction(station, csms):
    """F05.FR.02: a connector with an authorized transaction is not unlocked
    (OngoingAuthorizedTransaction); the transaction goes on."""
    await station.boot()
    transaction = await charging(station, csms)
    mark = csms.mark()
    reply = await csms.call("UnlockConnector", {"evseId": 1, "connectorId": 1})
    assert reply["status"] == "OngoingAuthorizedTransaction"
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"] and station.lock_locked()


async def test_TC_F_06_remote_unlock_connector_without_ongoing_transaction_accepted(station, csms):
    """F05: a cable plugged in, no transaction: the lock opens, Unlocked."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    assert await csms.call("UnlockConnector", {"evseId": 1, "connectorId": 1}) == {"status": "Unlocked"}
    assert not station.lock_locked()
    assert not csms.transaction_events(after=mark)


async def test_TC_F_07_remote_unlock_connector_without_ongoing_transaction_no_cable_connected(station, csms):
    """F05: no cable: the lock is driven open all the same: Unlocked."""
    await station.boot()
    assert await csms.call("UnlockConnector", {"evseId": 1, "connectorId": 1}) == {"status": "Unlocked"}
    assert not station.lock_locked()


async def test_TC_F_10_remote_unlock_connector_without_ongoing_transaction_unknown_connector(station, csms):
    """F05: an EVSE or connector the station does not have: UnknownConnector."""
    await station.boot()
    assert await csms.call("UnlockConnector", {"evseId": 1, "connectorId": 2}) == {"status": "UnknownConnector"}
    assert await csms.call("UnlockConnector", {"evseId": 2, "connectorId": 1}) == {"status": "UnknownConnector"}


# ---- F03 RequestStopTransaction -----------------------------------------------------------------


async def test_TC_F_08_remote_stop_transaction_success(station, csms):
    """F03.FR.07: Accepted; the energy stops; the transaction ends with triggerReason
    RemoteStop and stoppedReason Remote."""
    await station.boot()
    transaction = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("RequestStopTransaction", {"transactionId": transaction}) == {"status": "Accepted"}
    ended = await csms.wait_transaction_event("Ended", lambda p: p["transactionInfo"]["transactionId"] == transaction,
                                              after=mark)
    assert ended["triggerReason"] == "RemoteStop"
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    await station.no_energy()


async def test_TC_F_09_remote_stop_transaction_rejected(station, csms):
    """F03.FR.08: no transaction with that transactionId: Rejected, the running one goes on."""
    await station.boot()
    transaction = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("RequestStopTransaction", {"transactionId": "not-a-transaction"}) == {"status": "Rejected"}
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]


# ---- F06 TriggerMessage ------------------------------------------------------------------------


async def test_TC_F_20_trigger_message_heartbeat(station, csms):
    """F06.FR.04: Accepted, then a Heartbeat."""
    await station.boot()
    mark = csms.mark()
    assert await trigger(csms, "Heartbeat") == {"status": "Accepted"}
    await csms.wait_call("Heartbeat", after=mark)


async def test_TC_F_23_trigger_message_status_notification_specific_evse_available(station, csms):
    """F06.FR.04: StatusNotification of the connector named: Available. F06.FR.12: without a
    connectorId (or of a connector the station lacks) it is Rejected and nothing is sent."""
    await station.boot()
    mark = csms.mark()
    assert await trigger(csms, "StatusNotification", {"id": 1, "connectorId": 1}) == {"status": "Accepted"}
    status = await csms.wait_connector_status("Available", after=mark)
    assert (status["evseId"], status["connectorId"]) == (1, 1)
    mark = csms.mark()
    assert (await trigger(csms, "StatusNotification", {"id": 1}))["status"] == "Rejected"
    assert (await trigger(csms, "StatusNotification"))["status"] == "Rejected"
    assert (await trigger(csms, "StatusNotification", {"id": 2, "connectorId": 1}))["status"] == "Rejected"
    await csms.barrier()
    assert not csms.calls_of("StatusNotification", after=mark)


async def test_TC_F_24_trigger_message_status_notification_specific_evse_occupied(station, csms):
    """F06.FR.04: an EV plugged in: StatusNotification Occupied."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    mark = csms.mark()
    assert await trigger(csms, "StatusNotification", {"id": 1, "connectorId": 1}) == {"status": "Accepted"}
    await csms.wait_connector_status("Occupied", after=mark)


async def test_TC_F_26_trigger_message_boot_notification_rejected(station, csms):
    """F06.FR.17: the last BootNotification was Accepted: a triggered one is Rejected and none sent."""
    await station.boot()
    mark = csms.mark()
    assert (await trigger(csms, "BootNotification"))["status"] == "Rejected"
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark)


async def test_TC_F_27_trigger_message_not_implemented(station, csms):
    """F06: a message the station cannot send (no ISO 15118 stack: no V2G certificate; not
    a local controller: no PublishFirmwareStatusNotification): NotImplemented, nothing sent."""
    await station.boot()
    mark = csms.mark()
    for message in ("SignV2GCertificate", "SignCombinedCertificate", "PublishFirmwareStatusNotification"):
        assert (await trigger(csms, message))["status"] == "NotImplemented", message
    await csms.barrier()
    assert not {c.action for c in csms.calls[mark:]} & {"SignCertificate", "PublishFirmwareStatusNotification"}


async def test_TC_F_15_trigger_message_log_status_notification_idle(station, csms):
    """F06.FR.04, N01: no log upload: LogStatusNotification Idle, without a requestId."""
    await station.boot()
    mark = csms.mark()
    assert await trigger(csms, "LogStatusNotification") == {"status": "Accepted"}
    assert await csms.wait_call("LogStatusNotification", after=mark) == {"status": "Idle"}


async def test_TC_F_16_trigger_message_log_status_notification_uploading(station, csms):
    """F06.FR.04, N01.FR.12: while a GetLog upload is under way (retrying a server that does not
    answer): LogStatusNotification Uploading with the upload's requestId."""
    await station.boot()
    mark = csms.mark()
    unreachable = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    request = {"log": {"remoteLocation": unreachable}, "logType": "DiagnosticsLog", "requestId": 16,
               "retries": 5, "retryInterval": 60}
    assert (await csms.call("GetLog", request))["status"] == "Accepted"
    uploading = await csms.wait_for_call("LogStatusNotification", lambda p: p.get("requestId") == 16, after=mark,
                                         timeout=20)
    assert uploading.payload == {"status": "Uploading", "requestId": 16}
    assert await trigger(csms, "LogStatusNotification") == {"status": "Accepted"}
    assert await csms.wait_call("LogStatusNotification", after=uploading.seq + 1) == {"status": "Uploading",
                                                                                       "requestId": 16}


async def test_TC_F_17_trigger_message_firmware_status_notification_specific_evse_not_relevant(station, csms):
    """F06: an EVSE named for a message about the whole station is ignored: Accepted, and the
    FirmwareStatusNotification is sent (Idle)."""
    await station.boot()
    mark = csms.mark()
    assert await trigger(csms, "FirmwareStatusNotification", {"id": 1}) == {"status": "Accepted"}
    assert await csms.wait_call("FirmwareStatusNotification", after=mark) == {"status": "Idle"}


async def test_TC_F_18_trigger_message_firmware_status_notification_idle(station, csms):
    """F06.FR.04, L01: no firmware update: FirmwareStatusNotification Idle, without a requestId."""
    await station.boot()
    mark = csms.mark()
    assert await trigger(csms, "FirmwareStatusNotification") == {"status": "Accepted"}
    assert await csms.wait_call("FirmwareStatusNotification", after=mark) == {"status": "Idle"}


async def test_TC_F_11_trigger_message_meter_values_specific_evse(station, csms):
    """F06: MeterValues of the EVSE named, context Trigger, the AlignedDataMeasurands."""
    await station.boot()
    await set_variable(csms, "AlignedDataCtrlr", "Measurands", "Energy.Active.Import.Register,Voltage")
    await meters_read(csms, 1)
    mark = csms.mark()
    assert await trigger(csms, "MeterValues", {"id": 1}) == {"status": "Accepted"}
    values = await csms.wait_call("MeterValues", after=mark)
    assert values["evseId"] == 1
    sampled = values["meterValue"][0]["sampledValue"]
    assert {v["measurand"] for v in sampled} == {"Energy.Active.Import.Register", "Voltage"}
    assert {v["context"] for v in sampled} == {"Trigger"}
    assert (await trigger(csms, "MeterValues", {"id": 2}))["status"] == "Rejected"


async def test_TC_F_13_trigger_message_transaction_event_specific_evse(station, csms):
    """F06: a transaction on the EVSE: TransactionEvent Updated, triggerReason Trigger, the
    next seqNo, meter values of context Trigger. F06: no transaction there: Rejected."""
    await station.boot()
    assert (await trigger(csms, "TransactionEvent", {"id": 1}))["status"] == "Rejected"
    transaction = await charging(station, csms)
    await station.energy_flows()
    mark = csms.mark()
    assert await trigger(csms, "TransactionEvent", {"id": 1}) == {"status": "Accepted"}
    event = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "Trigger", after=mark)
    assert event["transactionInfo"]["transactionId"] == transaction
    earlier = csms.transaction_events(transaction)
    assert [e["seqNo"] for e in earlier] == list(range(len(earlier)))
    assert {v["context"] for mv in event["meterValue"] for v in mv["sampledValue"]} == {"Trigger"}


async def test_TC_F_12_trigger_message_meter_values_all_evse(station2, csms):  # noqa: F811
    """F06: no EVSE named: MeterValues of every EVSE, context Trigger."""
    station = station2
    await station.boot(extra=second_evse())
    await meters_read(csms, 1, 2)
    mark = csms.mark()
    assert await trigger(csms, "MeterValues") == {"status": "Accepted"}
    await csms.wait_for(lambda: {p["evseId"] for p in csms.calls_of("MeterValues", after=mark)} == {1, 2})
    for values in csms.calls_of("MeterValues", after=mark):
        assert {v["context"] for mv in values["meterValue"] for v in mv["sampledValue"]} == {"Trigger"}


async def test_TC_F_14_trigger_message_transaction_event_all_evse(station2, csms):  # noqa: F811
    """F06: no EVSE named: TransactionEvent Updated (Trigger) of each EVSE with a
    transaction: EVSE 1 charges, EVSE 2 is idle and sends none."""
    station = station2
    await station.boot(extra=second_evse())
    transaction = await charging(station, csms, 1)
    mark = csms.mark()
    assert await trigger(csms, "TransactionEvent") == {"status": "Accepted"}
    event = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "Trigger", after=mark)
    assert event["transactionInfo"]["transactionId"] == transaction
    await csms.barrier()
    assert [e["transactionInfo"]["transactionId"] for e in csms.transaction_events(after=mark)
            if e["triggerReason"] == "Trigger"] == [transaction]


async def test_TC_F_19_trigger_message_firmware_status_notification_downloading(station, csms, http_server):  # noqa: F811
    """F06.FR.04, L01: while a firmware download runs: FirmwareStatusNotification Downloading with
    the update's requestId."""
    manufacturer = Manufacturer(station)
    http_server.streams["slow.bin"] = Stream(size=64 * 1024, chunk=1024, pause_s=0.2)  # a download of 13 s
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        19, http_server.url("/streams/slow.bin"), manufacturer.signer, manufacturer.signer.sign(b"x")))
    assert reply["status"] == "Accepted"
    downloading = await csms.wait_for_call("FirmwareStatusNotification", lambda p: p["status"] == "Downloading",
                                           after=mark)
    assert await trigger(csms, "FirmwareStatusNotification") == {"status": "Accepted"}
    triggered = await csms.wait_call("FirmwareStatusNotification", after=downloading.seq + 1)
    assert triggered == {"status": "Downloading", "requestId": 19}
    await station.stop()  # before the file server, which would wait for the download to end
