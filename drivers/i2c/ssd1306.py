"""SSD1306 128×64 (or 128×32) OLED on I²C — docs/hardware/ssd1306.md#i2c (after luma.oled).

Every write starts with a control byte: 0x00 = the rest are commands, 0x40 = the rest are
display RAM data. Commands go as SMBus block writes (≤ 32 bytes, ``write_block(addr, 0x00,
cmds)``); a frame is sent as one plain write (i2c_rdwr) of 0x40 + W×H/8 bytes in page-major
order, after setting the column and page window (horizontal addressing mode).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from drivers.bitmap import Bitmap
from drivers.interfaces import I2cBus
from drivers.registry import DriverSpec, I2cOptions, Kind, check_i2c_address

log = logging.getLogger(__name__)

CONTROL_COMMANDS = 0x00
CONTROL_DATA = 0x40
DISPLAY_OFF, DISPLAY_ON = 0xAE, 0xAF
COMMAND_CHUNK = 31  # one control byte + 31 commands = a 32-byte SMBus block

# luma.oled's init for 128×64; 128×32 differs in the multiplex ratio and COM pins.
INIT = {
    64: [0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00, 0xA1, 0xC8, 0xDA, 0x12,
         0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6, 0x81, 0xCF],
    32: [0xAE, 0xD5, 0x80, 0xA8, 0x1F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00, 0xA1, 0xC8, 0xDA, 0x02,
         0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6, 0x81, 0xCF],
}


class Ssd1306Display:
    """``Display`` on an SSD1306; the init sequence is sent before the first picture and again
    after any failed write (the module may have lost power). Every ``reassert_s`` the settings
    are sent again before a picture (without switching the panel off): a module that lost
    power unnoticed lights up again."""

    def __init__(self, bus: I2cBus, address: int = 0x3C, width: int = 128, height: int = 64,
                 contrast: int = 0xCF, reassert_s: float = 60.0) -> None:
        if height not in INIT or width != 128:
            raise ValueError(f"{width}x{height}: the SSD1306 driver knows 128x64 and 128x32")
        self.bus = bus
        self.address = address
        self.width, self.height = width, height
        self.contrast = contrast
        self.reassert_s = reassert_s
        self._ready = False
        self._asserted_at = 0.0

    async def command(self, *cmds: int) -> None:
        for i in range(0, len(cmds), COMMAND_CHUNK):
            await self.bus.write_block(self.address, CONTROL_COMMANDS, bytes(cmds[i : i + COMMAND_CHUNK]))

    async def init(self) -> None:
        sequence = INIT[self.height][:-1] + [self.contrast]
        await self.command(*sequence)
        await self._write_frame(bytes(self.width * self.height // 8))  # clear the RAM, then light up
        await self.command(DISPLAY_ON)
        self._ready = True
        self._asserted_at = time.monotonic()

    async def _write_frame(self, data: bytes) -> None:
        await self.command(0x21, 0, self.width - 1, 0x22, 0, self.height // 8 - 1)
        await self.bus.write(self.address, bytes([CONTROL_DATA]) + data)

    async def show(self, image: Bitmap) -> None:
        if (image.width, image.height) != (self.width, self.height):
            raise ValueError(f"a {image.width}x{image.height} picture on a {self.width}x{self.height} display")
        try:
            if not self._ready:
                await self.init()
            elif time.monotonic() >= self._asserted_at + self.reassert_s:
                await self.command(*INIT[self.height][1:-1], self.contrast, DISPLAY_ON)
                self._asserted_at = time.monotonic()
            await self._write_frame(image.pages())
        except Exception:
            self._ready = False
            raise

    async def show_neutral(self) -> None:
        await self.show(Bitmap(self.width, self.height))

    async def close(self) -> None:
        """Leave the panel dark (0xAE: display off), so a stopped agent shows nothing stale."""
        if self._ready:
            await self.command(DISPLAY_OFF)
            self._ready = False


@dataclass(frozen=True)
class Ssd1306Options(I2cOptions):
    address: int = 0x3C
    height: Literal[64, 32] = 64


SPEC = DriverSpec(
    name="ssd1306",
    kind=Kind.DISPLAY,
    options=Ssd1306Options,
    build=lambda o, wiring: Ssd1306Display(wiring.i2c(), o.address, height=o.height),
    check=check_i2c_address,
    summary="SSD1306 128x64 / 128x32 OLED on I2C",
)
