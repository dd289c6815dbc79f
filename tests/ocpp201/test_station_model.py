"""The station's device model: names spelled as the spec spells them, every required variable,
the setting mapping, and each part reported as the station really has it."""

import pytest
from ocpp.v201 import enums

from agent.ocpp201.device_model import (
    AttributeType,
    Component,
    Constant,
    FromSetting,
    GetStatus,
    Mutability,
    SetStatus,
    Variable,
)
from agent.ocpp201.settings_map import (
    PROPOSED,
    SETTING_MAP,
    STORED_KEYS,
)
from agent.ocpp201.station_model import (
    Capabilities,
    ConnectorDescription,
    EvseDescription,
)
from agent.persistence.settings import DEFAULTS, Settings
from agent.persistence.store import Store
from tests.ocpp201.helpers import (
    LiveTable,
    MemorySettings,
    MemoryStore,
    full_station,
    model,
)

# Every component and variable the station may report, spelled as OCPP 2.0.1 Edition 3 Part 2
# "Referenced Components and Variables" (§), Part 4 §8, the Appendices (App.3 components, App.4
# variables) and the 2025-09 errata spell them. "Name[Instance]" for a variable instance.
SPEC_NAMES = {
    "ChargingStation": {"Available", "AvailabilityState", "SupplyPhases", "Problem", "VendorName", "Model",
                        "SerialNumber", "PhaseRotation", "AllowNewSessionsPendingFirmwareUpdate"},  # §2.13, §2.1.2, App.3.2.11
    "EVSE": {"Available", "AvailabilityState", "SupplyPhases", "Power", "AllowReset", "Problem", "PhaseRotation"},
    "Connector": {"Available", "AvailabilityState", "ConnectorType", "SupplyPhases", "ChargeProtocol", "Problem"},
    "OCPPCommCtrlr": {"ActiveNetworkProfile", "FileTransferProtocols", "HeartbeatInterval", "MessageTimeout[Default]",
                      "MessageAttempts[TransactionEvent]", "MessageAttemptInterval[TransactionEvent]",
                      "MinimumStatusDuration", "NetworkConfigurationPriority", "NetworkProfileConnectionAttempts",
                      "OfflineThreshold", "ResetRetries", "RetryBackOffRandomRange", "RetryBackOffRepeatTimes",
                      "RetryBackOffWaitMinimum", "UnlockOnEVSideDisconnect", "WebSocketPingInterval"},
    "DeviceDataCtrlr": {"ItemsPerMessage[GetReport]", "ItemsPerMessage[GetVariables]", "ItemsPerMessage[SetVariables]",
                        "BytesPerMessage[GetReport]", "BytesPerMessage[GetVariables]", "BytesPerMessage[SetVariables]",
                        "ConfigurationValueSize", "ReportingValueSize"},
    "ClockCtrlr": {"DateTime", "TimeSource", "TimeOffset", "TimeOffset[NextTransition]",
                   "NextTimeOffsetTransitionDateTime", "TimeAdjustmentReportingThreshold"},
    "SecurityCtrlr": {"BasicAuthPassword", "CertificateEntries", "Identity", "OrganizationName", "SecurityProfile",
                      "AdditionalRootCertificateCheck", "MaxCertificateChainSize", "CertSigningWaitMinimum",
                      "CertSigningRepeatTimes"},
    "AuthCtrlr": {"Enabled", "AuthorizeRemoteStart", "LocalAuthorizeOffline", "LocalPreAuthorize",
                  "OfflineTxForUnknownIdEnabled", "MasterPassGroupId", "DisableRemoteAuthorization",
                  "SupportedIdTokenTypes"},  # SupportedIdTokenTypes: errata 2.63
    "AuthCacheCtrlr": {"Available", "Enabled", "LifeTime", "Policy", "DisablePostAuthorize"},
    "LocalAuthListCtrlr": {"Available", "Enabled", "Entries", "ItemsPerMessage", "BytesPerMessage",
                           "DisablePostAuthorize"},
    "TxCtrlr": {"EVConnectionTimeOut", "StopTxOnEVSideDisconnect", "TxStartPoint", "TxStopPoint",
                "MaxEnergyOnInvalidId", "StopTxOnInvalidId"},
    "SampledDataCtrlr": {"Available", "Enabled", "TxEndedMeasurands", "TxEndedInterval", "TxStartedMeasurands",
                         "TxUpdatedMeasurands", "TxUpdatedInterval"},
    "AlignedDataCtrlr": {"Available", "Enabled", "Measurands", "Interval", "TxEndedMeasurands", "TxEndedInterval",
                         "SendDuringIdle"},
    "ReservationCtrlr": {"Available", "Enabled", "NonEvseSpecific"},
    "SmartChargingCtrlr": {"Available", "Enabled", "Entries[ChargingProfiles]", "LimitChangeSignificance",
                           "PeriodsPerSchedule", "ProfileStackLevel", "RateUnit"},
    "TariffCostCtrlr": {"Available[Tariff]", "Available[Cost]", "Enabled[Tariff]", "Enabled[Cost]",
                        "TariffFallbackMessage", "TotalCostFallbackMessage", "Currency"},
    "DisplayMessageCtrlr": {"Available", "Enabled", "DisplayMessages", "SupportedFormats", "SupportedPriorities"},
    "MonitoringCtrlr": {"Available", "Enabled", "ItemsPerMessage[SetVariableMonitoring]",
                        "BytesPerMessage[SetVariableMonitoring]", "ItemsPerMessage[ClearVariableMonitoring]",
                        "BytesPerMessage[ClearVariableMonitoring]", "ActiveMonitoringBase", "ActiveMonitoringLevel",
                        "OfflineQueuingSeverity"},
    "CustomizationCtrlr": {"CustomImplementationEnabled[org.openchargealliance.costmsg]"},
    "Controller": {"Available", "Active", "Problem", "FirmwareVersion"},  # App.3.2.19
    "TokenReader": {"Available", "Problem"},  # App.3.2.53
    "TemperatureSensor": {"Available", "Temperature", "Active", "Problem"},  # App.3.2.51
    "FiscalMetering": {"Available", "Problem", "EnergyImportRegister"},  # App.3.2.32
    "PowerContactor": {"Available", "Active", "Problem"},  # App.3.2.44
    "RCD": {"Available", "Tripped"},  # App.3.2.45
    "EmergencyStopSensor": {"Available", "Active"},  # App.3.2.27
    "Display": {"Available", "Problem", "Count[WidthInChars]", "Count[HeightInChars]"},  # App.3.2.23
    "ConnectorPlugRetentionLock": {"Available", "Active", "Problem"},  # App.3.2.17
}

# Required (Part 2 "Referenced Components and Variables", Part 4 §8, errata) for the functional
# blocks this station serves: General, Security, Authorization, Local list, Transactions, Metering,
# Smart charging, Tariff & cost, Diagnostics (monitoring), Display messages, Charging infrastructure.
REQUIRED = {
    ("OCPPCommCtrlr", "ActiveNetworkProfile"),  # errata 2.57
    ("OCPPCommCtrlr", "MessageTimeout[Default]"), ("OCPPCommCtrlr", "FileTransferProtocols"),
    ("OCPPCommCtrlr", "NetworkConfigurationPriority"), ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"),
    ("OCPPCommCtrlr", "OfflineThreshold"), ("OCPPCommCtrlr", "MessageAttempts[TransactionEvent]"),
    ("OCPPCommCtrlr", "MessageAttemptInterval[TransactionEvent]"), ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect"),
    ("OCPPCommCtrlr", "ResetRetries"), ("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
    ("OCPPCommCtrlr", "RetryBackOffRandomRange"), ("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
    ("OCPPCommCtrlr", "WebSocketPingInterval"),
    ("DeviceDataCtrlr", "ItemsPerMessage[GetReport]"), ("DeviceDataCtrlr", "ItemsPerMessage[GetVariables]"),
    ("DeviceDataCtrlr", "BytesPerMessage[GetReport]"), ("DeviceDataCtrlr", "BytesPerMessage[GetVariables]"),
    ("DeviceDataCtrlr", "ItemsPerMessage[SetVariables]"), ("DeviceDataCtrlr", "BytesPerMessage[SetVariables]"),
    ("ClockCtrlr", "DateTime"), ("ClockCtrlr", "TimeSource"),
    ("SecurityCtrlr", "OrganizationName"), ("SecurityCtrlr", "CertificateEntries"), ("SecurityCtrlr", "SecurityProfile"),
    ("AuthCtrlr", "AuthorizeRemoteStart"), ("AuthCtrlr", "LocalAuthorizeOffline"), ("AuthCtrlr", "LocalPreAuthorize"),
    ("LocalAuthListCtrlr", "Entries"), ("LocalAuthListCtrlr", "ItemsPerMessage"), ("LocalAuthListCtrlr", "BytesPerMessage"),
    ("TxCtrlr", "EVConnectionTimeOut"), ("TxCtrlr", "StopTxOnEVSideDisconnect"), ("TxCtrlr", "TxStartPoint"),
    ("TxCtrlr", "TxStopPoint"), ("TxCtrlr", "StopTxOnInvalidId"),
    ("SampledDataCtrlr", "TxEndedMeasurands"), ("SampledDataCtrlr", "TxEndedInterval"),
    ("SampledDataCtrlr", "TxStartedMeasurands"), ("SampledDataCtrlr", "TxUpdatedMeasurands"),
    ("SampledDataCtrlr", "TxUpdatedInterval"),
    ("AlignedDataCtrlr", "Measurands"), ("AlignedDataCtrlr", "Interval"), ("AlignedDataCtrlr", "TxEndedMeasurands"),
    ("AlignedDataCtrlr", "TxEndedInterval"),
    ("SmartChargingCtrlr", "ProfileStackLevel"), ("SmartChargingCtrlr", "RateUnit"),
    ("SmartChargingCtrlr", "PeriodsPerSchedule"), ("SmartChargingCtrlr", "Entries[ChargingProfiles]"),
    ("SmartChargingCtrlr", "LimitChangeSignificance"),
    ("TariffCostCtrlr", "TariffFallbackMessage"), ("TariffCostCtrlr", "TotalCostFallbackMessage"),
    ("TariffCostCtrlr", "Currency"),
    ("MonitoringCtrlr", "ItemsPerMessage[SetVariableMonitoring]"), ("MonitoringCtrlr", "BytesPerMessage[SetVariableMonitoring]"),
    ("DisplayMessageCtrlr", "DisplayMessages"), ("DisplayMessageCtrlr", "SupportedFormats"),
    ("DisplayMessageCtrlr", "SupportedPriorities"),
    ("ChargingStation", "Available"), ("ChargingStation", "AvailabilityState"), ("ChargingStation", "SupplyPhases"),
    ("EVSE", "Available"), ("EVSE", "AvailabilityState"), ("EVSE", "SupplyPhases"), ("EVSE", "Power"),
    ("Connector", "Available"), ("Connector", "AvailabilityState"), ("Connector", "ConnectorType"),
    ("Connector", "SupplyPhases"),
}


def name(variable: Variable) -> str:
    return f"{variable.name}[{variable.instance}]" if variable.instance else variable.name


def everything():
    return model(full_station(), capabilities=Capabilities(custom_implementations=("org.openchargealliance.costmsg",)))


def test_every_name_is_spelled_as_in_the_spec():
    m = everything()
    seen: dict[str, set[str]] = {}
    for d in m.definitions():
        seen.setdefault(d.component.name, set()).add(name(d.variable))
    assert seen == SPEC_NAMES


def test_the_spelling_table_agrees_with_the_ocpp_library_enums():
    """A second source: the ``ocpp`` library's enums, taken from the 2.0.1 appendices CSV."""
    components = {c.value for c in enums.ControllerComponentName} | {c.value for c in enums.PhysicalComponentName}
    generic = {v.value for v in enums.StandardizedVariableName}
    after_library = {("AuthCtrlr", "SupportedIdTokenTypes")}  # errata 2.63 (2025), newer than the library's list
    for component, variables in SPEC_NAMES.items():
        assert component in components
        own = {v.value for v in getattr(enums, f"{component}VariableName", [])}
        for variable in variables:
            base = variable.partition("[")[0]
            assert variable in own or base in own or base in generic or (component, variable) in after_library, \
                (component, variable)


def test_every_required_variable_is_there_and_marked_required():
    m = everything()
    required = {(d.component.name, name(d.variable)) for d in m.definitions() if d.required}
    assert REQUIRED <= required
    assert required - REQUIRED == set()


def test_every_definition_cites_the_spec():
    assert all(d.spec for d in everything().definitions())


def test_each_evse_and_connector_is_on_its_tier():
    m = everything()
    tiers = {(c.name, c.evse_id, c.connector_id) for c in m.components()}
    assert {("EVSE", 1, None), ("EVSE", 2, None), ("Connector", 1, 1), ("Connector", 2, 1)} <= tiers
    assert ("ConnectorPlugRetentionLock", 1, 1) in tiers and ("FiscalMetering", 1, None) in tiers
    assert m.get(Component("EVSE", evse_id=3), Variable("Available")).status is GetStatus.UNKNOWN_COMPONENT


def test_physical_parts_only_where_the_station_has_them():
    bare = model(full_station(evses=(EvseDescription(1),), card_reader=False, temperature_sensor=False))
    names = {c.name for c in bare.components()}
    assert names.isdisjoint({"TokenReader", "TemperatureSensor", "FiscalMetering", "PowerContactor", "RCD",
                             "EmergencyStopSensor", "Display", "ConnectorPlugRetentionLock"})
    assert "MonitoringCtrlr" in names and "CustomizationCtrlr" not in names
    no_feedback = model(full_station(evses=(EvseDescription(1, contactor=True),)))
    assert no_feedback.find(Component("PowerContactor", evse_id=1), Variable("Problem")) is None


def test_values_are_reported_as_the_station_has_them():
    live = LiveTable({("EVSE", 1, None, "Power"): 7360.0, ("FiscalMetering", 1, None, "Problem"): True,
                      ("TemperatureSensor", None, None, "Temperature"): 41.5})
    m = model(live=live)
    get = lambda c, v, t=AttributeType.ACTUAL: m.get(c, v, t).value
    evse1, evse2 = Component("EVSE", evse_id=1), Component("EVSE", evse_id=2)
    assert get(evse1, Variable("Power")) == "7360.0"
    power = m.find(evse1, Variable("Power")).characteristics
    assert (power.unit, power.max_limit) == ("W", 16 * 3 * 230.0)  # §2.13.7 maxLimit: 16 A × 3 × 230 V
    assert m.find(evse2, Variable("Power")).characteristics.max_limit == 32 * 1 * 230.0
    assert get(Component("ChargingStation"), Variable("SupplyPhases")) == "3"
    assert get(evse2, Variable("SupplyPhases")) == "1"
    assert get(Component("Connector", evse_id=2, connector_id=1), Variable("ConnectorType")) == "cType2"
    assert get(Component("FiscalMetering", evse_id=1), Variable("Problem")) == "true"
    assert get(Component("FiscalMetering", evse_id=1), Variable("EnergyImportRegister")) == ""  # unknown now
    sensor = Component("TemperatureSensor")
    assert get(sensor, Variable("Temperature")) == "41.5"
    assert get(sensor, Variable("Temperature"), AttributeType.MAX_SET) == "60.0"  # derate threshold
    assert get(Component("SecurityCtrlr"), Variable("Identity")) == "CP-0001"
    assert get(Component("OCPPCommCtrlr"), Variable("FileTransferProtocols")) == "FTP,HTTP,HTTPS"


def test_unlock_on_ev_side_disconnect_is_read_only_false_with_fixed_cables_only():
    cables = model(full_station(evses=(EvseDescription(1, (ConnectorDescription(1, "cType2"),)),)))
    definition = cables.find(Component("OCPPCommCtrlr"), Variable("UnlockOnEVSideDisconnect"))
    assert definition.attributes[0].mutability is Mutability.READ_ONLY  # §2.1.12
    assert cables.text(definition) == "false"
    sockets = model()
    assert sockets.find(Component("OCPPCommCtrlr"), Variable("UnlockOnEVSideDisconnect")).writable


def test_measurands_offered_are_those_the_station_can_measure():
    with_meter = model()
    without = model(full_station(evses=(EvseDescription(1),)))
    tx_updated = Variable("TxUpdatedMeasurands")
    sampled = Component("SampledDataCtrlr")
    assert with_meter.find(sampled, tx_updated).characteristics.values_list == (
        "Current.Import", "Current.Offered", "Energy.Active.Import.Register", "Power.Active.Import", "Voltage")
    assert without.find(sampled, tx_updated).characteristics.values_list == ("Current.Offered",)
    # The 1.6 default (Energy.Active.Import.Register, Power.Active.Import) is read within what is offered.
    assert without.get(sampled, tx_updated).value == ""
    assert with_meter.get(sampled, tx_updated).value == "Energy.Active.Import.Register,Power.Active.Import"
    assert without.set(sampled, tx_updated, "Voltage").status is SetStatus.REJECTED


def test_1_6_only_measurands_are_left_out_when_read():
    settings = MemorySettings()
    settings.set("meter_sampled_data", ["Temperature", "Voltage"])  # set through 1.6
    assert model(settings=settings).get(Component("SampledDataCtrlr"), Variable("TxUpdatedMeasurands")).value == "Voltage"


def test_every_setting_is_in_the_mapping_table():
    assert set(SETTING_MAP) | set(PROPOSED) == set(DEFAULTS)
    assert not set(PROPOSED) & set(SETTING_MAP)  # each setting backs its variable once


def test_the_mapping_table_says_what_the_model_does():
    m = everything()
    used: dict[str, set[tuple[str, str, str | None]]] = {}
    for d in m.definitions():
        for attribute in d.attributes:
            if isinstance(attribute.source, FromSetting):
                used.setdefault(attribute.source.name, set()).add(
                    (d.component.name, d.variable.name, d.variable.instance))
    for setting, targets in used.items():
        if setting in SETTING_MAP:
            assert targets == set(SETTING_MAP[setting].targets), setting
        else:
            assert targets == {PROPOSED[setting].target}, setting
    # Every mapped setting is used, except those only read when the model is built.
    built_from = {"local_auth_list_max_length"}
    mapped = {s for s, mapping in SETTING_MAP.items() if mapping.targets}
    assert mapped - set(used) == built_from
    assert set(PROPOSED) == set(used) - set(SETTING_MAP)
    stored = {d.attributes[0].source.key for d in m.definitions() if hasattr(d.attributes[0].source, "key")}
    assert set(STORED_KEYS) <= stored


def test_local_list_size_comes_from_its_setting():
    settings = MemorySettings()
    settings.set("local_auth_list_max_length", 250)
    entries = model(settings=settings).find(Component("LocalAuthListCtrlr"), Variable("Entries"))
    assert entries.characteristics.max_limit == 250


def test_phase_rotation_is_shared_with_the_1_6_key(tmp_path):
    from agent.ocpp16.keys import ConfigurationKeys

    store = Store(tmp_path / "db.sqlite")
    settings = Settings(store)
    m = model(settings=settings, store=MemoryStore())
    assert m.set(Component("EVSE", evse_id=2), Variable("PhaseRotation"), "TRS").status is SetStatus.ACCEPTED
    assert m.set(Component("ChargingStation"), Variable("PhaseRotation"), "").status is SetStatus.ACCEPTED
    assert m.set(Component("EVSE", evse_id=1), Variable("PhaseRotation"), "RTX").status is SetStatus.REJECTED
    known, _ = ConfigurationKeys(settings, number_of_connectors=2).get(["ConnectorPhaseRotation"])
    assert known[0]["value"] == "0.Unknown,2.TRS"
    assert m.get(Component("EVSE", evse_id=1), Variable("PhaseRotation")).value == ""  # no entry: unknown
    store.close()


def test_time_offsets_are_shared_with_the_1_6_pricing_keys():
    store = MemoryStore()
    store.put("costmsg.TimeOffset", "+01:00")  # as agent/ocpp16/pricing_keys.py stores it
    store.put("costmsg.NextTimeOffsetTransitionDateTime", "")  # its "none"
    m = model(store=store)
    clock = Component("ClockCtrlr")
    assert m.get(clock, Variable("TimeOffset")).value == "+01:00"
    assert m.get(clock, Variable("NextTimeOffsetTransitionDateTime")).value == ""
    assert m.set(clock, Variable("TimeOffset", "NextTransition"), "+02:00").status is SetStatus.ACCEPTED
    assert store.data["costmsg.TimeOffsetNextTransition"] == "+02:00"
    assert m.set(clock, Variable("TimeOffset"), "one hour").reason_code == "InvalidValue"


@pytest.mark.parametrize("component, variable, text, accepted", [
    ("TariffCostCtrlr", "Currency", "USD", True), ("TariffCostCtrlr", "Currency", "usd", False),
    ("TxCtrlr", "TxStartPoint", "", False), ("TxCtrlr", "TxStopPoint", "DataSigned", False),  # errata 2.24
    ("TxCtrlr", "TxStartPoint", "ParkingBayOccupancy", False),  # no bay sensor
    ("AuthCtrlr", "MasterPassGroupId", "x" * 37, False), ("AuthCacheCtrlr", "Policy", "LFU", False),
    ("SmartChargingCtrlr", "LimitChangeSignificance", "2.5", True),
    ("OCPPCommCtrlr", "WebSocketPingInterval", "-1", False),  # Part 4 §8.4: negative values not allowed
    ("SecurityCtrlr", "OrganizationName", "Evil\nCPO", False),
])
def test_variable_rules(component, variable, text, accepted):
    status = model().set(Component(component), Variable(variable), text).status
    assert (status is SetStatus.ACCEPTED) is accepted


def test_the_settings_2_0_1_needs_are_the_agents_settings(tmp_path):
    """Every setting the device model proposed is one of the agent's Settings, same default,
    persisted like the others."""
    assert {name: DEFAULTS[name] for name in PROPOSED} == {name: p.default for name, p in PROPOSED.items()}
    store = Store(tmp_path / "db.sqlite")
    Settings(store).set("offline_threshold_s", 600)
    assert Settings(store)["offline_threshold_s"] == 600
    store.close()


def test_constants_are_reported_constant():
    m = model()
    identity = m.find(Component("SecurityCtrlr"), Variable("Identity")).attributes[0]
    assert isinstance(identity.source, Constant) and identity.is_constant and identity.is_persistent
    heartbeat = m.find(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval")).attributes[0]
    assert heartbeat.is_persistent and not heartbeat.is_constant  # writable → persistent (Part 2 Ref. C&V §2)


def test_a_station_description_is_checked():
    with pytest.raises(ValueError, match="connector type"):
        ConnectorDescription(1, "Type2")
    with pytest.raises(ValueError, match="Part 1"):
        full_station(evses=(EvseDescription(2),))  # EVSEs are numbered from 1 (Part 1 §7.1)
    with pytest.raises(ValueError, match="Part 1"):
        full_station(evses=(EvseDescription(1, (ConnectorDescription(2),)),))  # connectors too (§7.2)


def test_supported_id_token_types_are_the_types_the_station_identifies_drivers_by():
    """AuthCtrlr.SupportedIdTokenTypes: Central (remote starts); ISO14443 where a reader reads
    cards; Local where free vend makes its token up; nothing the station never presents."""
    from agent.app.composition import station_description
    from agent.app.config import AgentConfig, CardReaderSection, FreeVendSection
    from agent.core.identity import card, central
    from agent.core.session import PilotChanged, PilotState, Session, StartTransaction, Tick

    def supported(station) -> list[str]:
        m = model(station)
        definition = m.find(Component("AuthCtrlr"), Variable("SupportedIdTokenTypes"))
        assert definition.characteristics.values_list == tuple(m.value(definition))  # valuesList: the same
        return m.value(definition)

    free_vend = Session(max_current_a=16, free_vend_id_tag="FREE")
    free_vend.handle(Tick(), 0)
    (start,) = [c for c in free_vend.handle(PilotChanged(PilotState.B), 1) if isinstance(c, StartTransaction)]
    assert supported(full_station(free_vend=True)) == [central("X").type.value, card("04A1").type.value,
                                                      start.token_type]
    assert supported(full_station(card_reader=False)) == ["Central"]
    assert supported(full_station()) == ["Central", "ISO14443"]
    # The configuration says which (agent/app/composition.py).
    described = station_description(AgentConfig(card_reader=CardReaderSection(driver="pcsc"),
                                                free_vend=FreeVendSection(id_tag="FREE")))
    assert (described.card_reader, described.free_vend) == (True, True)
    assert (station_description(AgentConfig()).card_reader, station_description(AgentConfig()).free_vend) == (False, False)
