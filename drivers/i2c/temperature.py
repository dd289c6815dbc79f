"""I²C temperature sensors — docs/hardware/tmp102-lm75.md#reading (Linux hwmon lm75.c / tmp102.c).

Both keep the temperature in register 0x00 as a 16-bit two's-complement value, MSB
first and left-aligned; it is read as an I²C block read of 2 bytes (no SMBus word read:
that would come little-endian and need swapping).

- LM75 family (0x48-0x4F): ``°C = (s16 >> (16 − res)) / 2^(res − 8)`` with res = 9 for
  the LM75, 11 for the LM75B, 12 for the TMP75/TMP275; the bits below res are undefined.
- TMP102: 12 bits (``raw >> 4`` × 0.0625 °C), or 13 bits (``raw >> 3``) in extended
  mode — bit 4 (EM) of the second byte of the 16-bit config register 0x01.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.interfaces import DeviceError, I2cBus
from drivers.registry import (
    Context,
    DriverSpec,
    I2cOptions,
    Kind,
    OptionError,
    check_i2c_address,
)

TEMPERATURE, CONFIG = 0x00, 0x01
PLAUSIBLE_C = (-55.0, 150.0)  # both parts' full range; outside it the answer is garbage


def _s16(data: bytes) -> int:
    if len(data) != 2:
        raise DeviceError(f"temperature register: {len(data)} bytes, not 2")
    return int.from_bytes(data, "big", signed=True)


def _plausible(celsius: float, where: str) -> float:
    if not PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
        raise DeviceError(f"{where}: {celsius:.2f} °C is outside the sensor's range")
    return celsius


class Lm75Sensor:
    def __init__(self, bus: I2cBus, address: int = 0x48, resolution_bits: int = 9) -> None:
        if not 9 <= resolution_bits <= 12:
            raise ValueError("LM75 family resolution is 9-12 bits")
        self.bus, self.address, self.resolution_bits = bus, address, resolution_bits

    async def read_celsius(self) -> float:
        raw = _s16(await self.bus.read_block(self.address, TEMPERATURE, 2))
        res = self.resolution_bits
        return _plausible((raw >> (16 - res)) / 2 ** (res - 8), f"LM75 0x{self.address:02X}")

    async def close(self) -> None:
        pass


class Tmp102Sensor:
    def __init__(self, bus: I2cBus, address: int = 0x48) -> None:
        self.bus, self.address = bus, address
        self._extended: bool | None = None  # EM bit, read once

    async def read_celsius(self) -> float:
        if self._extended is None:
            config = await self.bus.read_block(self.address, CONFIG, 2)
            if len(config) != 2:
                raise DeviceError(f"TMP102 config register: {len(config)} bytes, not 2")
            self._extended = bool(config[1] & 0x10)
        raw = _s16(await self.bus.read_block(self.address, TEMPERATURE, 2))
        celsius = (raw >> 3) * 0.0625 if self._extended else (raw >> 4) * 0.0625
        return _plausible(celsius, f"TMP102 0x{self.address:02X}")

    async def close(self) -> None:
        pass


@dataclass(frozen=True)
class Tmp102Options(I2cOptions):
    address: int = 0x48


@dataclass(frozen=True)
class Lm75Options(I2cOptions):
    address: int = 0x48
    resolution_bits: int = 9  # LM75: 9, LM75B: 11, TMP75: 12


def _check_lm75(o: Lm75Options, context: Context) -> None:
    check_i2c_address(o, context)
    if not 9 <= o.resolution_bits <= 12:
        raise OptionError("resolution_bits", "must be 9-12")


TMP102 = DriverSpec(name="tmp102", kind=Kind.TEMPERATURE, options=Tmp102Options, check=check_i2c_address,
                    build=lambda o, wiring: Tmp102Sensor(wiring.i2c(), o.address), summary="TI TMP102 on I2C")
LM75 = DriverSpec(name="lm75", kind=Kind.TEMPERATURE, options=Lm75Options, check=_check_lm75,
                  build=lambda o, wiring: Lm75Sensor(wiring.i2c(), o.address, resolution_bits=o.resolution_bits),
                  summary="LM75 / LM75B / TMP75 on I2C")
