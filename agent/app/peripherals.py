"""The I²C peripherals from the config: the bus, the displays and the temperature guard.

The PN532 card reader is built with the other devices (agent/app/hardware.py); it uses
the bus made here.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from agent.app.config import AgentConfig
from drivers import registry

if TYPE_CHECKING:
    from agent.ui.displays import ScreenNotes
    from agent.station.station import Station
    from drivers.interfaces import I2cBus

def build_i2c_bus(config: AgentConfig) -> I2cBus | None:
    bus = config.i2c
    if not (bus.device or bus.sim):
        return None
    from drivers.bus.i2c import open_bus

    return open_bus(device=bus.device, sim=bus.sim, timeout_s=bus.timeout_s)


def build_peripherals(config: AgentConfig, station: Station, bus: I2cBus | None,
                      notes: ScreenNotes | None = None) -> list[Coroutine[Any, Any, None]]:
    """What must run for the displays and the thermal guard (nothing without an I²C bus)."""
    if bus is None:
        return []
    work = []
    if config.displays:
        from agent.ui.displays import DisplayRunner, ScreenNotes, qr_payload

        notes = notes or ScreenNotes()
        for section in config.displays:
            display = registry.spec(section.driver).build(section.options, registry.BusWiring({}, bus))
            runner = DisplayRunner(
                station, display, section.connector, notes,
                qr=qr_payload(section.qr_url, config.charge_point.id, section.connector),
                refresh_s=section.refresh_s,
            )
            work.append(runner.run())
    if config.temperature.driver != "none":
        from agent.station.thermal import ThermalGuard, ThermalLimits

        t = config.temperature
        limits = ThermalLimits(t.derate_above_c, t.stop_above_c, t.hysteresis_c)
        sensor = registry.spec(t.driver).build(t.options, registry.BusWiring({}, bus))
        guard = ThermalGuard(station, sensor, limits, interval_s=t.interval_s)
        work.append(guard.run())
    return work
