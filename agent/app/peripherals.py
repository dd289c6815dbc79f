"""The I²C peripherals from the config: the bus, the displays and the temperature guard.

The PN532 card reader is built in ``agent.app.composition.build_hardware`` with the other readers;
it uses the bus made here.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from agent.app.config import AgentConfig

if TYPE_CHECKING:
    from agent.ui.displays import ScreenNotes
    from agent.station.station import Station
    from drivers.interfaces import I2cBus

BUS_KEY = "i2c:bus"  # its key among the buses the composition root closes


def build_i2c_bus(config: AgentConfig) -> I2cBus | None:
    bus = config.i2c
    if not (bus.device or bus.sim):
        return None
    from drivers.bus.i2c import open_bus

    return open_bus(device=bus.device, sim=bus.sim, timeout_s=bus.timeout_s)


def build_temperature_sensor(config: AgentConfig, bus: I2cBus):
    t = config.temperature
    if t.kind == "tmp102":
        from drivers.i2c.temperature import Tmp102Sensor

        return Tmp102Sensor(bus, t.address)
    from drivers.i2c.temperature import Lm75Sensor

    return Lm75Sensor(bus, t.address, resolution_bits=t.resolution_bits)


def build_peripherals(config: AgentConfig, station: Station, bus: I2cBus | None,
                      notes: ScreenNotes | None = None) -> list[Coroutine[Any, Any, None]]:
    """What must run for the displays and the thermal guard (nothing without an I²C bus)."""
    if bus is None:
        return []
    work = []
    if config.displays:
        from agent.ui.displays import DisplayRunner, ScreenNotes, qr_payload
        from drivers.i2c.ssd1306 import Ssd1306Display

        notes = notes or ScreenNotes()
        for section in config.displays:
            display = Ssd1306Display(bus, section.address, height=section.height)
            runner = DisplayRunner(
                station, display, section.connector, notes,
                qr=qr_payload(section.qr_url, config.charge_point.id, section.connector),
                refresh_s=section.refresh_s,
            )
            work.append(runner.run())
    if config.temperature.kind != "none":
        from agent.station.thermal import ThermalGuard, ThermalLimits

        t = config.temperature
        limits = ThermalLimits(t.derate_above_c, t.stop_above_c, t.hysteresis_c)
        guard = ThermalGuard(station, build_temperature_sensor(config, bus), limits, interval_s=t.interval_s)
        work.append(guard.run())
    return work
