"""A 1-bit picture: what a monochrome display shows (pure, no I/O).

Pixels are kept one byte each, row-major (``True`` = lit). ``pages()`` packs them the way
the SSD1306 GDDRAM wants them (docs/hardware/ssd1306.md#gddram): page-major, each byte 8 vertical pixels
with the least significant bit at the top.
"""

from __future__ import annotations


class Bitmap:
    def __init__(self, width: int, height: int) -> None:
        if width <= 0 or height <= 0 or height % 8:
            raise ValueError(f"{width}x{height}: the height must be a positive multiple of 8")
        self.width = width
        self.height = height
        self._px = bytearray(width * height)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitmap) and (self.width, self.height, self._px) == (other.width, other.height, other._px)

    def __hash__(self) -> int:
        return hash((self.width, self.height, bytes(self._px)))

    def copy(self) -> Bitmap:
        other = Bitmap(self.width, self.height)
        other._px[:] = self._px
        return other

    def get(self, x: int, y: int) -> bool:
        return bool(self._px[y * self.width + x])

    def set(self, x: int, y: int, on: bool = True) -> None:
        """Pixels outside the picture are clipped."""
        if 0 <= x < self.width and 0 <= y < self.height:
            self._px[y * self.width + x] = on

    def fill_rect(self, x: int, y: int, w: int, h: int, on: bool = True) -> None:
        for yy in range(max(0, y), min(self.height, y + h)):
            start = yy * self.width
            lo, hi = max(0, x), min(self.width, x + w)
            if lo < hi:
                self._px[start + lo : start + hi] = bytes([on]) * (hi - lo)

    def lit(self) -> int:
        """How many pixels are on."""
        return sum(self._px)

    def rows(self) -> list[str]:
        """One string per row, ``'1'`` lit and ``'0'`` dark (for logs and tests)."""
        w = self.width
        return ["".join("1" if p else "0" for p in self._px[y * w : (y + 1) * w]) for y in range(self.height)]

    def pages(self) -> bytes:
        """GDDRAM order: page 0 columns 0..w-1, page 1, ...; bit n of a byte = row 8·page + n."""
        out = bytearray(self.width * self.height // 8)
        w = self.width
        for page in range(self.height // 8):
            base = page * 8 * w
            for x in range(w):
                byte = 0
                for bit in range(8):
                    if self._px[base + bit * w + x]:
                        byte |= 1 << bit
                out[page * w + x] = byte
        return bytes(out)
