"""CSMS → station requests of OCPP 2.0.1, one handler object per functional block (Part 2
§1). Each sees the station only through its ``StationPort``, the neutral services and the
device model; their ``@on`` / ``@after`` methods are merged into the library's route map per
connection (agent/ocppj/connection.py).

As in 1.6, the library awaits each handler before it reads the next frame, so a handler never
makes a CALL itself: follow-up messages (NotifyReport, a triggered message, ...) go out from
``@after`` hooks, which the library runs once the answer is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.core.identity import IdToken
from agent.ocpp201.handlers.certificates import CertificateHandlers
from agent.ocpp201.handlers.display_messages import DisplayMessageHandlers
from agent.ocpp201.handlers.diagnostics import DiagnosticsHandlers
from agent.ocpp201.handlers.firmware import FirmwareHandlers
from agent.ocpp201.handlers.local_auth import LocalAuthHandlers
from agent.ocpp201.handlers.monitoring import MonitoringHandlers
from agent.ocpp201.handlers.provisioning import ProvisioningHandlers
from agent.ocpp201.handlers.remote_control import RemoteControlHandlers
from agent.ocpp201.handlers.reservation import ReservationHandlers
from agent.ocpp201.handlers.security import SecurityHandlers
from agent.ocpp201.handlers.smart_charging import (
    SmartChargingHandlers,
    remote_start_profile,
)
from agent.ocpp201.handlers.tariff_cost import TariffCostHandlers

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter


class Handlers:
    """Every handler of the adapter; ``for_connection`` makes fresh ones for the state a
    connection keeps (reports accepted and not sent yet, triggered messages)."""

    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self._adapter = adapter

    def for_connection(self) -> list[object]:
        adapter = self._adapter
        return [
            ProvisioningHandlers(adapter),
            RemoteControlHandlers(adapter),
            LocalAuthHandlers(adapter.services.local_auth),
            SecurityHandlers(adapter),
            CertificateHandlers(adapter),
            FirmwareHandlers(adapter),
            ReservationHandlers(adapter),
            DisplayMessageHandlers(adapter),
            SmartChargingHandlers(adapter),
            TariffCostHandlers(adapter),
            DiagnosticsHandlers(adapter),
            MonitoringHandlers(adapter),
        ]

    def remote_start_profile(self, profile: dict[str, Any], token: IdToken, evse_id: int | None) -> bool:
        """F01.FR.08-12: a TxProfile given with RequestStartTransaction, kept for the transaction
        it starts; False when it cannot be taken (block K, smart charging)."""
        return remote_start_profile(self._adapter, profile, token, evse_id)


def build_handlers(adapter: Ocpp201Adapter) -> Handlers:
    return Handlers(adapter)
