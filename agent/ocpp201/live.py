"""The device model's live values (Part 2 Actual values the station measures or knows now), read
from the station port and the neutral services, and its delegated writes.

``get(component, variable)`` answers what agent/ocpp201/station_model.py declares as ``Live``;
``write`` takes what it declares as ``Delegated`` (the write-only BasicAuthPassword goes to the
link's security, A01). ``changed(where)`` tells the device model's observers (monitoring, N)
that a connector's state moved.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.backend.ports import StationPort
from agent.backend.services import PASSWORD_BYTES, AdapterServices, RootKind
from agent.core.identity import ConnectorRef
from agent.core.session import ConnectorStatus, Fault
from agent.ocpp201.device_model import Component, ValueRejected, Variable
from agent.ocpp201.station_model import StationDescription

log = logging.getLogger(__name__)

# §2.1.3 AvailabilityState: Available, Occupied, Reserved, Unavailable, Faulted.
AVAILABILITY = {
    ConnectorStatus.AVAILABLE: "Available",
    ConnectorStatus.RESERVED: "Reserved",
    ConnectorStatus.UNAVAILABLE: "Unavailable",
    ConnectorStatus.FAULTED: "Faulted",
}

# Which physical part a fault is about.
METER_FAULTS = {Fault.METER_COMM}
CONTACTOR_FAULTS = {Fault.WELDED, Fault.CONTACTOR}
EVSE_FAULTS = {Fault.BOARD_COMM, Fault.PILOT, Fault.OVERCURRENT, Fault.OTHER, Fault.STORAGE, Fault.NOT_RECORDED}


class LiveValues:
    def __init__(self, station: StationPort, services: AdapterServices, description: StationDescription) -> None:
        self.station = station
        self.services = services
        self.description = description
        self.observers: list[Any] = []  # told (ConnectorRef) when a connector's state changes

    def changed(self, where: ConnectorRef) -> None:
        for observer in self.observers:
            observer(where)

    def _connector(self, evse_id: int | None, connector_id: int | None = 1) -> tuple[ConnectorStatus, Fault | None] | None:
        if evse_id is None:
            return None
        return self.station.statuses().get(ConnectorRef(evse_id, connector_id or 1))

    def _faults(self, evse_id: int | None = None) -> set[Fault]:
        return {fault for ref, (_, fault) in self.station.statuses().items()
                if fault is not None and (evse_id is None or ref.evse_id == evse_id)}

    def _measured(self, evse_id: int, measurand: str) -> float | None:
        values = [v.value for v in self.station.sample(evse_id, "Other", [measurand]).values if v.phase is None]
        return values[0] if values else None

    def get(self, component: Component, variable: Variable) -> Any:
        name, part = variable.name, component.name
        evse = component.evse_id
        if part == "ChargingStation":
            if name == "AvailabilityState":
                status, _ = self.station.station_status()
                return "Unavailable" if status is ConnectorStatus.UNAVAILABLE else "Available"
            if name == "Problem":
                return bool(self._faults())
        if part in ("EVSE", "Connector"):
            state = self._connector(evse, component.connector_id if part == "Connector" else 1)
            if state is None:
                return None
            status, fault = state
            if name == "AvailabilityState":
                return AVAILABILITY.get(status, "Occupied")
            if name == "Problem":
                return fault is not None
            if name == "Power":
                return self._measured(evse, "Power.Active.Import") or 0.0
        if part == "FiscalMetering":
            faults = self._faults(evse)
            if name == "Available":
                return not faults & METER_FAULTS
            if name == "Problem":
                return bool(faults & METER_FAULTS)
            if name == "EnergyImportRegister":
                return self._measured(evse, "Energy.Active.Import.Register")
        if part == "PowerContactor":
            faults = self._faults(evse)
            if name == "Problem":
                return bool(faults & CONTACTOR_FAULTS)
            if name == "Active":
                state = self._connector(evse)
                return state is not None and state[0] is ConnectorStatus.CHARGING
        if part == "RCD" and name == "Tripped":
            return Fault.RCD in self._faults(evse)
        if part == "EmergencyStopSensor" and name == "Active":
            return Fault.EMERGENCY_STOP in self._faults(evse)
        if part == "TemperatureSensor":
            faults = self._faults()
            if name in ("Available", "Active"):
                return Fault.TEMP_SENSOR not in faults
            if name == "Problem":
                return Fault.TEMP_SENSOR in faults
            if name == "Temperature":
                evse_ids = list(self.station.evses())
                return self._measured(evse_ids[0], "Temperature") if evse_ids else None
        if part in ("TokenReader", "Display", "Controller"):
            return {"Available": True, "Problem": False}.get(name)
        network = self.services.network
        if part == "OCPPCommCtrlr" and name == "ActiveNetworkProfile":
            return network.active_slot if network is not None and network.active_slot is not None else 1
        if part == "ClockCtrlr" and name == "DateTime":
            return self.services.clock.iso()
        if part == "SecurityCtrlr":
            if name == "SecurityProfile":  # of the connection in use (its network profile's)
                return network.security_profile if network is not None else self.services.security.profile
            if name == "AdditionalRootCertificateCheck":
                return self.services.security.additional_root_certificate_check
            if name == "CertificateEntries":
                certificates = self.services.security.certificates
                return sum(len(certificates.ids(kind)) for kind in RootKind)
        if part == "LocalAuthListCtrlr" and name == "Entries":
            return max(0, self.services.local_auth.list_size())
        if part == "SmartChargingCtrlr" and name == "Entries":
            return self.services.charging_limits.count()
        if part == "DisplayMessageCtrlr" and name == "DisplayMessages":
            stored = getattr(self.services.user_info, "display_messages", None)  # O01: set by SetDisplayMessage
            return len(stored.all()) if stored is not None else 0
        log.debug("live value %s.%s not known", component, variable)
        return None

    def write(self, component: Component, variable: Variable, value: Any) -> None:
        if component.name == "SecurityCtrlr" and variable.name == "BasicAuthPassword":
            # A01: the password of security profiles 1 and 2, write-only; refused over a link
            # without TLS unless the operator allows it (agent/security/link_security.py).
            # Its bytes are what HTTP Basic sends (1.6's AuthorizationKey is the same bytes, in hex).
            security = self.services.security
            why = security.certificate_operations_refused() or security.set_authorization_key(
                str(value).encode().hex(), PASSWORD_BYTES)
            if why is not None:
                raise ValueRejected(why)
            return
        raise ValueRejected(f"{component.name}.{variable.name} cannot be set here")

