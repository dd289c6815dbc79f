"""OCTT 2.0.1 block J (Meter values): clock-aligned values (J01: AlignedDataCtrlr Measurands,
Interval, SendDuringIdle, TxEndedMeasurands, TxEndedInterval) and values sampled during a
transaction (J02: SampledDataCtrlr TxStartedMeasurands, TxUpdatedMeasurands, TxUpdatedInterval,
TxEndedMeasurands, TxEndedInterval), read from the simulator's SDM630 meter, with the strict
backend checking every message both ways.

The meter signs nothing, so the signed cases (TC_J_04, TC_J_11) do not apply
(tests/conformance201/cases.py)."""

from __future__ import annotations

import datetime as dt

from tests.conformance.conftest import VALID
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)
from tests.conformance201.test_f_remote_control import set_variable
from tests.conformance201.test_l_firmware import charging

ALIGNED_S = 2  # AlignedDataCtrlr.Interval / TxEndedInterval of the tests: a whole divisor of a day


def measurands(meter_value: dict) -> set[str]:
    return {v["measurand"] for v in meter_value["sampledValue"]}


def contexts(meter_values: list[dict]) -> set[str]:
    return {v["context"] for mv in meter_values for v in mv["sampledValue"]}


def aligned(timestamp: str, interval_s: int = ALIGNED_S) -> bool:
    """The timestamp is a whole multiple of the interval since midnight (J01)."""
    when = dt.datetime.fromisoformat(timestamp)
    since_midnight = when - when.replace(hour=0, minute=0, second=0, microsecond=0)
    return since_midnight.total_seconds() % interval_s == 0


def clock_updates(csms, transaction: str, *, after: int = 0) -> list[dict]:
    return [e for e in csms.transaction_events(transaction, after=after) if e["triggerReason"] == "MeterValueClock"]


# ---- J01 clock-aligned -------------------------------------------------------------------------


async def test_TC_J_01_clock_aligned_meter_values_no_transaction_ongoing(station, csms):
    """J01.FR.14: no transaction: MeterValuesRequest of the EVSE at each aligned time, the
    AlignedDataMeasurands, context Sample.Clock, stamped with the aligned time."""
    await station.boot()
    await set_variable(csms, "AlignedDataCtrlr", "Measurands", "Energy.Active.Import.Register,Voltage")
    mark = csms.mark()
    await set_variable(csms, "AlignedDataCtrlr", "Interval", str(ALIGNED_S))
    first = await csms.wait_for_call("MeterValues", after=mark)
    second = await csms.wait_for_call("MeterValues", after=first.seq + 1)
    for values in (first.payload, second.payload):
        assert values["evseId"] == 1
        (meter_value,) = values["meterValue"]
        assert measurands(meter_value) == {"Energy.Active.Import.Register", "Voltage"}
        assert contexts(values["meterValue"]) == {"Sample.Clock"}
        assert aligned(meter_value["timestamp"])
    assert first.payload["meterValue"][0]["timestamp"] != second.payload["meterValue"][0]["timestamp"]


async def test_TC_J_02_clock_aligned_meter_values_transaction_ongoing(station, csms):
    """J01: during a transaction the clock-aligned values go in TransactionEvent
    Updated, triggerReason MeterValueClock, context Sample.Clock; no MeterValuesRequest."""
    await station.boot()
    await set_variable(csms, "AlignedDataCtrlr", "Measurands", "Energy.Active.Import.Register,Current.Import")
    transaction = await charging(station, csms)
    mark = csms.mark()
    await set_variable(csms, "AlignedDataCtrlr", "Interval", str(ALIGNED_S))
    event = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValueClock", after=mark)
    assert event["transactionInfo"]["transactionId"] == transaction
    (meter_value,) = event["meterValue"]
    assert measurands(meter_value) == {"Energy.Active.Import.Register", "Current.Import"}
    assert contexts(event["meterValue"]) == {"Sample.Clock"} and aligned(meter_value["timestamp"])
    assert not csms.calls_of("MeterValues", after=mark)


async def test_TC_J_03_clock_aligned_meter_values_event_type_ended(station, csms):
    """J01 (AlignedDataCtrlr.TxEndedMeasurands, TxEndedInterval): the Ended event carries
    the clock-aligned values taken at each TxEndedInterval of the transaction (Sample.Clock) and
    those of its end (Transaction.End)."""
    await station.boot()
    await set_variable(csms, "AlignedDataCtrlr", "TxEndedMeasurands", "Energy.Active.Import.Register")
    await set_variable(csms, "AlignedDataCtrlr", "TxEndedInterval", str(ALIGNED_S))
    await set_variable(csms, "SampledDataCtrlr", "TxUpdatedInterval", "1")
    transaction = await charging(station, csms)
    # let two aligned times pass, seen through the periodic updates' timestamps
    start = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic")
    begun = dt.datetime.fromisoformat(start["timestamp"])
    await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic" and (
        dt.datetime.fromisoformat(p["timestamp"]) - begun).total_seconds() > 2 * ALIGNED_S + 0.5,
        timeout=20)
    mark = csms.mark()
    station.unplug()
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction
    clock = [mv for mv in ended["meterValue"] if contexts([mv]) == {"Sample.Clock"}]
    assert len(clock) >= 2 and all(aligned(mv["timestamp"]) for mv in clock)
    assert all(measurands(mv) == {"Energy.Active.Import.Register"} for mv in clock)
    assert "Transaction.End" in contexts(ended["meterValue"])


async def test_TC_J_06_clock_aligned_meter_values_no_meter_values_during_transaction(station, csms):
    """J01.FR.20 (AlignedDataCtrlr.SendDuringIdle true): no clock-aligned values while the
    transaction runs, neither MeterValues nor Updated MeterValueClock; once it ended they come again."""
    await station.boot()
    await set_variable(csms, "AlignedDataCtrlr", "SendDuringIdle", "true")
    await set_variable(csms, "SampledDataCtrlr", "TxUpdatedInterval", "1")
    transaction = await charging(station, csms)
    mark = csms.mark()
    await set_variable(csms, "AlignedDataCtrlr", "Interval", str(ALIGNED_S))
    first = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic",
                                              after=mark)
    begun = dt.datetime.fromisoformat(first["timestamp"])
    await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic" and (
        dt.datetime.fromisoformat(p["timestamp"]) - begun).total_seconds() > 2 * ALIGNED_S + 0.5,
        after=mark, timeout=20)
    assert not clock_updates(csms, transaction, after=mark)
    assert not csms.calls_of("MeterValues", after=mark)
    station.unplug()
    ended = await csms.wait_for_call("TransactionEvent", lambda p: p["eventType"] == "Ended", after=mark)
    values = await csms.wait_call("MeterValues", after=ended.seq + 1)
    assert contexts(values["meterValue"]) == {"Sample.Clock"}


# ---- J02 sampled during a transaction ----------------------------------------------------------


async def test_TC_J_07_sampled_meter_values_event_type_started_evse_known(station, csms):
    """J02 (SampledDataCtrlr.TxStartedMeasurands): TransactionEvent Started carries the TxStartedMeasurands, context
    Transaction.Begin, of the EVSE it names (the EV plugged in first)."""
    await station.boot()
    await set_variable(csms, "SampledDataCtrlr", "TxStartedMeasurands", "Energy.Active.Import.Register,Voltage")
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    await station.tap(VALID)
    started = await csms.wait_transaction_event("Started", after=mark)
    assert started["evse"]["id"] == 1
    (meter_value,) = started["meterValue"]
    assert measurands(meter_value) == {"Energy.Active.Import.Register", "Voltage"}
    assert contexts(started["meterValue"]) == {"Transaction.Begin"}


async def test_TC_J_08_sampled_meter_values_context_transaction_begin_evse_not_known(station, csms):
    """J02: authorized before any EVSE is known (the card first): the transaction's
    first event naming its EVSE carries the TxStartedMeasurands, context Transaction.Begin."""
    await station.boot()
    await set_variable(csms, "SampledDataCtrlr", "TxStartedMeasurands", "Energy.Active.Import.Register,Current.Import")
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    event = await csms.wait_transaction_event(where=lambda p: "evse" in p, after=mark)
    begin = [mv for mv in event["meterValue"] if contexts([mv]) == {"Transaction.Begin"}]
    assert len(begin) == 1 and measurands(begin[0]) == {"Energy.Active.Import.Register", "Current.Import"}
    await station.energy_flows()


async def test_TC_J_09_sampled_meter_values_event_type_updated(station, csms):
    """J02 (TxUpdatedInterval, TxUpdatedMeasurands): TransactionEvent Updated every
    interval, triggerReason MeterValuePeriodic, context Sample.Periodic, those measurands."""
    await station.boot()
    await set_variable(csms, "SampledDataCtrlr", "TxUpdatedMeasurands", "Energy.Active.Import.Register,Power.Active.Import")
    await set_variable(csms, "SampledDataCtrlr", "TxUpdatedInterval", "1")
    transaction = await charging(station, csms)
    event = await csms.wait_transaction_event("Updated", lambda p: p["triggerReason"] == "MeterValuePeriodic")
    assert event["transactionInfo"]["transactionId"] == transaction
    (meter_value,) = event["meterValue"]
    assert measurands(meter_value) == {"Energy.Active.Import.Register", "Power.Active.Import"}
    assert contexts(event["meterValue"]) == {"Sample.Periodic"}
    power = next(v for v in meter_value["sampledValue"] if v["measurand"] == "Power.Active.Import")
    assert power["value"] > 0 and power["unitOfMeasure"]["unit"] == "W"


async def test_TC_J_10_sampled_meter_values_event_type_ended(station, csms):
    """J02 (SampledDataCtrlr.TxEndedMeasurands, TxEndedInterval): the Ended event carries the
    values sampled every TxEndedInterval (Sample.Periodic) and those of the end (Transaction.End)."""
    await station.boot()
    await set_variable(csms, "SampledDataCtrlr", "TxEndedMeasurands", "Energy.Active.Import.Register,Current.Import")
    await set_variable(csms, "SampledDataCtrlr", "TxEndedInterval", "1")
    await set_variable(csms, "SampledDataCtrlr", "TxUpdatedInterval", "600")  # its own interval, not this one
    transaction = await charging(station, csms)
    await set_variable(csms, "AlignedDataCtrlr", "Interval", "1")  # time passing, seen by the backend
    await csms.wait_for(lambda: len(clock_updates(csms, transaction)) >= 3, timeout=20)
    mark = csms.mark()
    station.unplug()
    ended = await csms.wait_transaction_event("Ended", after=mark)
    periodic = [mv for mv in ended["meterValue"] if contexts([mv]) == {"Sample.Periodic"}]
    assert len(periodic) >= 2
    assert all(measurands(mv) == {"Energy.Active.Import.Register", "Current.Import"} for mv in periodic)
    end = [mv for mv in ended["meterValue"] if contexts([mv]) == {"Transaction.End"}]
    assert end and {"Energy.Active.Import.Register", "Current.Import"} <= set().union(*map(measurands, end))
