"""The chips on the simulated I²C bus, built from ``[i2c]`` and each ``[[evse]] display_address``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.config import SimConfig
from simulator.wire.i2c import SimI2cBus
from simulator.twins.readers.pn532 import Pn532Twin
from simulator.twins.i2c.ssd1306 import Ssd1306Twin
from simulator.twins.i2c.temperature import TEMPERATURE_SENSORS


class I2cChips:
    def __init__(self, cfg: SimConfig, on_change: Callable[[], None]) -> None:
        self.config = cfg.i2c
        self.bus = SimI2cBus(on_transfer=self._transferred)
        self._on_change = on_change
        self.displays: dict[int, Ssd1306Twin] = {}  # evse id -> its OLED
        self._display_at: dict[int, Ssd1306Twin] = {}
        self._frames: dict[int, int] = {}
        for e in cfg.evses:
            if e.display_address:
                twin = Ssd1306Twin()
                self.displays[e.id] = self._display_at[e.display_address] = twin
                self.bus.attach(e.display_address, twin)
        self.sensor = None
        if self.config.temperature_sensor != "none":
            self.sensor = TEMPERATURE_SENSORS[self.config.temperature_sensor]()
            self.sensor.celsius = self.config.ambient_c
            self.bus.attach(self.config.temperature_address, self.sensor)
        self.nfc = Pn532Twin() if self.config.nfc == "pn532" else None
        if self.nfc is not None:
            self.nfc.on_seen_empty = on_change  # wakes a tap waiting to present the next card
            self.bus.attach(self.config.nfc_address, self.nfc)

    async def start(self) -> None:
        if self.config.listen:
            host, _, port = self.config.listen.rpartition(":")
            await self.bus.start(host, int(port))

    async def stop(self) -> None:
        await self.bus.stop()

    @property
    def port(self) -> int | None:
        return self.bus.port

    def _transferred(self, address: int) -> None:
        twin = self._display_at.get(address)
        if twin is not None and (twin.frames, twin.on) != self._frames.get(address):
            self._frames[address] = (twin.frames, twin.on)
            self._on_change()  # a new picture: wake the page

    def set_temperature(self, celsius: float) -> None:
        if self.sensor is None:
            raise ValueError("no temperature sensor on the simulated I2C bus")
        self.sensor.celsius = float(celsius)
        self._on_change()

    def set_silent(self, address: int, silent: bool) -> None:
        if address not in self.bus.chips:
            raise ValueError(f"no chip at I2C address 0x{address:02X}")
        self.bus.set_silent(address, silent)
        self._on_change()

    def state(self) -> dict[str, Any]:
        return {
            "port": self.bus.port,
            "temperature_c": None if self.sensor is None else self.sensor.celsius,
            "nfc_card": None if self.nfc is None or self.nfc.card is None else self.nfc.card.hex().upper(),
            "silent": sorted(self.bus.silent),
            "displays": {str(evse_id): {"on": d.on and d.charge_pump, "frames": d.frames}
                         for evse_id, d in self.displays.items()},
        }
