"""OCTT 2.0.1 block E (Transactions): TransactionEvent Started / Updated / Ended at the TxStartPoint
and TxStopPoint the backend sets (E01, E06), local start and stop (E02, E03, E07), the EV unplugged
at its side (E10), GetTransactionStatus (E14), retries of transaction messages (E13) and
transactions across an offline period (E12, E13), with the strict backend checking every message.

Every transaction's events have one transactionId, seqNo 0, 1, 2, ... without a gap (E01.FR.16/17), the first names the EVSE; ``events_of`` checks that for each transaction a test sees.
The station has one EVSE with a socket outlet and a cable lock (``lock=False``: a fixed cable)."""

from __future__ import annotations

from tests.conformance.conftest import GROUP_1, GROUP_2, VALID
from tests.conformance.strict_csms import HOLD, Error
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)

TX_CTRLR = {"name": "TxCtrlr"}


async def set_variables(csms, component: str, **values: str) -> None:
    """SetVariables, every one Accepted."""
    data = [{"component": {"name": component}, "variable": {"name": name}, "attributeValue": value}
            for name, value in values.items()]
    result = (await csms.call("SetVariables", {"setVariableData": data}))["setVariableResult"]
    assert [r["attributeStatus"] for r in result] == ["Accepted"] * len(data), result


async def points(csms, *, start: str | None = None, stop: str | None = None) -> None:
    """TxCtrlr.TxStartPoint / TxStopPoint."""
    values = {}
    if start is not None:
        values["TxStartPoint"] = start
    if stop is not None:
        values["TxStopPoint"] = stop
    await set_variables(csms, "TxCtrlr", **values)


async def message_attempts(csms, attempts: int, interval_s: int) -> None:
    """OCPPCommCtrlr.MessageAttempts / MessageAttemptInterval of TransactionEvent."""
    data = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name, "instance": "TransactionEvent"},
             "attributeValue": str(value)}
            for name, value in (("MessageAttempts", attempts), ("MessageAttemptInterval", interval_s))]
    result = (await csms.call("SetVariables", {"setVariableData": data}))["setVariableResult"]
    assert [r["attributeStatus"] for r in result] == ["Accepted", "Accepted"], result


def events_of(csms, transaction_id: str, *, after: int = 0) -> list[dict]:
    """The transaction's TransactionEvents, checked: seqNo 0, 1, ... in the order sent (each once),
    Started first naming the EVSE."""
    events = csms.transaction_events(transaction_id, after=after)
    assert [e["seqNo"] for e in events] == list(range(len(events))), [e["seqNo"] for e in events]
    assert events[0]["eventType"] == "Started" and events[0]["evse"] == {"id": 1, "connectorId": 1}
    assert all(e["eventType"] == "Updated" for e in events[1:-1])
    return events


async def ended(csms, transaction_id: str, *, after: int = 0, timeout: float = 15.0) -> dict:
    return await csms.wait_transaction_event(
        "Ended", lambda p: p["transactionInfo"]["transactionId"] == transaction_id, after=after, timeout=timeout)


async def charging(station, csms) -> str:
    """Reusable state EnergyTransferStarted (the card first, then the cable); the transactionId."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    transaction_id = started["transactionInfo"]["transactionId"]
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    return transaction_id


def states(events: list[dict]) -> list[str]:
    return [e["transactionInfo"]["chargingState"] for e in events if "chargingState" in e["transactionInfo"]]


# ---- E01 / E02 / E03: starting -------------------------------------------------------------------

async def test_TC_E_01_start_options_power_path_closed(station, csms):
    """E01.FR.05 (TxStartPoint PowerPathClosed): connected alone or authorized alone starts
    nothing; both together start the transaction (Started with the idToken), then energy flows
    (Updated ChargingStateChanged, Charging)."""
    await station.boot()
    await points(csms, start="PowerPathClosed", stop="PowerPathClosed")
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    await csms.barrier()
    assert not csms.transaction_events(after=mark)
    await station.tap(VALID)
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "Authorized" and started["idToken"]["idToken"] == VALID
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    await station.energy_flows()
    transaction_id = started["transactionInfo"]["transactionId"]
    update = await csms.wait_transaction_event("Updated", after=mark)
    assert update["triggerReason"] == "ChargingStateChanged" and update["transactionInfo"]["chargingState"] == "Charging"
    assert states(events_of(csms, transaction_id)) == ["EVConnected", "Charging"]


async def test_TC_E_02_start_options_energy_transfer(station, csms):
    """E01.FR.04 (TxStartPoint EnergyTransfer): an authorized EV that does not draw gets the offer
    (PWM) but no transaction; when it draws (state C) the transaction starts (Started
    ChargingStateChanged, Charging) and energy flows."""
    await station.boot()
    await points(csms, start="EnergyTransfer")
    mark = csms.mark()
    station.plug()
    station.sim.set_ev_state(1, "B")
    await station.tap(VALID)
    await csms.wait_call("Authorize", after=mark)
    await station.sim.wait_for(lambda s: s["evses"][0]["current_limit_a"] >= 6, timeout=10)
    await csms.barrier()
    assert not csms.transaction_events(after=mark)
    assert not station.evse()["contactor_closed"]
    station.sim.set_ev_state(1, "C")
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "ChargingStateChanged" and started["idToken"]["idToken"] == VALID
    assert started["transactionInfo"]["chargingState"] == "Charging"
    await station.energy_flows()
    mark = csms.mark()
    await station.tap(VALID)
    await ended(csms, started["transactionInfo"]["transactionId"], after=mark)
    events_of(csms, started["transactionInfo"]["transactionId"])


async def test_TC_E_03_local_start_cable_plugin_first(station, csms):
    """E02 (cable first): Occupied at plug-in, Authorize, Started (triggerReason Authorized, the
    idToken and the EVSE, the meter at Transaction.Begin), energy, Charging."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    await station.tap(VALID)
    assert (await csms.wait_call("Authorize", after=mark))["idToken"] == {"idToken": VALID, "type": "ISO14443"}
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "Authorized" and started["seqNo"] == 0
    assert started["idToken"] == {"idToken": VALID, "type": "ISO14443"}
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    await station.energy_flows()
    transaction_id = started["transactionInfo"]["transactionId"]
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    assert len(events_of(csms, transaction_id)) == 2


async def test_TC_E_04_local_start_authorization_first(station, csms):
    """E03 (authorization first): Authorize, then the cable: Started (triggerReason
    CablePluggedIn), energy, Charging."""
    await station.boot()
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_call("Authorize", after=mark)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "CablePluggedIn" and started["idToken"]["idToken"] == VALID
    await station.energy_flows()
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)


async def test_TC_E_05_local_start_authorization_first_cable_plugin_timeout(station, csms):
    """E03.FR.05 / EVConnectionTimeOut: authorized, no EV within the timeout: no transaction
    (TxStartPoint PowerPathClosed), the connector Available again; a later plug-in starts nothing."""
    await station.boot()
    await set_variables(csms, "TxCtrlr", EVConnectionTimeOut="2")
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_connector_status("Occupied", after=mark)
    await csms.wait_connector_status("Available", after=mark, timeout=15)
    plugged = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=plugged)
    await csms.barrier()
    assert not csms.transaction_events(after=mark)
    assert not station.evse()["contactor_closed"]


async def test_TC_E_38_local_start_ev_not_ready(station, csms):
    """The EV does not take energy (state B): the transaction starts, chargingState SuspendedEV;
    when it asks for energy, Charging."""
    await station.boot()
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    station.sim.set_ev_state(1, "B")
    started = await csms.wait_transaction_event("Started", after=mark)
    transaction_id = started["transactionInfo"]["transactionId"]
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "SuspendedEV",
                                      after=mark)
    station.sim.set_ev_state(1, "C")
    await station.energy_flows()
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    assert states(events_of(csms, transaction_id))[-2:] == ["SuspendedEV", "Charging"]


# ---- E06 / E07: stopping ---------------------------------------------------------------------------

async def test_TC_E_06_local_stop_transaction(station, csms):
    """E07 (local stop): the same card again: energy stops, Ended (triggerReason StopAuthorized,
    stoppedReason Local, the idToken, the meter at Transaction.End); unplugging then sends nothing
    more for it."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=mark)
    assert end["triggerReason"] == "StopAuthorized" and end["transactionInfo"]["stoppedReason"] == "Local"
    assert end["idToken"]["idToken"] == VALID
    assert end["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"
    await station.no_energy()
    station.unplug()
    await csms.wait_connector_status("Available", after=mark)
    await csms.barrier()
    events = events_of(csms, transaction_id)
    assert events[-1]["eventType"] == "Ended"


async def test_TC_E_07_stop_options_power_path_closed_local_stop(station, csms):
    """E06.FR.06 (TxStopPoint PowerPathClosed): the driver's card ends the transaction (Local)."""
    await station.boot()
    await points(csms, stop="PowerPathClosed")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "Local" and end["triggerReason"] == "StopAuthorized"
    await station.no_energy()


async def test_TC_E_15_stop_options_stop_authorized_local(station, csms):
    """E06.FR.04 (TxStopPoint Authorized): the card ends it (StopAuthorized, Local) while the EV
    is still connected (chargingState EVConnected)."""
    await station.boot()
    await points(csms, stop="Authorized")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=mark)
    assert end["triggerReason"] == "StopAuthorized" and end["transactionInfo"]["stoppedReason"] == "Local"
    assert end["transactionInfo"]["chargingState"] == "EVConnected"


async def test_TC_E_21_stop_options_stop_authorized_remote(station, csms):
    """E06.FR.04 / F03 (TxStopPoint Authorized): RequestStopTransaction ends it (RemoteStop, Remote)."""
    await station.boot()
    await points(csms, stop="Authorized")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("RequestStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    end = await ended(csms, transaction_id, after=mark)
    assert end["triggerReason"] == "RemoteStop" and end["transactionInfo"]["stoppedReason"] == "Remote"
    await station.no_energy()


async def test_TC_E_35_stop_options_power_path_closed_remote_stop(station, csms):
    """E06.FR.06 (TxStopPoint PowerPathClosed): RequestStopTransaction ends it (Remote)."""
    await station.boot()
    await points(csms, stop="PowerPathClosed")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("RequestStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "Remote"
    await station.no_energy()


async def test_TC_E_37_stop_options_power_path_closed_ev_side_disconnect(station, csms):
    """E06.FR.06 (TxStopPoint PowerPathClosed, StopTxOnEVSideDisconnect false): the cable out of the
    EV ends it all the same (EVDisconnected, triggerReason EVCommunicationLost, chargingState Idle)."""
    await station.boot()
    await points(csms, stop="PowerPathClosed")
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="false")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert end["triggerReason"] == "EVCommunicationLost" and end["transactionInfo"]["chargingState"] == "Idle"
    await station.no_energy()


async def test_TC_E_14_stop_options_ev_disconnected_charging_station_side(station, csms):
    """E06.FR.02 (TxStopPoint EVConnected): the driver's card only stops the energy (Updated
    StopAuthorized: the transaction goes on, EVConnectedPostSession); the cable taken out at the
    station then ends it (Available, Ended EVDisconnected)."""
    await station.boot()
    await points(csms, stop="EVConnected")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    stopped = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "StopAuthorized", after=mark)
    assert stopped["transactionInfo"]["transactionId"] == transaction_id
    await station.no_energy()
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    station.unplug()
    await csms.wait_connector_status("Available", after=mark)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    events_of(csms, transaction_id)


async def test_TC_E_20_stop_options_ev_disconnected_ev_side(station, csms):
    """E06.FR.02 (TxStopPoint EVConnected, StopTxOnEVSideDisconnect false): an IEC 61851-1 EV
    that stopped drawing (SuspendedEV) unplugged at its side ends it (EVDisconnected)."""
    await station.boot()
    await points(csms, stop="EVConnected")
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="false")
    transaction_id = await charging(station, csms)
    station.sim.set_ev_state(1, "B")
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "SuspendedEV")
    mark = csms.mark()
    station.sim.unplug_ev(1)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    await station.no_energy()


async def test_TC_E_16_stop_options_deauthorized_invalid_id_token(station, csms):
    """E05 / StopTxOnInvalidId true: the backend answers Started with the idToken Invalid (it
    was Accepted in the cache): the transaction ends (triggerReason Deauthorized, stoppedReason
    DeAuthorized), no energy."""
    await station.boot()
    await set_variables(csms, "TxCtrlr", StopTxOnInvalidId="true")
    mark = csms.mark()
    csms.answers["TransactionEvent"] = lambda p: {"idTokenInfo": {"status": "Invalid"}} if "idToken" in p else {}
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    transaction_id = started["transactionInfo"]["transactionId"]
    end = await ended(csms, transaction_id, after=mark)
    assert end["triggerReason"] == "Deauthorized" and end["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    await station.no_energy()
    assert not station.evse()["contactor_closed"]


async def test_TC_E_17_stop_options_deauthorized_ev_side_disconnect(station, csms):
    """E06.FR.04 (TxStopPoint Authorized, StopTxOnEVSideDisconnect true): the EV unplugged at its
    side deauthorizes and so ends the transaction (EVCommunicationLost, Idle, EVDisconnected)."""
    await station.boot()
    await points(csms, stop="Authorized")
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="true")
    await set_variables(csms, "OCPPCommCtrlr", UnlockOnEVSideDisconnect="false")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert end["triggerReason"] == "EVCommunicationLost" and end["transactionInfo"]["chargingState"] == "Idle"
    await station.no_energy()


async def test_TC_E_24_ev_side_disconnect_deauthorize_unlock_true(station, csms):
    """E10 (StopTxOnEVSideDisconnect true, UnlockOnEVSideDisconnect true): the transaction ends
    and the cable lock opens, so the cable can be taken."""
    await station.boot()
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="true")
    await set_variables(csms, "OCPPCommCtrlr", UnlockOnEVSideDisconnect="true")
    transaction_id = await charging(station, csms)
    assert station.lock_locked()
    mark = csms.mark()
    station.sim.unplug_ev(1)
    await ended(csms, transaction_id, after=mark)
    await station.sim.wait_for(lambda s: not s["gpio"][1]["lock_locked"], timeout=10)


async def test_TC_E_25_ev_side_disconnect_deauthorize_unlock_false(station, csms):
    """E10 (StopTxOnEVSideDisconnect true, UnlockOnEVSideDisconnect false): the transaction ends
    but the cable stays locked in the socket until its driver's card comes back."""
    await station.boot()
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="true")
    await set_variables(csms, "OCPPCommCtrlr", UnlockOnEVSideDisconnect="false")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    await ended(csms, transaction_id, after=mark)
    await csms.barrier()
    assert station.lock_locked()
    await station.tap(VALID)
    await station.sim.wait_for(lambda s: not s["gpio"][1]["lock_locked"], timeout=10)


async def test_TC_E_26_ev_side_disconnect_suspend_transaction(station, csms):
    """E10.FR.01/03 (TxStopPoint Authorized, StopTxOnEVSideDisconnect false, UnlockOnEVSideDisconnect
    false): the EV unplugged at its side suspends the transaction (no energy, no Ended: Updated
    EVCommunicationLost, chargingState Idle; the cable stays locked); plugged in again, it goes on
    (Charging) in the same transaction."""
    await station.boot()
    await points(csms, stop="Authorized")
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="false")
    await set_variables(csms, "OCPPCommCtrlr", UnlockOnEVSideDisconnect="false")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    lost = await csms.wait_transaction_event("Updated", after=mark)
    assert lost["triggerReason"] == "EVCommunicationLost" and lost["transactionInfo"]["chargingState"] == "Idle"
    await station.no_energy()
    assert station.lock_locked()
    station.plug()
    await station.energy_flows()
    plugged = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "CablePluggedIn", after=mark)
    assert plugged["transactionInfo"]["chargingState"] == "EVConnected"
    back = await csms.wait_transaction_event(
        "Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging", after=mark)
    assert back["transactionInfo"]["transactionId"] == transaction_id
    assert not [e for e in events_of(csms, transaction_id) if e["eventType"] == "Ended"]



async def test_TC_E_27_ev_side_disconnect_suspend_fixed_cable_connection_timeout(station, csms):
    """E10.FR.02/03 (a fixed cable, TxStopPoint Authorized, StopTxOnEVSideDisconnect false): the EV
    unplugged suspends the transaction (Updated EVCommunicationLost, Idle); when it does not come
    back within EVConnectionTimeOut the transaction is deauthorized and ends (EVConnectTimeout,
    stoppedReason Timeout)."""
    await station.boot(lock=False)
    await points(csms, stop="Authorized")
    await set_variables(csms, "TxCtrlr", StopTxOnEVSideDisconnect="false", EVConnectionTimeOut="3")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    lost = await csms.wait_transaction_event("Updated", after=mark)
    assert lost["triggerReason"] == "EVCommunicationLost" and lost["transactionInfo"]["chargingState"] == "Idle"
    await station.no_energy()
    end = await ended(csms, transaction_id, after=mark, timeout=20)
    assert end["triggerReason"] == "EVConnectTimeout" and end["transactionInfo"]["stoppedReason"] == "Timeout"
    events_of(csms, transaction_id)

# ---- E14: GetTransactionStatus -------------------------------------------------------------------

async def test_TC_E_28_transaction_status_unknown_transaction_id(station, csms):
    """E14: an unknown transactionId: ongoingIndicator false, messagesInQueue false."""
    await station.boot()
    status = await csms.call("GetTransactionStatus", {"transactionId": "no-such-transaction"})
    assert status == {"ongoingIndicator": False, "messagesInQueue": False}


async def queued_event(station, csms, transaction_id: str) -> int:
    """The backend refuses TransactionEvents (CALLERROR) and the station retries only after a
    long interval: an event of the transaction waits in the queue. The mark before it."""
    await message_attempts(csms, 3, 300)
    mark = csms.mark()
    csms.answers["TransactionEvent"] = Error("InternalError", "not now")
    return mark


async def test_TC_E_29_transaction_status_ongoing_with_message_in_queue(station, csms):
    """E14.FR.02/03: ongoing, an event of it still queued: ongoingIndicator true, messagesInQueue true."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = await queued_event(station, csms, transaction_id)
    station.sim.set_ev_state(1, "B")  # a charging state change: an event to queue
    await csms.wait_transaction_event("Updated", after=mark)
    status = await csms.call("GetTransactionStatus", {"transactionId": transaction_id})
    assert status == {"ongoingIndicator": True, "messagesInQueue": True}


async def test_TC_E_30_transaction_status_ongoing_without_message_in_queue(station, csms):
    """E14.FR.02/03: ongoing, everything delivered: ongoingIndicator true, messagesInQueue false."""
    await station.boot()
    transaction_id = await charging(station, csms)
    await csms.barrier()  # every event answered
    status = await csms.call("GetTransactionStatus", {"transactionId": transaction_id})
    assert status == {"ongoingIndicator": True, "messagesInQueue": False}


async def test_TC_E_31_transaction_status_ended_with_message_in_queue(station, csms):
    """E14: ended, its Ended still queued: ongoingIndicator false, messagesInQueue true."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = await queued_event(station, csms, transaction_id)
    await station.tap(VALID)
    await ended(csms, transaction_id, after=mark)
    status = await csms.call("GetTransactionStatus", {"transactionId": transaction_id})
    assert status == {"ongoingIndicator": False, "messagesInQueue": True}


async def test_TC_E_32_transaction_status_ended_without_message_in_queue(station, csms):
    """E14: ended and delivered: ongoingIndicator false, messagesInQueue false."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    await ended(csms, transaction_id, after=mark)
    await csms.barrier()
    status = await csms.call("GetTransactionStatus", {"transactionId": transaction_id})
    assert status == {"ongoingIndicator": False, "messagesInQueue": False}


async def test_TC_E_33_transaction_status_without_id_with_message_in_queue(station, csms):
    """E14.FR.06: no transactionId: messagesInQueue true while any transaction message waits (no
    ongoingIndicator)."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = await queued_event(station, csms, transaction_id)
    await station.tap(VALID)
    await ended(csms, transaction_id, after=mark)
    assert await csms.call("GetTransactionStatus", {}) == {"messagesInQueue": True}


async def test_TC_E_34_transaction_status_without_id_without_message_in_queue(station, csms):
    """E14.FR.06: no transactionId, nothing queued: messagesInQueue false."""
    await station.boot()
    await charging(station, csms)
    await csms.barrier()  # every event answered
    assert await csms.call("GetTransactionStatus", {}) == {"messagesInQueue": False}


# ---- E13: retries ------------------------------------------------------------------------------------

async def refused_then(station, csms, refusal, *, attempts: int, refusals: int) -> tuple[str, list[dict]]:
    """MessageAttempts ``attempts``, interval 1 s; the backend answers the Ended event ``refusals``
    times with ``refusal``; the transactionId and every Ended attempt seen."""
    await station.boot()
    await message_attempts(csms, attempts, 1)
    transaction_id = await charging(station, csms)
    tries: list[dict] = []

    def answer(payload: dict):
        if payload["eventType"] != "Ended":
            return {"idTokenInfo": {"status": "Accepted"}} if "idToken" in payload else {}
        tries.append(payload)
        if len(tries) <= refusals:
            return refusal
        return {"idTokenInfo": {"status": "Accepted"}} if "idToken" in payload else {}

    csms.answers["TransactionEvent"] = answer
    await station.tap(VALID)
    return transaction_id, tries


async def test_TC_E_41_retry_max_count_reached(station, csms):
    """E13.FR.02/03 (no answer): Ended is sent MessageAttempts times in all, then dropped; the
    transaction messages after it go on."""
    transaction_id, tries = await refused_then(station, csms, HOLD, attempts=2, refusals=10)
    await csms.wait_for(lambda: len(tries) >= 2, timeout=40)
    await csms.barrier()
    assert len(tries) == 2 and all(t["seqNo"] == tries[0]["seqNo"] for t in tries)
    status = await csms.call("GetTransactionStatus", {"transactionId": transaction_id})
    assert status == {"ongoingIndicator": False, "messagesInQueue": False}


async def test_TC_E_42_retry_success_before_max_count(station, csms):
    """E13.FR.02 (no answer once): Ended again after MessageAttemptInterval, answered: delivered
    once, nothing queued."""
    transaction_id, tries = await refused_then(station, csms, HOLD, attempts=3, refusals=1)
    await csms.wait_for(lambda: len(tries) >= 2, timeout=30)
    await csms.barrier()
    assert len(tries) == 2 and tries[0] == tries[1]
    assert await csms.call("GetTransactionStatus", {"transactionId": transaction_id}) == {
        "ongoingIndicator": False, "messagesInQueue": False}


async def test_TC_E_50_retry_max_count_reached_call_error(station, csms):
    """E13.FR.02/03 (CALLERROR): Ended is tried MessageAttempts times, then dropped."""
    transaction_id, tries = await refused_then(station, csms, Error("InternalError", "try later"), attempts=3,
                                               refusals=10)
    await csms.wait_for(lambda: len(tries) >= 3, timeout=30)
    await csms.barrier()
    assert len(tries) == 3 and tries[0] == tries[1] == tries[2]
    assert await csms.call("GetTransactionStatus", {"transactionId": transaction_id}) == {
        "ongoingIndicator": False, "messagesInQueue": False}


async def test_TC_E_51_retry_success_before_max_count_call_error(station, csms):
    """E13.FR.02 (CALLERROR once): Ended again after MessageAttemptInterval, answered."""
    transaction_id, tries = await refused_then(station, csms, Error("InternalError", "try later"), attempts=3,
                                               refusals=1)
    await csms.wait_for(lambda: len(tries) >= 2, timeout=30)
    await csms.barrier()
    assert len(tries) == 2 and tries[0] == tries[1]
    assert await csms.call("GetTransactionStatus", {"transactionId": transaction_id}) == {
        "ongoingIndicator": False, "messagesInQueue": False}


# ---- E12 / E13: offline ------------------------------------------------------------------------------

async def test_TC_E_40_connection_loss_during_transaction(station, csms):
    """E12: the connection lost while charging: energy goes on; what happened meanwhile is
    delivered after reconnecting, marked offline, in order, each once."""
    await station.boot()
    transaction_id = await charging(station, csms)
    await csms.go_offline()
    station.sim.set_ev_state(1, "B")  # an event while offline
    await station.sim.wait_for(lambda s: s["evses"][0]["power_w"] == 0, timeout=10)
    mark = csms.mark()
    await csms.go_online()
    update = await csms.wait_transaction_event(
        "Updated", lambda p: p["transactionInfo"]["transactionId"] == transaction_id, after=mark, timeout=30)
    assert update["offline"] is True and update["transactionInfo"]["chargingState"] == "SuspendedEV"
    events = events_of(csms, transaction_id)
    assert len(events) == 3 and not [e for e in events if e["eventType"] == "Ended"]


async def put_in_local_list(csms, *tokens: str) -> None:
    reply = await csms.call("SendLocalList", {
        "versionNumber": 1, "updateType": "Full",
        "localAuthorizationList": [{"idToken": {"idToken": t, "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
                                   for t in tokens]})
    assert reply == {"status": "Accepted"}


async def test_TC_E_43_offline_transaction_during_offline_period(station, csms):
    """E12 / C: offline, a card in the local list starts and stops a whole transaction; after
    reconnecting Started and Ended come, marked offline, in order, seqNo 0, 1, ...."""
    await station.boot()
    await put_in_local_list(csms, VALID)
    await csms.go_offline()
    await station.tap(VALID)
    station.plug()
    await station.energy_flows()
    await station.tap(VALID)
    await station.no_energy()
    mark = csms.mark()
    await csms.go_online()
    started = await csms.wait_transaction_event("Started", after=mark, timeout=30)
    transaction_id = started["transactionInfo"]["transactionId"]
    end = await ended(csms, transaction_id, after=mark, timeout=30)
    events = events_of(csms, transaction_id)
    assert all(e["offline"] is True for e in events) and events[-1] is not None
    assert end["transactionInfo"]["stoppedReason"] == "Local"


async def test_TC_E_44_offline_stop_transaction_during_offline_period(station, csms):
    """E12: started online, stopped by the same card offline: Ended (offline, Local) after
    reconnecting, after everything queued before it."""
    await station.boot()
    transaction_id = await charging(station, csms)
    await csms.go_offline()
    await station.tap(VALID)
    await station.no_energy()
    mark = csms.mark()
    await csms.go_online()
    end = await ended(csms, transaction_id, after=mark, timeout=30)
    assert end["offline"] is True and end["transactionInfo"]["stoppedReason"] == "Local"
    events_of(csms, transaction_id)


async def test_TC_E_45_offline_stop_same_group_id(station, csms):
    """E12 / C09: started online by one card of a group, stopped offline by another card of the same
    GroupIdToken (known from the authorization cache): Ended (offline, Local) after reconnecting."""
    await station.boot()
    mark = csms.mark()
    await station.tap(GROUP_2)  # GROUP_2 and its group in the cache
    await csms.wait_call("Authorize", after=mark)
    await station.tap(GROUP_2)  # cancels its wait for the plug
    await csms.barrier()
    start = csms.mark()
    await station.tap(GROUP_1)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=start)
    transaction_id = started["transactionInfo"]["transactionId"]
    await station.energy_flows()
    await csms.go_offline()
    await station.tap(GROUP_2)
    await station.no_energy()
    back = csms.mark()
    await csms.go_online()
    end = await ended(csms, transaction_id, after=back, timeout=30)
    assert end["offline"] is True and end["transactionInfo"]["stoppedReason"] == "Local"


async def test_TC_E_52_local_start_authorization_first_disable_remote_authorization(station, csms):
    """C / DisableRemoteAuthorization true: a card the local list knows starts a transaction
    without an AuthorizeRequest; Started carries the idToken."""
    await station.boot()
    await put_in_local_list(csms, VALID)
    await set_variables(csms, "AuthCtrlr", DisableRemoteAuthorization="true")
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["idToken"]["idToken"] == VALID
    await station.energy_flows()
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_E_39_stop_options_deauthorized_timeout(station, csms):
    """E03 (TxStartPoint Authorized): the transaction starts at the card; no EV within
    EVConnectionTimeOut ends it (triggerReason EVConnectTimeout, stoppedReason Timeout)."""
    await station.boot()
    await points(csms, start="Authorized")
    await set_variables(csms, "TxCtrlr", EVConnectionTimeOut="2")
    mark = csms.mark()
    await station.tap(VALID)
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "Authorized" and started["transactionInfo"]["chargingState"] == "Idle"
    transaction_id = started["transactionInfo"]["transactionId"]
    end = await ended(csms, transaction_id, after=mark, timeout=15)
    assert end["triggerReason"] == "EVConnectTimeout" and end["transactionInfo"]["stoppedReason"] == "Timeout"
    assert not station.evse()["contactor_closed"]


async def test_TC_E_09_start_options_ev_connected(station, csms):
    """E01.FR.02 (TxStartPoint EVConnected): plugging in starts the transaction (CablePluggedIn,
    no idToken, EVConnected), no energy; the card authorizes it (Updated Authorized with the
    idToken), then energy flows (Charging)."""
    await station.boot()
    await points(csms, start="EVConnected")
    mark = csms.mark()
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "CablePluggedIn" and "idToken" not in started
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    transaction_id = started["transactionInfo"]["transactionId"]
    await csms.barrier()
    assert not station.evse()["contactor_closed"]
    await station.tap(VALID)
    authorized = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "Authorized", after=mark)
    assert authorized["idToken"] == {"idToken": VALID, "type": "ISO14443"}
    await station.energy_flows()
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    mark = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    events_of(csms, transaction_id)


async def test_TC_E_10_start_options_authorized_local(station, csms):
    """E01.FR.03 (TxStartPoint Authorized): the card starts the transaction before the EV comes
    (Started Authorized, Idle); plugging in: Updated CablePluggedIn, then energy (Charging)."""
    await station.boot()
    await points(csms, start="Authorized")
    mark = csms.mark()
    await station.tap(VALID)
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "Authorized" and started["idToken"]["idToken"] == VALID
    transaction_id = started["transactionInfo"]["transactionId"]
    station.plug()
    plugged = await csms.wait_transaction_event("Updated", after=mark)
    assert plugged["triggerReason"] == "CablePluggedIn" and plugged["transactionInfo"]["chargingState"] == "EVConnected"
    await station.energy_flows()
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    events_of(csms, transaction_id)


async def test_TC_E_13_start_options_authorized_remote(station, csms):
    """E01.FR.03 / F01 (TxStartPoint Authorized): RequestStartTransaction starts the transaction at
    once (Started RemoteStart with the remoteStartId); plugging in brings the energy."""
    await station.boot()
    await points(csms, start="Authorized")
    mark = csms.mark()
    request = {"idToken": {"idToken": "REMOTE-TAG-1", "type": "Central"}, "remoteStartId": 41, "evseId": 1}
    assert (await csms.call("RequestStartTransaction", request))["status"] == "Accepted"
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 41
    station.plug()
    await station.energy_flows()
    events_of(csms, started["transactionInfo"]["transactionId"])


async def test_TC_E_22_stop_options_energy_transfer_stopped_suspended_ev(station, csms):
    """E06.FR.07 (TxStopPoint EnergyTransfer): the EV stops taking energy (state B): the
    transaction ends (Ended ChargingStateChanged, EVConnected, stoppedReason StoppedByEV)."""
    await station.boot()
    await points(csms, stop="EnergyTransfer")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.set_ev_state(1, "B")
    end = await ended(csms, transaction_id, after=mark)
    assert end["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    assert end["triggerReason"] == "ChargingStateChanged" and end["transactionInfo"]["chargingState"] == "EVConnected"
    await station.no_energy()


async def test_TC_E_08_stop_options_energy_transfer_stopped_stop_authorized(station, csms):
    """E06.FR.07 (TxStopPoint EnergyTransfer): the driver's card stops the energy and with it the
    transaction (StopAuthorized, Local)."""
    await station.boot()
    await points(csms, stop="EnergyTransfer")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=mark)
    assert end["triggerReason"] == "StopAuthorized" and end["transactionInfo"]["stoppedReason"] == "Local"
    await station.no_energy()



# ---- beyond the OCTT cases: exactly once and in order across a crash and a power cut --------------

def delivered_once_in_order(csms, transaction_id: str) -> list[dict]:
    """The transaction's events as the backend took them: a resend after a crash repeats an
    unanswered event with the same message id; apart from that seqNo 0, 1, ... each once."""
    calls = [c for c in csms.calls if c.action == "TransactionEvent"
             and c.payload["transactionInfo"]["transactionId"] == transaction_id]
    first: dict[int, str] = {}
    events = []
    for c in calls:
        seq_no = c.payload["seqNo"]
        if seq_no in first:
            assert first[seq_no] == c.unique_id, f"seqNo {seq_no} sent twice under different message ids"
            continue
        first[seq_no] = c.unique_id
        events.append(c.payload)
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    return events


async def test_sigkill_mid_transaction_resends_the_unanswered_event_and_goes_on(station, csms):
    """SIGKILL while an event waits for its answer: after the restart the same event comes again
    (same message id), the transaction goes on with the EV still plugged in, and its Ended follows
    with the next seqNo."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    csms.answers["TransactionEvent"] = HOLD
    station.sim.set_ev_state(1, "B")
    await csms.wait_transaction_event("Updated", after=mark)
    await station.restart(kill=True)
    del csms.answers["TransactionEvent"]
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    station.sim.set_ev_state(1, "C")
    await station.energy_flows(timeout=20)
    stop = csms.mark()
    await station.tap(VALID)
    end = await ended(csms, transaction_id, after=stop, timeout=20)
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    events = delivered_once_in_order(csms, transaction_id)
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"


async def test_power_cut_mid_transaction_ends_it_with_power_loss_after_restart(station, csms):
    """A power cut (SIGKILL) while charging, the EV gone when the station is back: the transaction
    ends with stoppedReason PowerLoss, its Ended after everything queued before it, each once."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.agent.kill()
    station.unplug()
    await station.agent.start()
    end = await ended(csms, transaction_id, after=mark, timeout=30)
    assert end["transactionInfo"]["stoppedReason"] == "PowerLoss"
    events = delivered_once_in_order(csms, transaction_id)
    assert [e["eventType"] for e in events].count("Ended") == 1


async def test_remote_start_authorizes_the_transaction_started_at_plug_in(station, csms):
    """F02 with TxStartPoint EVConnected: the EV plugged in started a transaction; a
    RequestStartTransaction (no evseId) is Accepted and authorizes that same transaction
    (Updated RemoteStart with the remoteStartId and the idToken), no second one starts."""
    await station.boot()
    await points(csms, start="EVConnected")
    mark = csms.mark()
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    transaction_id = started["transactionInfo"]["transactionId"]
    request = {"idToken": {"idToken": "REMOTE-TAG-1", "type": "Central"}, "remoteStartId": 77}
    assert (await csms.call("RequestStartTransaction", request))["status"] == "Accepted"
    update = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "RemoteStart", after=mark)
    assert update["transactionInfo"] == {**update["transactionInfo"], "transactionId": transaction_id, "remoteStartId": 77}
    assert update["idToken"] == {"idToken": "REMOTE-TAG-1", "type": "Central"}
    await station.energy_flows()
    await csms.barrier()
    assert len([e for e in csms.transaction_events(after=mark) if e["eventType"] == "Started"]) == 1


async def test_number_of_phases_used_is_what_the_meter_measures(station, csms):
    """numberOfPhasesUsed: the periodic Updated events carry the phases whose Current.Import the
    meter shows the EV drawing (the simulated EV charges on all three)."""
    await station.boot()
    await set_variables(csms, "SampledDataCtrlr", TxUpdatedMeasurands="Energy.Active.Import.Register,Current.Import",
                        TxUpdatedInterval="1")
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    periodic = await csms.wait_transaction_event(
        "Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic" and "numberOfPhasesUsed" in p, after=mark,
        timeout=20)
    assert periodic["transactionInfo"]["transactionId"] == transaction_id
    assert periodic["numberOfPhasesUsed"] == station.evse()["phases"] == 3
