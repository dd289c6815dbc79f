"""The device model's rules for one value: every get/set status, attribute types, mutability,
reboot-required, persistence across a restart, observers."""

import pytest

from agent.ocpp201.device_model import (
    Attribute,
    AttributeType,
    Component,
    Constant,
    Delegated,
    DeviceModel,
    FromSetting,
    GetStatus,
    Live,
    Mutability,
    SetStatus,
    Stored,
    Variable,
    VariableDef,
)
from agent.ocpp201.settings_map import LayeredSettings, ProposedSettings, StoreKeyValue
from agent.ocpp201.values import Characteristics, DataType, ValueRejected
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from tests.ocpp201.helpers import (
    LiveTable,
    MemorySettings,
    MemoryStore,
    full_station,
    model,
)

ACTUAL, TARGET, MIN_SET, MAX_SET = AttributeType.ACTUAL, AttributeType.TARGET, AttributeType.MIN_SET, AttributeType.MAX_SET
RO, WO, RW = Mutability.READ_ONLY, Mutability.WRITE_ONLY, Mutability.READ_WRITE
OCPP_COMM = Component("OCPPCommCtrlr")
FAN = Component("Fan", evse_id=1)


def fan_model(store=None, live=None):
    """Part 1 §4.3's fan: Actual read-only, Target / MinSet / MaxSet settable, limits 0..1000."""
    m = DeviceModel(MemorySettings(), store or MemoryStore(), live or LiveTable())
    speed = Characteristics(DataType.DECIMAL, "RPM", min_limit=0, max_limit=1000)
    m.add(VariableDef(FAN, Variable("FanSpeed"), speed, (
        Attribute(ACTUAL, RO, Live()),
        Attribute(TARGET, RW, Stored("fan.target")),
        Attribute(MIN_SET, RW, Stored("fan.min", 200.0)),
        Attribute(MAX_SET, RW, Stored("fan.max", 500.0)),
    )))
    return m


def test_get_each_status():
    live = LiveTable({("Connector", 1, 1, "AvailabilityState"): "Occupied"})
    m = model(live=live)
    connector = Component("Connector", evse_id=1, connector_id=1)
    assert m.get(connector, Variable("AvailabilityState")).value == "Occupied"
    assert m.get(connector, Variable("AvailabilityState")).status is GetStatus.ACCEPTED
    assert m.get(Component("Connector", evse_id=1, connector_id=9), Variable("AvailabilityState")).status \
        is GetStatus.UNKNOWN_COMPONENT
    assert m.get(Component("FluxCapacitor"), Variable("Enabled")).status is GetStatus.UNKNOWN_COMPONENT  # B06.FR.06
    assert m.get(OCPP_COMM, Variable("HeartBeatPeriod")).status is GetStatus.UNKNOWN_VARIABLE  # B06.FR.07
    assert m.get(OCPP_COMM, Variable("HeartbeatInterval"), TARGET).status is GetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE
    password = m.get(Component("SecurityCtrlr"), Variable("BasicAuthPassword"))
    assert (password.status, password.value, password.reason_code) == (GetStatus.REJECTED, None, "WriteOnly")  # B06.FR.09


def test_names_are_case_insensitive_and_instances_exact():
    m = model()
    # Part 2 §2.16/§2.53: CaseInsensitive
    assert m.get(Component("ocppcommctrlr"), Variable("HEARTBEATINTERVAL")).value == "300"
    assert m.get(OCPP_COMM, Variable("MessageAttempts", "transactionevent")).value == "3"
    # B06.FR.15: no instance given, and only an instance exists → unknown
    assert m.get(OCPP_COMM, Variable("MessageAttempts")).status is GetStatus.UNKNOWN_VARIABLE


def test_set_each_status():
    m = model()
    assert m.set(OCPP_COMM, Variable("HeartbeatInterval"), "120").status is SetStatus.ACCEPTED  # B05.FR.10
    assert m.get(OCPP_COMM, Variable("HeartbeatInterval")).value == "120"
    assert m.set(Component("Nope"), Variable("Enabled"), "true").status is SetStatus.UNKNOWN_COMPONENT  # B05.FR.04
    assert m.set(OCPP_COMM, Variable("Nope"), "true").status is SetStatus.UNKNOWN_VARIABLE  # B05.FR.05
    assert m.set(OCPP_COMM, Variable("HeartbeatInterval"), "1", MAX_SET).status \
        is SetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE  # B05.FR.06
    bad_format = m.set(OCPP_COMM, Variable("HeartbeatInterval"), "2 minutes")  # B05.FR.07
    assert (bad_format.status, bad_format.reason_code) == (SetStatus.REJECTED, "InvalidValue")
    out_of_range = m.set(OCPP_COMM, Variable("HeartbeatInterval"), "0")  # B05.FR.08 (minLimit 1, §2.1.5)
    assert (out_of_range.status, out_of_range.reason_code) == (SetStatus.REJECTED, "ValueTooLow")
    read_only = m.set(OCPP_COMM, Variable("FileTransferProtocols"), "FTP")  # B05.FR.09
    assert (read_only.status, read_only.reason_code) == (SetStatus.REJECTED, "ReadOnly")
    assert m.get(OCPP_COMM, Variable("HeartbeatInterval")).value == "120"  # nothing rejected was applied


def test_reboot_required_is_said_and_the_value_kept():
    m = model(slot_configured=lambda slot: slot in (1, 2))
    priority = Variable("NetworkConfigurationPriority")
    assert m.set(OCPP_COMM, priority, "2,1").status is SetStatus.REBOOT_REQUIRED  # B10.FR.01
    assert m.get(OCPP_COMM, priority).value == "2,1"
    assert m.set(OCPP_COMM, priority, "2,1").status is SetStatus.ACCEPTED  # unchanged: nothing to reboot for


def test_priority_naming_an_empty_slot_is_rejected():
    m = model()  # only slot 1 holds a profile
    outcome = m.set(OCPP_COMM, Variable("NetworkConfigurationPriority"), "2,1")
    assert (outcome.status, outcome.reason_code) == (SetStatus.REJECTED, "InvalidValue")  # B10.FR.02
    assert "slot 2" in outcome.info


def test_write_only_is_written_through_the_writer_and_never_read():
    live = LiveTable()
    m = model(live=live)
    security = Component("SecurityCtrlr")
    assert m.set(security, Variable("BasicAuthPassword"), "short").status is SetStatus.REJECTED
    assert m.set(security, Variable("BasicAuthPassword"), "0123456789abcdef-XYZ").status is SetStatus.ACCEPTED
    assert live.written == [(security, Variable("BasicAuthPassword"), "0123456789abcdef-XYZ")]
    assert m.text(m.find(security, Variable("BasicAuthPassword"))) is None


def test_a_writer_that_refuses_and_a_store_that_fails_reject_the_item():
    def refuse(component, variable, value):
        raise ValueRejected("InvalidValue", "the link would not accept it")

    class BrokenStore(MemoryStore):
        def put(self, key, value):
            raise OSError("disk full")

    m = DeviceModel(MemorySettings(), BrokenStore(), writer=refuse)
    m.add(VariableDef(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), Characteristics(DataType.STRING),
                      (Attribute(ACTUAL, WO, Delegated()),)))
    m.add(VariableDef(Component("X"), Variable("Y"), Characteristics(DataType.STRING), (Attribute(ACTUAL, RW, Stored("y")),)))
    assert m.set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), "x").reason_code == "InvalidValue"
    failed = m.set(Component("X"), Variable("Y"), "v")
    assert (failed.status, failed.reason_code) == (SetStatus.REJECTED, "InternalError")


def test_a_live_value_that_cannot_be_read_is_rejected_not_raised():
    def broken(component, variable):
        raise TimeoutError("meter silent")

    m = DeviceModel(MemorySettings(), MemoryStore(), live=broken)
    m.add(VariableDef(Component("FiscalMetering", evse_id=1), Variable("EnergyImportRegister"),
                      Characteristics(DataType.DECIMAL, "Wh")))
    outcome = m.get(Component("FiscalMetering", evse_id=1), Variable("EnergyImportRegister"))
    assert (outcome.status, outcome.reason_code) == (GetStatus.REJECTED, "InternalError")


def test_target_min_max_set_keep_their_order():
    m = fan_model()
    speed = Variable("FanSpeed")
    assert m.get(FAN, speed, TARGET).value == ""  # supported, not set yet: "" (B06.FR.13)
    assert m.set(FAN, speed, "600", TARGET).reason_code == "ValueTooHigh"  # above MaxSet 500 (Part 1 §4.3)
    assert m.set(FAN, speed, "100", TARGET).reason_code == "ValueTooLow"  # below MinSet 200
    assert m.set(FAN, speed, "450", TARGET).status is SetStatus.ACCEPTED
    assert m.set(FAN, speed, "1200", MAX_SET).reason_code == "ValueTooHigh"  # above maxLimit 1000
    assert m.set(FAN, speed, "150", MAX_SET).reason_code == "ValueTooLow"  # below MinSet
    assert m.set(FAN, speed, "800", MAX_SET).status is SetStatus.ACCEPTED
    assert m.set(FAN, speed, "900", MIN_SET).reason_code == "ValueTooHigh"
    assert m.set(FAN, speed, "1", ACTUAL).reason_code == "ReadOnly"
    assert [m.get(FAN, speed, t).value for t in (TARGET, MIN_SET, MAX_SET)] == ["450.0", "200.0", "800.0"]


def test_values_persist_across_a_restart(tmp_path):
    """Settings, proposed settings and stored values set through SetVariables come back after a
    restart from the SQLite store (the agent's Store, as the lead will wire it)."""
    def start():
        store = Store(tmp_path / "db.sqlite")
        kv = StoreKeyValue(store)
        return store, model(settings=LayeredSettings(Settings(store), ProposedSettings(kv)), store=kv)

    store, m = start()
    changes = {
        (OCPP_COMM, Variable("HeartbeatInterval")): "90",  # neutral setting
        (Component("TxCtrlr"), Variable("TxStartPoint")): "EVConnected,Authorized",  # proposed setting
        (Component("SecurityCtrlr"), Variable("OrganizationName")): "Example CPO",  # stored value
        (Component("EVSE", evse_id=1), Variable("PhaseRotation")): "RTS",  # converted setting
        (Component("ClockCtrlr"), Variable("NextTimeOffsetTransitionDateTime")): "2026-10-25T01:00:00Z",
    }
    for (component, variable), text in changes.items():
        assert m.set(component, variable, text).status is SetStatus.ACCEPTED, (component, variable)
    store.close()

    store, m = start()
    for (component, variable), text in changes.items():
        assert m.get(component, variable).value == text
    # The neutral setting is where the 1.6 adapter reads it; the proposed one is in Settings' format.
    assert Settings(store)["heartbeat_interval_s"] == 90
    assert store.settings()["setting.tx_start_point"] == '["EVConnected", "Authorized"]'
    assert store.settings()["security.cpo_name"] == "Example CPO"  # the 1.6 CpoName key
    assert Settings(store)["connector_phase_rotation"] == ["0.RST", "1.RTS"]
    store.close()


def test_observers_hear_backend_sets_setting_changes_and_live_changes():
    settings = MemorySettings()
    m = model(settings=settings)
    heard = []
    m.subscribe(heard.append)
    m.set(OCPP_COMM, Variable("HeartbeatInterval"), "60")
    m.set(OCPP_COMM, Variable("HeartbeatInterval"), "60")  # unchanged: no event
    settings.set("heartbeat_interval_s", 45)  # e.g. by the 1.6 adapter
    m.setting_changed("heartbeat_interval_s", 45)
    connector = Component("Connector", evse_id=1, connector_id=1)
    m.live_changed(connector, Variable("AvailabilityState"), "Occupied")
    m.live_changed(connector, Variable("AvailabilityState"), "Occupied")  # same again: no event
    m.live_changed(connector, Variable("AvailabilityState"), "Available")
    m.set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), "0123456789abcdef")
    summary = [(str(e.component), str(e.variable), e.old, e.new, e.by_backend) for e in heard]
    assert summary == [
        ("OCPPCommCtrlr", "HeartbeatInterval", "300", "60", True),
        ("OCPPCommCtrlr", "HeartbeatInterval", "60", "45", False),
        ("Connector@1.1", "AvailabilityState", None, "Occupied", False),
        ("Connector@1.1", "AvailabilityState", "Occupied", "Available", False),
        ("SecurityCtrlr", "BasicAuthPassword", None, None, True),  # a write-only change, its value untold
    ]


def test_a_failing_observer_does_not_undo_the_set():
    m = model()
    m.subscribe(lambda event: 1 / 0)
    assert m.set(OCPP_COMM, Variable("HeartbeatInterval"), "61").status is SetStatus.ACCEPTED
    assert m.get(OCPP_COMM, Variable("HeartbeatInterval")).value == "61"


def test_live_changed_for_an_unknown_variable_is_an_error():
    with pytest.raises(KeyError):
        model().live_changed(Component("Connector", evse_id=7, connector_id=1), Variable("AvailabilityState"), "x")


def test_definitions_are_unique():
    m = DeviceModel(MemorySettings(), MemoryStore())
    definition = VariableDef(Component("A"), Variable("B"), Characteristics(DataType.STRING), (Attribute(source=Constant("x")),))
    m.add(definition)
    with pytest.raises(ValueError):
        m.add(VariableDef(Component("a"), Variable("b"), Characteristics(DataType.STRING)))


def test_attribute_flags_follow_the_source():
    constant = Attribute(source=Constant(1))
    setting = Attribute(mutability=RW, source=FromSetting("heartbeat_interval_s"))
    live = Attribute(source=Live())
    assert (constant.is_persistent, constant.is_constant) == (True, True)
    assert (setting.is_persistent, setting.is_constant) == (True, False)  # §2 "writable → persistent"
    assert (live.is_persistent, live.is_constant) == (False, False)


def test_live_variables_lists_what_the_station_must_answer():
    keys = {(str(c), str(v)) for c, v in model(full_station()).live_variables()}
    assert ("Connector@2.1", "AvailabilityState") in keys
    assert ("FiscalMetering@1", "Problem") in keys
    assert ("OCPPCommCtrlr", "HeartbeatInterval") not in keys
