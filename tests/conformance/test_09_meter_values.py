"""OCTT module 09, Meter Values (OCPP 1.6 §3.16, §4.7 MeterValues, §9.1.8, §9.1.13-17)."""

from __future__ import annotations

import datetime as dt

from tests.conformance.steps import charging

SAMPLED = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage"]


def measurands(payload: dict) -> set[str]:
    return {v.get("measurand", "Energy.Active.Import.Register") for mv in payload["meterValue"] for v in mv["sampledValue"]}


def contexts(payload: dict) -> set[str]:
    return {v.get("context", "Sample.Periodic") for mv in payload["meterValue"] for v in mv["sampledValue"]}


async def test_TC_070_sampled_meter_values(station, csms):
    await station.boot(keys={"MeterValueSampleInterval": 1, "MeterValuesSampledData": SAMPLED,
                             "StopTxnSampledData": ["Energy.Active.Import.Register"]})
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    of_this = lambda p: p.get("transactionId") == transaction_id  # noqa: E731
    call = await csms.wait_for_call("MeterValues", of_this, after=mark)
    first = call.payload
    assert first["connectorId"] == 1
    assert measurands(first) == set(SAMPLED) and contexts(first) == {"Sample.Periodic"}
    energy = next(v for v in first["meterValue"][0]["sampledValue"] if v["measurand"] == "Energy.Active.Import.Register")
    assert energy["unit"] == "Wh" and float(energy["value"]) >= 0
    second = await csms.wait_call("MeterValues", of_this, after=call.seq + 1)
    assert second["meterValue"][0]["timestamp"] > first["meterValue"][0]["timestamp"]
    mark = csms.mark()
    assert await csms.call("RemoteStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    stop = await csms.wait_call("StopTransaction", after=mark)
    data = stop["transactionData"]
    assert {v["context"] for mv in data for v in mv["sampledValue"]} >= {"Sample.Periodic", "Transaction.End"}


async def test_TC_071_clock_aligned_meter_values(station, csms):
    aligned = ["Energy.Active.Import.Register", "Power.Active.Import"]
    await station.boot(keys={"ClockAlignedDataInterval": 2, "MeterValuesAlignedData": aligned,
                             "MeterValueSampleInterval": 0})
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    reading = await csms.wait_call("MeterValues", lambda p: p.get("transactionId") == transaction_id, after=mark)
    assert contexts(reading) == {"Sample.Clock"} and measurands(reading) == set(aligned)
    stamp = dt.datetime.fromisoformat(reading["meterValue"][0]["timestamp"].replace("Z", "+00:00"))
    # §9.1.8: aligned to the interval from midnight (a reading of 00:00:02, 00:00:04, ...).
    assert stamp.second % 2 == 0 and stamp.microsecond < 500_000
