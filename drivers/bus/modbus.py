"""One Modbus line (RTU serial or Modbus TCP) shared by every device on it.

``ModbusBus`` owns one pymodbus async client. All requests from all devices go
through one ``asyncio.Lock`` (RS-485 is half duplex; a TCP gateway in front of
an RS-485 line is too). Per unit it keeps

* a minimum interval between accesses (EVSE-DIN: evcc waits 200 ms, openWB
  100 ms — docs/hardware/modbus-rs485.md#pacing), measured from the end of one access to the start
  of the next; another unit may use the bus meanwhile;
* a consecutive-failure count; after ``lost_after`` failures in a row the unit
  is considered lost (``is_lost``).

pymodbus does framing, CRC and float conversion. Its own background reconnect
is switched off (``reconnect_delay=0``); the bus reconnects lazily at the next
request instead, so a dead link costs nothing while nobody asks.

Errors: no answer / link down -> ``DeviceUnavailable``; Modbus exception
response -> ``DeviceError`` (exception code in the message).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType

from drivers.interfaces import DeviceError, DeviceUnavailable

log = logging.getLogger(__name__)

_DT = ModbusClientMixin.DATATYPE
DATATYPE = _DT  # pymodbus' register data types (UINT32, INT16, UINT64, FLOAT32, ...)


def decode_float32(regs: Sequence[int]) -> list[float]:
    """IEEE-754 float32 values, high word first ("ABCD", docs/hardware/eastron-sdm.md#data-format)."""
    value = ModbusClientMixin.convert_from_registers(list(regs), _DT.FLOAT32, word_order="big")
    return list(value) if isinstance(value, list) else [float(value)]  # type: ignore[arg-type]


def decode_values(
    regs: Sequence[int], datatype: ModbusClientMixin.DATATYPE, word_order: str = "big"
) -> list[int | float]:
    """Consecutive ``datatype`` values (pymodbus' conversion), always as a list.

    Big-endian bytes within a register; ``word_order`` "big" = high word first
    (the Modbus convention), "little" = word-swapped.
    """
    size = datatype.value[1]
    if size < 1 or len(regs) % size:
        raise ValueError(f"{len(regs)} registers do not hold whole {datatype.name} values")
    return [
        ModbusClientMixin.convert_from_registers(list(regs[i : i + size]), datatype, word_order=word_order)  # type: ignore[arg-type]
        for i in range(0, len(regs), size)
    ]


def encode_float32(values: Sequence[float]) -> list[int]:
    """Inverse of :func:`decode_float32` (used by tests and simulators)."""
    regs: list[int] = []
    for v in values:
        regs += ModbusClientMixin.convert_to_registers(float(v), _DT.FLOAT32, word_order="big")
    return regs


class ModbusBus:
    """The single owner of one serial line or one Modbus TCP endpoint."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        name: str,
        lost_after: int = 3,
    ) -> None:
        # The pymodbus client is created lazily inside the running loop: its
        # constructor creates asyncio primitives.
        self._factory = client_factory
        self._client: Any = None
        self.name = name
        self.lost_after = lost_after
        self._lock = asyncio.Lock()
        self._unit_locks: dict[int, asyncio.Lock] = {}
        self._min_interval: dict[int, float] = {}
        self._last_access: dict[int, float] = {}
        self._failures: dict[int, int] = {}

    # ---- construction -------------------------------------------------
    @classmethod
    def tcp(
        cls,
        host: str,
        port: int = 502,
        *,
        timeout: float = 1.0,
        retries: int = 1,
        name: str | None = None,
        lost_after: int = 3,
    ) -> ModbusBus:
        def factory() -> AsyncModbusTcpClient:
            return AsyncModbusTcpClient(
                host, port=port, timeout=timeout, retries=retries, reconnect_delay=0
            )

        return cls(factory, name=name or f"tcp:{host}:{port}", lost_after=lost_after)

    @classmethod
    def rtu(
        cls,
        device: str,
        *,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout: float = 1.0,
        retries: int = 1,
        name: str | None = None,
        lost_after: int = 3,
    ) -> ModbusBus:
        """RTU framing on a serial device, or on ``socket://host:port`` (pyserial URL)."""
        parity = parity.upper()
        if parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be N, E or O, not {parity!r}")
        if stopbits not in (1, 2):
            raise ValueError(f"stopbits must be 1 or 2, not {stopbits!r}")
        if bytesize not in (7, 8):
            raise ValueError(f"bytesize must be 7 or 8, not {bytesize!r}")

        def factory() -> AsyncModbusSerialClient:
            return AsyncModbusSerialClient(
                device,
                framer=FramerType.RTU,
                baudrate=baudrate,
                parity=parity,
                stopbits=stopbits,
                bytesize=bytesize,
                timeout=timeout,
                retries=retries,
                reconnect_delay=0,
            )

        return cls(factory, name=name or f"rtu:{device}", lost_after=lost_after)

    # ---- connection ---------------------------------------------------
    async def connect(self) -> None:
        """Open the link now (otherwise it is opened by the first request)."""
        async with self._lock:
            await self._ensure_connected()

    async def close(self) -> None:
        async with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    async def _ensure_connected(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        if not self._client.connected:
            # pymodbus returns False instead of raising
            if not await self._client.connect():
                raise ConnectionException(f"{self.name}: cannot connect")
            log.info("%s: connected", self.name)
        return self._client

    # ---- per-unit bookkeeping -----------------------------------------
    def set_min_interval(self, unit: int, seconds: float) -> None:
        self._min_interval[unit] = max(seconds, self._min_interval.get(unit, 0.0))

    def failures(self, unit: int) -> int:
        """Consecutive failed requests (no answer) to ``unit``."""
        return self._failures.get(unit, 0)

    def is_lost(self, unit: int) -> bool:
        return self.failures(unit) >= self.lost_after

    def device(self, unit: int, min_interval_s: float = 0.0) -> ModbusDevice:
        self.set_min_interval(unit, min_interval_s)
        return ModbusDevice(self, unit)

    # ---- requests -----------------------------------------------------
    async def _call(
        self, unit: int, what: str, op: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        unit_lock = self._unit_locks.setdefault(unit, asyncio.Lock())
        async with unit_lock:
            wait = self._last_access.get(unit, -1e9) + self._min_interval.get(unit, 0.0)
            delay = wait - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing, without holding the bus
            async with self._lock:
                try:
                    client = await self._ensure_connected()
                    response = await op(client)
                except (ModbusIOException, ConnectionException, OSError, asyncio.TimeoutError) as exc:
                    self._note_failure(unit, what, exc)
                    raise DeviceUnavailable(f"{self.name} unit {unit}: {what}: {exc}") from exc
                finally:
                    self._last_access[unit] = time.monotonic()
        if response.isError():
            self._failures[unit] = 0  # it answered: alive
            code = getattr(response, "exception_code", None)
            raise DeviceError(
                f"{self.name} unit {unit}: {what}: Modbus exception code {code}"
            )
        if self._failures.get(unit):
            log.info("%s unit %d: answering again", self.name, unit)
        self._failures[unit] = 0
        return response

    def _note_failure(self, unit: int, what: str, exc: BaseException) -> None:
        n = self._failures.get(unit, 0) + 1
        self._failures[unit] = n
        if n == self.lost_after:
            log.warning("%s unit %d: lost after %d failures (%s: %s)", self.name, unit, n, what, exc)
        else:
            log.debug("%s unit %d: %s failed (%d): %s", self.name, unit, what, n, exc)

    async def read_holding(self, unit: int, address: int, count: int) -> list[int]:
        rr = await self._call(
            unit,
            f"read_holding({address}, {count})",
            lambda c: c.read_holding_registers(address, count=count, device_id=unit),
        )
        return self._check_len(unit, rr.registers, count)

    async def read_input(self, unit: int, address: int, count: int) -> list[int]:
        rr = await self._call(
            unit,
            f"read_input({address}, {count})",
            lambda c: c.read_input_registers(address, count=count, device_id=unit),
        )
        return self._check_len(unit, rr.registers, count)

    async def write_register(self, unit: int, address: int, value: int) -> None:
        """FC06 write single register."""
        await self._call(
            unit,
            f"write_register({address}, {value})",
            lambda c: c.write_register(address, value, device_id=unit),
        )

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """FC16 write multiple registers."""
        vals = list(values)
        await self._call(
            unit,
            f"write_registers({address}, {vals})",
            lambda c: c.write_registers(address, vals, device_id=unit),
        )

    def _check_len(self, unit: int, regs: list[int], count: int) -> list[int]:
        if len(regs) < count:
            raise DeviceError(f"{self.name} unit {unit}: got {len(regs)} registers, wanted {count}")
        return list(regs[:count])


class ModbusDevice:
    """One unit on a :class:`ModbusBus`: the bus methods without ``unit``."""

    def __init__(self, bus: ModbusBus, unit: int) -> None:
        self.bus = bus
        self.unit = unit

    @property
    def is_lost(self) -> bool:
        return self.bus.is_lost(self.unit)

    @property
    def failures(self) -> int:
        return self.bus.failures(self.unit)

    async def read_holding(self, address: int, count: int) -> list[int]:
        return await self.bus.read_holding(self.unit, address, count)

    async def read_input(self, address: int, count: int) -> list[int]:
        return await self.bus.read_input(self.unit, address, count)

    async def write_register(self, address: int, value: int) -> None:
        await self.bus.write_register(self.unit, address, value)

    async def write_registers(self, address: int, values: Sequence[int]) -> None:
        await self.bus.write_registers(self.unit, address, values)

    async def read_input_float32(self, address: int, n: int = 1) -> list[float]:
        """``n`` consecutive float32 input registers (FC04), high word first."""
        return decode_float32(await self.read_input(address, 2 * n))

    async def read_holding_float32(self, address: int, n: int = 1) -> list[float]:
        return decode_float32(await self.read_holding(address, 2 * n))

    def __repr__(self) -> str:
        return f"ModbusDevice({self.bus.name}, unit={self.unit})"
