"""OCTT 2.0.1 block N (Diagnostics): logs uploaded to real FTP / HTTP servers (GetLog,
LogStatusNotification), variable monitors set, reported, cleared and firing on real values of
the simulated hardware (SetVariableMonitoring, SetMonitoringBase, SetMonitoringLevel,
GetMonitoringReport, ClearVariableMonitoring, NotifyEvent), and the customer data the station
holds (CustomerInformation), with the strict backend checking every message both ways."""

from __future__ import annotations

import asyncio
import tarfile

import pytest

from tests.conformance.conftest import VALID
from tests.conformance.strict_csms import CallErrorReply
from tests.conformance201.security_steps import KEY, pki, profile_lines, write_key  # noqa: F401 (pki: fixture)
from tests.file_servers import closed_port, ftp_server, http_server  # noqa: F401 (fixtures)


def get_log(location: str, request_id: int, log_type: str = "DiagnosticsLog", **more) -> dict:
    return {"log": {"remoteLocation": location}, "logType": log_type, "requestId": request_id, **more}


def log_statuses(csms, request_id: int, *, after: int) -> list[str]:
    return [p["status"] for p in csms.calls_of("LogStatusNotification", after=after) if p.get("requestId") == request_id]


async def uploaded(csms, request_id: int, *, after: int, final: str = "Uploaded") -> list[str]:
    """The LogStatusNotification statuses of ``request_id`` once the final one came."""
    await csms.wait_call("LogStatusNotification", lambda p: p.get("requestId") == request_id and p["status"] == final,
                         after=after, timeout=30)
    return log_statuses(csms, request_id, after=after)


# ---- N01 GetLog -----------------------------------------------------------------------------

async def test_TC_N_25_retrieve_log_diagnostics_log_success(station, csms, ftp_server):  # noqa: F811 (the fixture)
    """N01.FR.01-04: Accepted with the file's name; Uploading then Uploaded with the requestId; the
    archive is on the server, with the station's state; a trigger afterwards reports Idle."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log(ftp_server.url("/"), 25, retries=1, retryInterval=1))
    assert answer["status"] == "Accepted"
    assert await uploaded(csms, 25, after=mark) == ["Uploading", "Uploaded"]
    with tarfile.open(ftp_server.root / answer["filename"]) as archive:
        assert "state.json" in archive.getnames()
    trigger = csms.mark()
    assert (await csms.call("TriggerMessage", {"requestedMessage": "LogStatusNotification"}))["status"] == "Accepted"
    assert await csms.wait_call("LogStatusNotification", after=trigger) == {"status": "Idle"}


async def test_TC_N_26_retrieve_log_diagnostics_log_upload_failed(station, csms):
    """N01: a server that cannot be reached: Uploading, then UploadFailure after the retries."""
    await station.boot()
    mark = csms.mark()
    location = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    assert (await csms.call("GetLog", get_log(location, 26, retries=1, retryInterval=1)))["status"] == "Accepted"
    assert await uploaded(csms, 26, after=mark, final="UploadFailure") == ["Uploading", "UploadFailure"]


async def test_TC_N_34_retrieve_log_rejected(station, csms):
    """A location the station cannot upload to is Rejected, and no upload starts."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log("gopher://127.0.0.1/logs", 34))
    assert answer["status"] == "Rejected"
    await csms.barrier()
    assert not csms.calls_of("LogStatusNotification", after=mark)


async def test_TC_N_35_retrieve_log_security_log_success(station, csms, http_server):  # noqa: F811 (the fixture)
    """N01 SecurityLog over HTTP POST: Accepted, Uploading, Uploaded; the upload holds the
    security log (the agent's start was recorded in it)."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log(http_server.url("/upload"), 35, "SecurityLog", retries=1))
    assert answer["status"] == "Accepted" and answer["filename"].startswith("securitylog-")
    assert await uploaded(csms, 35, after=mark) == ["Uploading", "Uploaded"]
    assert answer["filename"] in http_server.uploads


async def test_TC_N_36_retrieve_log_second_request(station, csms, ftp_server):  # noqa: F811 (the fixture)
    """N01.FR.12/20: a second GetLog while the first is still uploading (retrying an unreachable
    server): AcceptedCanceled; the first gets LogStatusNotification AcceptedCanceled, the second
    is uploaded."""
    await station.boot()
    mark = csms.mark()
    unreachable = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    assert (await csms.call("GetLog", get_log(unreachable, 361, retries=5, retryInterval=60)))["status"] == "Accepted"
    await csms.wait_call("LogStatusNotification", lambda p: p.get("requestId") == 361, after=mark, timeout=20)
    answer = await csms.call("GetLog", get_log(ftp_server.url("/"), 362, retries=1, retryInterval=1))
    assert answer["status"] == "AcceptedCanceled"
    assert await uploaded(csms, 362, after=mark) == ["Uploading", "Uploaded"]
    assert log_statuses(csms, 361, after=mark) == ["Uploading", "AcceptedCanceled"]
    assert (ftp_server.root / answer["filename"]).stat().st_size > 0


# ---- monitors: helpers ----------------------------------------------------------------------

HEARTBEAT = ({"name": "OCPPCommCtrlr"}, {"name": "HeartbeatInterval"})
EVSE_POWER = ({"name": "EVSE", "evse": {"id": 1}}, {"name": "Power"})
ENERGY = ({"name": "FiscalMetering", "evse": {"id": 1}}, {"name": "EnergyImportRegister"})
CONTACTOR_PROBLEM = ({"name": "PowerContactor", "evse": {"id": 1}}, {"name": "Problem"})
METER_PROBLEM = ({"name": "FiscalMetering", "evse": {"id": 1}}, {"name": "Problem"})
CONNECTOR_STATE = ({"name": "Connector", "evse": {"id": 1, "connectorId": 1}}, {"name": "AvailabilityState"})


def monitor(target: tuple[dict, dict], type_: str, value: float, severity: int = 5, **more) -> dict:
    component, variable = target
    return {"component": component, "variable": variable, "type": type_, "value": value, "severity": severity, **more}


async def set_monitors(csms, *items: dict) -> list[dict]:
    return (await csms.call("SetVariableMonitoring", {"setMonitoringData": list(items)}))["setMonitoringResult"]


async def set_monitor(csms, item: dict) -> int:
    """One monitor Accepted; its id."""
    [result] = await set_monitors(csms, item)
    assert result["status"] == "Accepted", result
    return result["id"]


async def monitoring_report(csms, request_id: int, **request) -> dict[int, dict]:
    """GetMonitoringReport Accepted and every NotifyMonitoringReport page of it (N02.FR.04/09:
    one requestId, seqNo 0, 1, ..., tbc on all but the last): each monitor by id, with its
    component and variable."""
    mark = csms.mark()
    answer = await csms.call("GetMonitoringReport", {"requestId": request_id, **request})
    assert answer["status"] == "Accepted", answer

    def pages():
        found = [p for p in csms.calls_of("NotifyMonitoringReport", after=mark) if p["requestId"] == request_id]
        return found if found and not found[-1].get("tbc", False) else None
    found = await csms.wait_for(pages)
    assert [p["seqNo"] for p in found] == list(range(len(found)))
    return {m["id"]: {**m, "component": item["component"], "variable": item["variable"]}
            for page in found for item in page.get("monitor", []) for m in item["variableMonitoring"]}


async def set_heartbeat_interval(csms, seconds: int) -> None:
    result = await csms.call("SetVariables", {"setVariableData": [
        {"component": HEARTBEAT[0], "variable": HEARTBEAT[1], "attributeValue": str(seconds)}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"


async def event_of(csms, monitor_id: int, *, after: int, where=lambda e: True, timeout: float = 15.0) -> dict:
    """The eventData of the first NotifyEvent from ``after`` on for monitor ``monitor_id``."""
    def found():
        return next((e for p in csms.calls_of("NotifyEvent", after=after) for e in p["eventData"]
                     if e.get("variableMonitoringId") == monitor_id and where(e)), None)
    return await csms.wait_for(found, timeout=timeout)


def events_of(csms, monitor_id: int, *, after: int) -> list[dict]:
    return [e for p in csms.calls_of("NotifyEvent", after=after) for e in p["eventData"]
            if e.get("variableMonitoringId") == monitor_id]


# ---- N02 GetMonitoringReport ----------------------------------------------------------------

async def test_TC_N_01_get_monitoring_report_with_monitoring_criteria(station, csms):
    """N02.FR.06/12: ThresholdMonitoring: the threshold monitors only (the new one among them)."""
    await station.boot()
    upper = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000))
    await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    found = await monitoring_report(csms, 1, monitoringCriteria=["ThresholdMonitoring"])
    assert upper in found
    assert {m["type"] for m in found.values()} <= {"UpperThreshold", "LowerThreshold"}


async def test_TC_N_02_get_monitoring_report_with_component_variable(station, csms):
    """N02.FR.08: componentVariable: the monitors of that variable only."""
    await station.boot()
    ids = {await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000)),
           await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))}
    found = await monitoring_report(csms, 2, componentVariable=[{"component": HEARTBEAT[0], "variable": HEARTBEAT[1]}])
    assert set(found) == ids


async def test_TC_N_03_get_monitoring_report_criteria_and_component_variable(station, csms):
    """N02.FR.05: both: the monitors that meet both."""
    await station.boot()
    upper = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000))
    await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    found = await monitoring_report(csms, 3, monitoringCriteria=["ThresholdMonitoring"],
                                    componentVariable=[{"component": HEARTBEAT[0], "variable": HEARTBEAT[1]}])
    assert set(found) == {upper}


async def test_TC_N_04_get_monitoring_report_unknown_component_criteria(station, csms):
    """N02.FR.10: nothing matches: EmptyResultSet, and no report follows."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetMonitoringReport", {"requestId": 4, "componentVariable": [
        {"component": {"name": "FluxCapacitor"}}]})
    assert answer["status"] == "EmptyResultSet"
    await csms.barrier()
    assert not csms.calls_of("NotifyMonitoringReport", after=mark)


async def test_TC_N_47_get_monitoring_report_report_all(station, csms):
    """N02.FR.11: every monitor: the hard-wired ones (the meter's and the contactor's Problem),
    the preconfigured ones and the custom ones."""
    await station.boot()
    custom = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    found = await monitoring_report(csms, 47)
    watched = {(m["component"]["name"], m["variable"]["name"]) for m in found.values()}
    assert {("FiscalMetering", "Problem"), ("PowerContactor", "Problem"), ("EVSE", "Power"),
            ("OCPPCommCtrlr", "HeartbeatInterval")} <= watched
    assert found[custom]["type"] == "Delta" and found[custom]["value"] == 10


# ---- N03 SetMonitoringBase ------------------------------------------------------------------

async def test_TC_N_05_set_monitoring_base_success(station, csms):
    """N03.FR.01/03: All: Accepted, ActiveMonitoringBase says so, the preconfigured monitors are
    active and the custom ones stay."""
    await station.boot()
    custom = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    assert await csms.call("SetMonitoringBase", {"monitoringBase": "All"}) == {"status": "Accepted"}
    result = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "MonitoringCtrlr"}, "variable": {"name": "ActiveMonitoringBase"}}]})
    assert result["getVariableResult"][0]["attributeValue"] == "All"
    found = await monitoring_report(csms, 5)
    assert custom in found
    assert any(m["component"]["name"] == "EVSE" for m in found.values())


async def test_TC_N_06_set_monitoring_base_removal_of_custom_monitors(station, csms):
    """N03.FR.04/05: FactoryDefault drops the custom monitors and keeps the preconfigured ones;
    HardWiredOnly leaves the hard-wired ones only."""
    await station.boot()
    custom = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    assert await csms.call("SetMonitoringBase", {"monitoringBase": "FactoryDefault"}) == {"status": "Accepted"}
    found = await monitoring_report(csms, 61)
    assert custom not in found and any(m["component"]["name"] == "EVSE" for m in found.values())
    assert await csms.call("SetMonitoringBase", {"monitoringBase": "HardWiredOnly"}) == {"status": "Accepted"}
    found = await monitoring_report(csms, 62)
    assert {m["variable"]["name"] for m in found.values()} == {"Problem"}


# ---- N04 SetVariableMonitoring --------------------------------------------------------------

async def test_TC_N_08_set_variable_monitoring_one_element(station, csms):
    """N04.FR.08/11: Accepted with an id the station chose; reported as set."""
    await station.boot()
    [result] = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 1000, 4))
    assert result["status"] == "Accepted" and result["component"] == HEARTBEAT[0] and result["type"] == "UpperThreshold"
    found = await monitoring_report(csms, 8)
    assert found[result["id"]] == {"id": result["id"], "transaction": False, "value": 1000, "type": "UpperThreshold",
                                   "severity": 4, "component": HEARTBEAT[0], "variable": HEARTBEAT[1]}


async def test_TC_N_09_set_variable_monitoring_multiple_elements(station, csms):
    """N04.FR.01/02: one result per element, in order, each with its component and variable."""
    await station.boot()
    results = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 1000), monitor(EVSE_POWER, "Delta", 500),
                                 monitor(ENERGY, "Delta", 100))
    assert [r["status"] for r in results] == ["Accepted"] * 3
    assert [r["variable"]["name"] for r in results] == ["HeartbeatInterval", "Power", "EnergyImportRegister"]
    # N04.FR.09: more elements than MonitoringCtrlr.ItemsPerMessage (32): CALLERROR, the session goes on.
    with pytest.raises(CallErrorReply) as refused:
        await set_monitors(csms, *[monitor(HEARTBEAT, "Delta", n, 5) for n in range(33)])
    assert refused.value.code == "OccurrenceConstraintViolation"
    assert (await set_monitors(csms, monitor(ENERGY, "Delta", 50, 2)))[0]["status"] == "Accepted"


async def test_TC_N_10_set_variable_monitoring_multiple_on_same_component_variable(station, csms):
    """Several monitors of different types on one variable: each Accepted with its own id."""
    await station.boot()
    results = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 1000), monitor(HEARTBEAT, "LowerThreshold", 10),
                                 monitor(HEARTBEAT, "Delta", 5))
    assert [r["status"] for r in results] == ["Accepted"] * 3
    assert len({r["id"] for r in results}) == 3


async def test_TC_N_11_set_variable_monitoring_unknown_component(station, csms):
    """N04.FR.03."""
    await station.boot()
    [result] = await set_monitors(csms, monitor(({"name": "FluxCapacitor"}, {"name": "Power"}), "Delta", 1))
    assert result["status"] == "UnknownComponent"


async def test_TC_N_12_set_variable_monitoring_value_out_of_range_delta(station, csms):
    """N04.FR.14: a negative Delta is Rejected."""
    await station.boot()
    [result] = await set_monitors(csms, monitor(HEARTBEAT, "Delta", -5))
    assert result["status"] == "Rejected"


async def test_TC_N_13_set_variable_monitoring_value_out_of_range_threshold(station, csms):
    """N04.FR.06: a threshold beyond the variable's maxLimit (HeartbeatInterval: 86400) is Rejected."""
    await station.boot()
    [result] = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 100000))
    assert result["status"] == "Rejected"


async def test_TC_N_15_set_variable_monitoring_duplicate_type_and_severity(station, csms):
    """N04.FR.10: a second monitor of the same type and severity on a variable: Duplicate."""
    await station.boot()
    await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000, 4))
    [result] = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 2000, 4))
    assert result["status"] == "Duplicate"


async def test_TC_N_37_set_variable_monitoring_unknown_variable(station, csms):
    """N04.FR.04."""
    await station.boot()
    [result] = await set_monitors(csms, monitor(({"name": "OCPPCommCtrlr"}, {"name": "FluxLevel"}), "Delta", 1))
    assert result["status"] == "UnknownVariable"


async def test_TC_N_38_set_variable_monitoring_not_supported_monitor_type(station, csms):
    """N04.FR.05: a threshold on a boolean: UnsupportedMonitorType."""
    await station.boot()
    stop_on_invalid = ({"name": "TxCtrlr"}, {"name": "StopTxOnInvalidId"})
    [result] = await set_monitors(csms, monitor(stop_on_invalid, "UpperThreshold", 1))
    assert result["status"] == "UnsupportedMonitorType"


async def test_TC_N_39_set_variable_monitoring_component_variable_does_not_correspond(station, csms):
    """N04.FR.16: the id of a monitor of another variable: Rejected, the monitor unchanged."""
    await station.boot()
    existing = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000))
    [result] = await set_monitors(csms, monitor(EVSE_POWER, "UpperThreshold", 5000, id=existing))
    assert result["status"] == "Rejected"
    assert (await monitoring_report(csms, 39))[existing]["variable"] == HEARTBEAT[1]


async def test_TC_N_40_set_variable_monitoring_replace_variable_monitor(station, csms):
    """N04.FR.12: the same id again replaces the monitor."""
    await station.boot()
    existing = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 1000))
    assert await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 2000, 3, id=existing)) == existing
    found = await monitoring_report(csms, 40)
    assert (found[existing]["value"], found[existing]["severity"]) == (2000, 3)


async def test_TC_N_41_set_variable_monitoring_return_to_factory_default(station, csms):
    """N04.FR.15, N03.FR.04: a preconfigured monitor changed by the CSMS is a custom one until
    SetMonitoringBase FactoryDefault restores the manufacturer's."""
    await station.boot()
    before = await monitoring_report(csms, 411, componentVariable=[
        {"component": EVSE_POWER[0], "variable": EVSE_POWER[1]}])
    [(preconfigured, original)] = before.items()
    await set_monitor(csms, monitor(EVSE_POWER, "UpperThreshold", 5000, 3, id=preconfigured))
    assert (await monitoring_report(csms, 412))[preconfigured]["severity"] == 3
    assert await csms.call("SetMonitoringBase", {"monitoringBase": "FactoryDefault"}) == {"status": "Accepted"}
    assert (await monitoring_report(csms, 413))[preconfigured] == original


async def test_TC_N_43_set_variable_monitoring_second_of_three_out_of_range(station, csms):
    """N04.FR.01/06: each element on its own: Accepted, Rejected, Accepted."""
    await station.boot()
    results = await set_monitors(csms, monitor(HEARTBEAT, "UpperThreshold", 1000),
                                 monitor(HEARTBEAT, "LowerThreshold", -1), monitor(HEARTBEAT, "Delta", 5))
    assert [r["status"] for r in results] == ["Accepted", "Rejected", "Accepted"]


# ---- N05 SetMonitoringLevel -----------------------------------------------------------------

async def test_TC_N_16_set_monitoring_level_success(station, csms):
    """N05.FR.01/03: level 3: a severity-2 monitor reports, a severity-7 one on the same change does not."""
    await station.boot()
    assert await csms.call("SetMonitoringLevel", {"severity": 3}) == {"status": "Accepted"}
    urgent = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 1, 2))
    minor = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 1, 7))
    mark = csms.mark()
    await set_heartbeat_interval(csms, 600)
    event = await event_of(csms, urgent, after=mark)
    assert (event["trigger"], event["actualValue"]) == ("Delta", "600")
    await csms.barrier()
    assert not events_of(csms, minor, after=mark)


async def test_TC_N_17_set_monitoring_level_out_of_range(station, csms):
    """N05.FR.02: a severity beyond 0-9 is Rejected and the level stays."""
    await station.boot()
    assert await csms.call("SetMonitoringLevel", {"severity": 10}) == {"status": "Rejected"}
    result = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "MonitoringCtrlr"}, "variable": {"name": "ActiveMonitoringLevel"}}]})
    assert result["getVariableResult"][0]["attributeValue"] == "9"


# ---- N06 ClearVariableMonitoring ------------------------------------------------------------

async def test_TC_N_18_clear_monitoring_success(station, csms):
    """N06.FR.01: Accepted, and the monitor is gone."""
    await station.boot()
    existing = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    answer = await csms.call("ClearVariableMonitoring", {"id": [existing]})
    assert answer == {"clearMonitoringResult": [{"status": "Accepted", "id": existing}]}
    assert existing not in await monitoring_report(csms, 18)


async def test_TC_N_19_clear_monitoring_not_found(station, csms):
    """N06.FR.02."""
    await station.boot()
    answer = await csms.call("ClearVariableMonitoring", {"id": [424242]})
    assert answer == {"clearMonitoringResult": [{"status": "NotFound", "id": 424242}]}


async def test_TC_N_44_clear_monitoring_rejected(station, csms):
    """N06.FR.03: a hard-wired monitor cannot be cleared: Rejected, and it stays."""
    await station.boot()
    found = await monitoring_report(csms, 441, componentVariable=[
        {"component": METER_PROBLEM[0], "variable": METER_PROBLEM[1]}])
    [hard_wired] = found
    answer = await csms.call("ClearVariableMonitoring", {"id": [hard_wired]})
    assert answer == {"clearMonitoringResult": [{"status": "Rejected", "id": hard_wired}]}
    assert hard_wired in await monitoring_report(csms, 442)


# ---- N07 / N08 events -----------------------------------------------------------------------

async def test_TC_N_20_alert_event_threshold_value_exceeded(station, csms):
    """N07.FR.16/02/06: an UpperThreshold on the EVSE's measured power: an Alerting event when the
    EV draws more, with the monitor's id and the value; a cleared one when the charging ends."""
    await station.boot()
    upper = await set_monitor(csms, monitor(EVSE_POWER, "UpperThreshold", 1000, 3))
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    await station.energy_flows()
    event = await event_of(csms, upper, after=mark)
    assert event["trigger"] == "Alerting" and float(event["actualValue"]) > 1000 and not event.get("cleared")
    assert event["component"] == EVSE_POWER[0] and event["eventNotificationType"] == "CustomMonitor"
    station.unplug()
    cleared = await event_of(csms, upper, after=mark, where=lambda e: e.get("cleared"))
    assert float(cleared["actualValue"]) <= 1000


async def test_TC_N_21_alert_event_caused_by_hardwired_trigger(station, csms):
    """Hard-wired monitors: the meter stops answering: NotifyEvent HardWiredMonitor on
    FiscalMetering.Problem true; it answers again: false. The contactor welds: PowerContactor.Problem
    true, then false once it opens. The board stops answering: EVSE.Problem true, then false."""
    await station.boot()
    [hard_wired] = await monitoring_report(csms, 21, componentVariable=[
        {"component": METER_PROBLEM[0], "variable": METER_PROBLEM[1]}])
    mark = csms.mark()
    station.sim.inject_fault(1, "meter_comm")
    event = await event_of(csms, hard_wired, after=mark, where=lambda e: e["actualValue"] == "true", timeout=30)
    assert event["eventNotificationType"] == "HardWiredMonitor" and event["component"] == METER_PROBLEM[0]
    station.sim.clear_fault(1)
    await event_of(csms, hard_wired, after=mark, where=lambda e: e["actualValue"] == "false", timeout=30)
    # A contactor that will not open: its feedback contact reads closed while the coil is off.
    [contactor] = await monitoring_report(csms, 211, componentVariable=[
        {"component": CONTACTOR_PROBLEM[0], "variable": CONTACTOR_PROBLEM[1]}])
    mark = csms.mark()
    station.sim.gpio.set(1, "welded", True)
    event = await event_of(csms, contactor, after=mark, where=lambda e: e["actualValue"] == "true", timeout=30)
    assert event["eventNotificationType"] == "HardWiredMonitor" and event["component"] == CONTACTOR_PROBLEM[0]
    station.sim.gpio.set(1, "welded", False)
    await event_of(csms, contactor, after=mark, where=lambda e: e["actualValue"] == "false", timeout=30)
    # The board stops answering: the EVSE's Problem.
    [evse] = await monitoring_report(csms, 212, componentVariable=[
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Problem"}}])
    mark = csms.mark()
    station.sim.inject_fault(1, "comm")
    await event_of(csms, evse, after=mark, where=lambda e: e["actualValue"] == "true", timeout=30)
    station.sim.clear_fault(1)
    await event_of(csms, evse, after=mark, where=lambda e: e["actualValue"] == "false", timeout=30)


async def logged(station, text: str, timeout: float = 15.0) -> None:
    """The agent has written ``text`` to its log (looked at often: no event announces a line)."""
    async with asyncio.timeout(timeout):
        while text not in station.log():
            await asyncio.sleep(0.05)


async def offline_events(station, csms, severities: tuple[int, ...]) -> tuple[list[int], int]:
    """OfflineQueuingSeverity 4, Delta monitors of ``severities`` on the connector's state, the
    backend gone, an EV plugged in; then the backend back. (monitor ids, mark before going offline)."""
    await station.boot()
    result = await csms.call("SetVariables", {"setVariableData": [{"component": {"name": "MonitoringCtrlr"},
                             "variable": {"name": "OfflineQueuingSeverity"}, "attributeValue": "4"}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    ids = [await set_monitor(csms, monitor(CONNECTOR_STATE, "Delta", 1, s)) for s in severities]
    mark = csms.mark()
    await csms.go_offline()
    station.plug()
    for monitor_id in ids:  # the station saw it while offline (no event says so: its log does)
        await logged(station, f"monitor {monitor_id} (Delta Connector@1.1.AvailabilityState")
    await csms.go_online()
    return ids, mark


async def test_TC_N_22_offline_notification_queued(station, csms):
    """N07.FR.04: events of monitors at or below OfflineQueuingSeverity that fire offline are sent
    once online again."""
    (equal, lower), mark = await offline_events(station, csms, (4, 2))
    for monitor_id in (equal, lower):
        event = await event_of(csms, monitor_id, after=mark, timeout=30)
        assert event["actualValue"] == "Occupied"


async def test_TC_N_23_offline_notification_not_queued(station, csms):
    """N07.FR.04: an event of a monitor above OfflineQueuingSeverity that fired offline is dropped
    (the one below it, from the same change, arrives)."""
    (higher, lower), mark = await offline_events(station, csms, (6, 3))
    await event_of(csms, lower, after=mark, timeout=30)
    await csms.barrier()
    assert not events_of(csms, higher, after=mark)


async def test_TC_N_24_set_variable_monitoring_periodic_event(station, csms):
    """N08.FR.05/06: a Periodic monitor of 2 s on the energy register: NotifyEvent trigger Periodic
    with the value, again and again."""
    await station.boot()
    periodic = await set_monitor(csms, monitor(ENERGY, "Periodic", 2))
    mark = csms.mark()
    await csms.wait_for(lambda: len(events_of(csms, periodic, after=mark)) >= 2, timeout=15)
    first, second = events_of(csms, periodic, after=mark)[:2]
    assert first["trigger"] == second["trigger"] == "Periodic" and first["eventId"] != second["eventId"]
    assert float(first["actualValue"]) >= 0


async def test_TC_N_45_alert_event_delta_value_exceeded(station, csms):
    """N07.FR.18: a Delta of 5 Wh on the meter's energy register, active during transactions only:
    events while the EV charges, each more than 5 Wh from the one before, naming the transaction."""
    await station.boot()
    delta = await set_monitor(csms, monitor(ENERGY, "Delta", 5, transaction=True))
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await csms.wait_for(lambda: len(events_of(csms, delta, after=mark)) >= 2, timeout=30)
    first, second = events_of(csms, delta, after=mark)[:2]
    assert first["trigger"] == "Delta" and float(second["actualValue"]) - float(first["actualValue"]) > 5
    assert first["transactionId"] == started["transactionInfo"]["transactionId"]


async def test_TC_N_48_alert_event_variable_monitoring_on_write_only(station, csms, pki):  # noqa: F811 (the fixture)
    """N07.FR.10: a Delta monitor on the write-only BasicAuthPassword (security profile 2, where it
    may be set) fires when the password is written, with an empty actualValue: the value is never
    shown."""
    password = "OCTT-monitored-password-1"
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY, password.encode()])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki))
    written = await set_monitor(csms, monitor(({"name": "SecurityCtrlr"}, {"name": "BasicAuthPassword"}), "Delta", 1, 2))
    mark = csms.mark()
    result = await csms.call("SetVariables", {"setVariableData": [{"component": {"name": "SecurityCtrlr"},
                             "variable": {"name": "BasicAuthPassword"}, "attributeValue": password}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    event = await event_of(csms, written, after=mark, timeout=30)  # sent once reconnected with it
    assert (event["trigger"], event["actualValue"]) == ("Delta", "")
    assert password not in station.log()


async def test_TC_N_51_set_variable_monitoring_modifying_a_monitor_and_trigger(station, csms):
    """N07.FR.11: a threshold changed so that the value is beyond it fires at once."""
    await station.boot()
    await set_heartbeat_interval(csms, 300)
    upper = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 500))
    mark = csms.mark()
    await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 100, id=upper))
    event = await event_of(csms, upper, after=mark)
    assert (event["trigger"], event["actualValue"]) == ("Alerting", "300")


async def test_TC_N_52_set_variable_monitoring_removing_a_monitor(station, csms):
    """N07.FR.12: a tripped threshold that is cleared away reports nothing when the value comes back."""
    await station.boot()
    await set_heartbeat_interval(csms, 300)
    mark = csms.mark()
    upper = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 100))
    await event_of(csms, upper, after=mark)
    assert (await csms.call("ClearVariableMonitoring", {"id": [upper]}))["clearMonitoringResult"][0]["status"] == "Accepted"
    await set_heartbeat_interval(csms, 50)
    await csms.barrier()
    assert [e.get("cleared", False) for e in events_of(csms, upper, after=mark)] == [False]


async def test_TC_N_53_alert_event_persistent_over_reboot(station, csms):
    """N07.FR.13/14: monitors are kept across a restart, and so is a threshold's state: a Delta
    fires after it, and a threshold exceeded before it reports cleared when the value comes back."""
    await station.boot()
    await set_heartbeat_interval(csms, 300)
    delta = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    mark = csms.mark()
    upper = await set_monitor(csms, monitor(HEARTBEAT, "UpperThreshold", 100))
    await event_of(csms, upper, after=mark)
    mark = csms.mark()
    await station.restart()
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    assert {delta, upper} <= set(await monitoring_report(csms, 53))
    mark = csms.mark()
    await set_heartbeat_interval(csms, 60)
    assert (await event_of(csms, delta, after=mark))["actualValue"] == "60"
    assert (await event_of(csms, upper, after=mark))["cleared"] is True


async def test_TC_N_56_alert_event_delta_not_numeric_exceeded(station, csms):
    """N07.FR.19: a Delta on a value that is no number (the connector's AvailabilityState) fires at
    every change: an EV plugged in makes it Occupied."""
    await station.boot()
    delta = await set_monitor(csms, monitor(CONNECTOR_STATE, "Delta", 1, 3))
    mark = csms.mark()
    station.plug()
    event = await event_of(csms, delta, after=mark)
    assert (event["trigger"], event["actualValue"]) == ("Delta", "Occupied")


async def test_TC_N_61_alert_event_variable_monitoring_on_numeric(station, csms):
    """N07.FR.18: a Delta of 10 on a number: a change of 5 reports nothing, one of 20 does."""
    await station.boot()
    await set_heartbeat_interval(csms, 300)
    delta = await set_monitor(csms, monitor(HEARTBEAT, "Delta", 10))
    mark = csms.mark()
    await set_heartbeat_interval(csms, 305)
    await set_heartbeat_interval(csms, 325)
    event = await event_of(csms, delta, after=mark)
    assert event["actualValue"] == "325"
    assert [e["actualValue"] for e in events_of(csms, delta, after=mark)] == ["325"]


# ---- N09 / N10 CustomerInformation ----------------------------------------------------------

def customer(request_id: int, *, report: bool, clear: bool, token: str | None = VALID, **more) -> dict:
    request = {"requestId": request_id, "report": report, "clear": clear, **more}
    if token is not None:
        request["idToken"] = {"idToken": token, "type": "ISO14443"}
    return request


async def customer_data(csms, request: dict) -> str:
    """CustomerInformation Accepted; the data of its NotifyCustomerInformation messages, joined
    (N09.FR.05: seqNo 0, 1, ..., tbc on all but the last)."""
    mark = csms.mark()
    assert await csms.call("CustomerInformation", request) == {"status": "Accepted"}

    def pages():
        found = [p for p in csms.calls_of("NotifyCustomerInformation", after=mark) if p["requestId"] == request["requestId"]]
        return found if found and not found[-1].get("tbc", False) else None
    found = await csms.wait_for(pages)
    assert [p["seqNo"] for p in found] == list(range(len(found)))
    return "".join(p["data"] for p in found)


async def card_cached(station, csms) -> None:
    """The card was tapped and the backend's Accepted answer is in the authorization cache."""
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_call("Authorize", after=mark)
    await csms.barrier()  # the answer was taken before anything else goes on


async def test_TC_N_27_get_customer_information_accepted_and_data(station, csms):
    """N09.FR.02/05: what the station holds for the idToken: its authorization cache entry."""
    await station.boot()
    await card_cached(station, csms)
    data = await customer_data(csms, customer(27, report=True, clear=False))
    assert "authorization cache: Accepted" in data


async def test_TC_N_28_get_customer_information_accepted_and_no_data(station, csms):
    """N09.FR.06: an idToken the station never saw: a NotifyCustomerInformation saying so."""
    await station.boot()
    assert await customer_data(csms, customer(28, report=True, clear=False, token="NEVER-SEEN")) == (
        "No data held for this customer")


async def test_TC_N_29_get_customer_information_not_accepted(station, csms):
    """N09.FR.07: neither report nor clear: Rejected, nothing follows."""
    await station.boot()
    mark = csms.mark()
    assert (await csms.call("CustomerInformation", customer(29, report=False, clear=False)))["status"] == "Rejected"
    await csms.barrier()
    assert not csms.calls_of("NotifyCustomerInformation", after=mark)


async def test_TC_N_30_clear_customer_information_clear_and_report_data(station, csms):
    """N10.FR.03: report and clear: the data held and that it was cleared; asked again, nothing is
    held. A transaction of the idToken that is running keeps it (its end is still to be sent), and
    is delivered as ever."""
    await station.boot()
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    data = await customer_data(csms, customer(30, report=True, clear=True))
    assert "authorization cache: Accepted" in data and "authorization cache: cleared" in data
    assert "kept until they ended and were delivered" in data
    station.unplug()
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    await csms.barrier()  # its delivery confirmed (the outbox emptied on the answer)
    data = await customer_data(csms, customer(301, report=True, clear=True))
    assert "transactions: 1 cleared" in data
    assert await customer_data(csms, customer(302, report=True, clear=False)) == "No data held for this customer"


async def test_TC_N_31_clear_customer_information_clear_and_report_no_data(station, csms):
    """N10.FR.04: nothing held: a NotifyCustomerInformation saying so."""
    await station.boot()
    assert await customer_data(csms, customer(31, report=True, clear=True, token="NEVER-SEEN")) == (
        "No data held for this customer")


async def test_TC_N_32_clear_customer_information_clear_and_no_report(station, csms):
    """N10.FR.06: clear only: a NotifyCustomerInformation that it is cleared; then nothing is held."""
    await station.boot()
    await card_cached(station, csms)
    data = await customer_data(csms, customer(32, report=False, clear=True))
    assert data.startswith("Cleared") and "authorization cache: cleared" in data
    assert await customer_data(csms, customer(321, report=True, clear=False)) == "No data held for this customer"


async def test_TC_N_33_clear_customer_information_invalid(station, csms):
    """No customer named (no idToken, customerCertificate or customerIdentifier): Invalid."""
    await station.boot()
    answer = await csms.call("CustomerInformation", customer(33, report=True, clear=True, token=None))
    assert answer["status"] == "Invalid"


async def test_TC_N_62_clear_customer_information_customer_identifier(station, csms):
    """A customerIdentifier: the station keeps none, so nothing is held (and nothing cleared)."""
    await station.boot()
    assert await customer_data(csms, customer(62, report=True, clear=True, token=None, customerIdentifier="C-42")) == (
        "No data held for this customer")


async def test_TC_N_63_clear_customer_information_customer_certificate(station, csms):
    """A customerCertificate: no ISO 15118 stack, so the station keeps no customer certificate."""
    await station.boot()
    certificate = {"hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64, "issuerKeyHash": "b" * 64,
                   "serialNumber": "01"}
    assert await customer_data(csms, customer(63, report=True, clear=True, token=None,
                                              customerCertificate=certificate)) == "No data held for this customer"
