"""SSD1306 OLED controller twin (written from docs/hardware/ssd1306.md#commands).

I²C: after the address, a control byte ``Co D/C# 0 0 0 0 0 0``: D/C# = 0 commands, 1 data
for display RAM (GDDRAM); Co = 0 means every following byte is of that kind, Co = 1 that
one byte follows and then another control byte.

GDDRAM: 8 pages × 128 columns, one byte = 8 vertical pixels, LSB at the top. Data bytes
land at the (page, column) pointer, which moves by the addressing mode (0x20): horizontal
(0: column, then page, within the 0x21 / 0x22 window), vertical (1: page, then column),
page (2: column only; 0xB0-B7 / 0x00-0x1F set the pointer).

The picture as a viewer sees it (``pixels``): dark while the display is off (0xAE) or the
charge pump is off; 0xA5 lights every pixel; 0xA7 inverts; 0xA1 / 0xC8 (segment remap,
COM scan reversed) are how a module is mounted upright, the other settings mirror it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Commands with their number of argument bytes (SSD1306 datasheet command table).
ARGS = {
    0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0xA8: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1, 0xDB: 1, 0x8D: 1,
    0x26: 6, 0x27: 6, 0x29: 5, 0x2A: 5, 0xA3: 2,
}
HORIZONTAL, VERTICAL, PAGE = 0, 1, 2


class Ssd1306Twin:
    def __init__(self, width: int = 128, height: int = 64) -> None:
        self.width, self.height = width, height
        self.pages_n = height // 8
        self.ram = bytearray(width * self.pages_n)
        self.on = False
        self.charge_pump = False
        self.contrast = 0x7F
        self.entire_on = False  # 0xA5
        self.inverted = False  # 0xA7
        self.seg_remap = False  # 0xA1
        self.com_reversed = False  # 0xC8
        self.start_line = 0
        self.offset = 0
        self.mode = PAGE  # power-on default
        self.col_range = (0, width - 1)
        self.page_range = (0, self.pages_n - 1)
        self.col, self.page = 0, 0
        self.frames = 0  # data writes of a whole screen's worth or more
        self.commands_seen: list[int] = []  # every command byte with its arguments, in order
        self._pending: list[int] = []  # a command waiting for its arguments

    # ---- the I²C side ---------------------------------------------------------------
    def write(self, data: bytes) -> None:
        i = 0
        data_bytes = 0
        while i < len(data):
            control = data[i]
            i += 1
            continuation, is_data = bool(control & 0x80), bool(control & 0x40)
            chunk = data[i : i + 1] if continuation else data[i:]
            i += len(chunk)
            for byte in chunk:
                if is_data:
                    self._ram_write(byte)
                    data_bytes += 1
                else:
                    self._command_byte(byte)
        if data_bytes >= self.width * self.pages_n:
            self.frames += 1

    def read(self, n: int) -> bytes:
        """The I²C interface has no RAM read: a status byte (bit 6 = display off)."""
        return bytes([0x00 if self.on else 0x40]) * n

    # ---- commands --------------------------------------------------------------------
    def _command_byte(self, byte: int) -> None:
        self.commands_seen.append(byte)
        if self._pending:
            self._pending.append(byte)
            if len(self._pending) == ARGS[self._pending[0]] + 1:
                cmd, *args = self._pending
                self._pending = []
                self._apply(cmd, args)
            return
        if byte in ARGS:
            self._pending = [byte]
            return
        self._apply(byte, [])

    def _apply(self, cmd: int, args: list[int]) -> None:
        if cmd == 0x81:
            self.contrast = args[0]
        elif cmd in (0xA4, 0xA5):
            self.entire_on = cmd == 0xA5
        elif cmd in (0xA6, 0xA7):
            self.inverted = cmd == 0xA7
        elif cmd in (0xAE, 0xAF):
            self.on = cmd == 0xAF
        elif cmd == 0x20:
            self.mode = args[0] & 0x03 if args[0] & 0x03 != 3 else PAGE
        elif cmd == 0x21:
            self.col_range = (args[0] & 0x7F, args[1] & 0x7F)
            self.col = self.col_range[0]
        elif cmd == 0x22:
            self.page_range = (args[0] & 0x07, args[1] & 0x07)
            self.page = self.page_range[0]
        elif 0x40 <= cmd <= 0x7F:
            self.start_line = cmd & 0x3F
        elif cmd in (0xA0, 0xA1):
            self.seg_remap = cmd == 0xA1
        elif cmd in (0xC0, 0xC8):
            self.com_reversed = cmd == 0xC8
        elif cmd == 0xD3:
            self.offset = args[0] & 0x3F
        elif cmd == 0x8D:
            self.charge_pump = bool(args[0] & 0x04)
        elif 0xB0 <= cmd <= 0xB7:
            self.page = cmd & 0x07
        elif cmd <= 0x0F:
            self.col = (self.col & 0xF0) | cmd
        elif 0x10 <= cmd <= 0x1F:
            self.col = (self.col & 0x0F) | ((cmd & 0x0F) << 4)
        # 0xA8 mux, 0xD5 clock, 0xD9 pre-charge, 0xDA COM pins, 0xDB VCOMH, scrolling, 0xE3 NOP:
        # accepted, no effect on the picture here.

    def _ram_write(self, byte: int) -> None:
        if self.page < self.pages_n and self.col < self.width:
            self.ram[self.page * self.width + self.col] = byte
        (c0, c1), (p0, p1) = self.col_range, self.page_range
        if self.mode == HORIZONTAL:
            if self.col >= c1:
                self.col = c0
                self.page = p0 if self.page >= p1 else self.page + 1
            else:
                self.col += 1
        elif self.mode == VERTICAL:
            if self.page >= p1:
                self.page = p0
                self.col = c0 if self.col >= c1 else self.col + 1
            else:
                self.page += 1
        else:
            self.col = c0 if self.col >= c1 else self.col + 1

    # ---- what a viewer sees -----------------------------------------------------------
    def ram_pixel(self, col: int, row: int) -> bool:
        return bool(self.ram[(row // 8) * self.width + col] >> (row % 8) & 1)

    def pixels(self) -> list[list[bool]]:
        """Rows top to bottom of the lit pixels, for a module mounted upright (0xA1, 0xC8)."""
        lit = self.on and self.charge_pump
        out = []
        for y in range(self.height):
            row = []
            line = (y if self.com_reversed else self.height - 1 - y)
            line = (line + self.start_line + self.offset) % self.height
            for x in range(self.width):
                col = x if self.seg_remap else self.width - 1 - x
                px = self.entire_on or self.ram_pixel(col, line)
                row.append(lit and (px != self.inverted))
            out.append(row)
        return out

    def picture(self) -> dict:
        rows = ["".join("1" if p else "0" for p in row) for row in self.pixels()]
        return {
            "width": self.width,
            "height": self.height,
            "on": self.on and self.charge_pump,
            "contrast": self.contrast,
            "frames": self.frames,
            "rows": rows,
        }
