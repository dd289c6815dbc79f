"""Temperature sensor twins on I²C: TMP102 and LM75 (docs/hardware/tmp102-lm75.md#pointer-register).

Both have a pointer register: the first byte of a write selects the register, further
bytes write it (MSB first); a read returns the selected register from its MSB.

- LM75: 0x00 temperature (16 bits, left-aligned, 9 significant: 0.5 °C), 0x01 config
  (8 bits, bit 0 shutdown), 0x02 THYST (75 °C → 80 °C TOS defaults), 0x03 TOS.
- TMP102: 0x00 temperature (12 bits left-aligned, 0.0625 °C; 13 bits in extended mode,
  EM = bit 4 of the config's second byte, then bit 0 of the LSB is 1), 0x01 config
  (16 bits, power-on 0x60A0), 0x02 TLOW, 0x03 THIGH.
"""

from __future__ import annotations


class _PointerChip:
    def __init__(self, registers: dict[int, int], widths: dict[int, int]) -> None:
        self.registers = registers
        self.widths = widths  # bytes per register
        self.pointer = 0
        self.celsius = 25.0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.pointer = data[0] & 0x03
        if len(data) > 1 and self.pointer != 0:  # the temperature register is read-only
            width = self.widths[self.pointer]
            value = int.from_bytes(data[1 : 1 + width].ljust(width, b"\x00"), "big")
            self.registers[self.pointer] = value

    def read(self, n: int) -> bytes:
        width = self.widths[self.pointer]
        value = self.temperature_register() if self.pointer == 0 else self.registers[self.pointer]
        data = value.to_bytes(width, "big")
        return (data * (n // width + 1))[:n]  # reading on repeats the register

    def temperature_register(self) -> int:
        raise NotImplementedError


class Lm75Twin(_PointerChip):
    def __init__(self, resolution_bits: int = 9) -> None:
        super().__init__({1: 0x00, 2: 75 << 8, 3: 80 << 8}, {0: 2, 1: 1, 2: 2, 3: 2})
        self.resolution_bits = resolution_bits

    def temperature_register(self) -> int:
        steps = 2 ** (self.resolution_bits - 8)
        counts = max(-(2 ** (self.resolution_bits - 1)), min(2 ** (self.resolution_bits - 1) - 1,
                                                             int(self.celsius * steps // 1)))
        return (counts << (16 - self.resolution_bits)) & 0xFFFF


class Tmp102Twin(_PointerChip):
    def __init__(self) -> None:
        super().__init__({1: 0x60A0, 2: 75 << 8, 3: 80 << 8}, {0: 2, 1: 2, 2: 2, 3: 2})

    @property
    def extended(self) -> bool:
        return bool(self.registers[1] & 0x0010)

    def temperature_register(self) -> int:
        counts = int(self.celsius / 0.0625 // 1)
        if self.extended:
            counts = max(-4096, min(4095, counts))
            return ((counts << 3) | 0x1) & 0xFFFF
        counts = max(-2048, min(2047, counts))
        return (counts << 4) & 0xFFFF


TEMPERATURE_SENSORS = {"tmp102": Tmp102Twin, "lm75": Lm75Twin}
