"""Backend → charge point requests of OCPP 1.6J (§5) and the Security Whitepaper, one handler
object per feature profile. Each takes what it needs in its constructor (the station port,
neutral services, the adapter for follow-up CALLs); their ``@on`` / ``@after`` methods are
merged into the library's route map per connection (agent/ocpp16/connection.py).

The library's receive loop awaits each handler before reading the next frame, so a handler
never makes a CALL itself: follow-up messages go out from ``@after`` hooks (which the
library runs as tasks once the answer is sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.ocpp16.handlers.certificates import CertificateHandlers
from agent.ocpp16.handlers.configuration import ConfigurationHandlers
from agent.ocpp16.handlers.firmware import FirmwareHandlers
from agent.ocpp16.handlers.local_auth import LocalAuthListHandlers
from agent.ocpp16.handlers.remote_control import RemoteControlHandlers
from agent.ocpp16.handlers.reservation import ReservationHandlers
from agent.ocpp16.handlers.smart_charging import SmartChargingHandlers
from agent.ocpp16.handlers.triggers import TriggerHandlers

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter


class Handlers:
    """Every handler of the adapter; ``for_connection`` makes fresh ones for the state a
    connection keeps (requests accepted and not started yet, triggered messages)."""

    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self._adapter = adapter

    def for_connection(self) -> list[object]:
        adapter, services = self._adapter, self._adapter.services
        certificates = CertificateHandlers(adapter)
        return [
            RemoteControlHandlers(adapter),
            ConfigurationHandlers(adapter),
            TriggerHandlers(adapter, certificates),
            LocalAuthListHandlers(services.local_auth),
            ReservationHandlers(adapter.station),
            SmartChargingHandlers(adapter.station, services.charging_limits, services.clock),
            FirmwareHandlers(adapter),
            certificates,
        ]


def build_handlers(adapter: Ocpp16Adapter) -> Handlers:
    return Handlers(adapter)
