"""I²C buses behind :class:`drivers.interfaces.I2cBus`: smbus2 on a Pi, or the simulator's bus over TCP.

``SmbusI2c("/dev/i2c-1")``: every smbus2 call blocks (an ioctl), so all of them run on one
worker thread of their own; that thread also serialises the devices on the bus.

``TcpI2c("127.0.0.1:5021")``: the simulator's bus (simulator/wire/i2c.py). The framed protocol
mirrors Linux ``i2c_rdwr`` (one transfer = messages to one address, repeated starts between):

    request   u16 length (big-endian) | addr u8 | count u8 | count × message
              message: kind u8 (0 write, 1 read) | len u16 | data (writes only)
    reply     u16 length | status u8 | the bytes of every read message, in order
              status: 0 done, 1 no acknowledge (no device at addr, or it is silent),
                      2 malformed request

A transfer gets one reply; a connection carries any number of them, one at a time. So a
transfer that ends without reading its reply (cancelled by its caller's timeout, as a PN532
status poll is) or reads one that does not fit its request closes the connection: on it
the next transfer would read the reply meant for this one, and every later one the reply
of the one before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import struct
from collections.abc import Sequence

from drivers.interfaces import DeviceError, DeviceUnavailable

SMBUS_BLOCK_MAX = 32  # SMBus / i2c-dev block transfers
WRITE, READ = 0, 1
STATUS_OK, STATUS_NACK, STATUS_BAD = 0, 1, 2
MAX_FRAME = 8192  # a full 128×64 SSD1306 frame is 1025 bytes


def _check(addr: int) -> None:
    if not 0x03 <= addr <= 0x77:
        raise ValueError(f"I2C address 0x{addr:02X} is outside 0x03-0x77")


class SmbusI2c:
    """A kernel I²C adapter through smbus2 (``/dev/i2c-N``)."""

    def __init__(self, device: str = "/dev/i2c-1") -> None:
        self.device = device
        self._bus = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="i2c")

    async def _run(self, addr: int, fn, *args):
        _check(addr)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._call, fn, args)
        except OSError as exc:  # ENXIO / EREMOTEIO: no acknowledge; ETIMEDOUT: stuck bus
            raise DeviceUnavailable(f"{self.device} 0x{addr:02X}: {exc.strerror or exc}") from exc

    def _call(self, fn, args):  # on the worker thread
        if self._bus is None:
            from smbus2 import SMBus

            self._bus = SMBus(self.device)  # FileNotFoundError without I2C: an OSError
        return fn(self._bus, *args)

    async def write_block(self, addr: int, reg: int, data: bytes) -> None:
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"block writes carry at most {SMBUS_BLOCK_MAX} bytes")
        await self._run(addr, lambda bus: bus.write_i2c_block_data(addr, reg, list(data)))

    async def read_block(self, addr: int, reg: int, n: int) -> bytes:
        if not 0 < n <= SMBUS_BLOCK_MAX:
            raise ValueError(f"block reads carry 1-{SMBUS_BLOCK_MAX} bytes")
        return bytes(await self._run(addr, lambda bus: bus.read_i2c_block_data(addr, reg, n)))

    async def write(self, addr: int, data: bytes) -> None:
        from smbus2 import i2c_msg

        await self._run(addr, lambda bus: bus.i2c_rdwr(i2c_msg.write(addr, bytes(data))))

    async def read(self, addr: int, n: int) -> bytes:
        from smbus2 import i2c_msg

        def transfer(bus):
            msg = i2c_msg.read(addr, n)
            bus.i2c_rdwr(msg)
            return bytes(msg)

        return await self._run(addr, transfer)

    async def close(self) -> None:
        def close_bus():
            if self._bus is not None:
                self._bus.close()
                self._bus = None

        await asyncio.get_running_loop().run_in_executor(self._pool, close_bus)
        self._pool.shutdown(wait=False)


def encode_transfer(addr: int, messages: Sequence[tuple[int, bytes | int]]) -> bytes:
    """``[(WRITE, data) | (READ, n)]`` → one request frame."""
    body = bytearray([addr, len(messages)])
    for kind, payload in messages:
        if kind == WRITE:
            body += struct.pack("!BH", WRITE, len(payload)) + bytes(payload)
        else:
            body += struct.pack("!BH", READ, payload)
    if len(body) > MAX_FRAME:
        raise ValueError(f"transfer of {len(body)} bytes is over {MAX_FRAME}")
    return struct.pack("!H", len(body)) + body


class TcpI2c:
    """The simulator's I²C bus over its framed TCP protocol (module docstring)."""

    def __init__(self, endpoint: str, timeout_s: float = 0.5) -> None:
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{endpoint!r}: expected host:port")
        self.host, self.port = host, int(port)
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def transfer(self, addr: int, messages: Sequence[tuple[int, bytes | int]]) -> bytes:
        _check(addr)
        frame = encode_transfer(addr, messages)
        want = sum(n for kind, n in messages if kind == READ)
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout_s):
                    if self._writer is None:
                        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                    self._writer.write(frame)
                    await self._writer.drain()
                    (length,) = struct.unpack("!H", await self._reader.readexactly(2))
                    reply = await self._reader.readexactly(length)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                await self._drop()
                raise DeviceUnavailable(f"i2c {self.host}:{self.port}: {exc!r}") from exc
            except BaseException:  # cancelled: its reply may be on its way (module docstring)
                self._abandon()
                raise
            status, data = (reply[0], reply[1:]) if reply else (STATUS_BAD, b"")
            if status == STATUS_NACK:
                raise DeviceUnavailable(f"i2c 0x{addr:02X}: no acknowledge")
            if status != STATUS_OK or len(data) != want:
                if status == STATUS_OK:  # the reply of another transfer: the stream is out of step
                    self._abandon()
                raise DeviceError(f"i2c 0x{addr:02X}: bad reply (status {status}, {len(data)} of {want} bytes)")
        return data

    def _abandon(self) -> None:
        """Close the connection without waiting (the next transfer opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def _drop(self) -> None:
        writer = self._writer
        self._abandon()
        if writer is not None:
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def write_block(self, addr: int, reg: int, data: bytes) -> None:
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"block writes carry at most {SMBUS_BLOCK_MAX} bytes")
        await self.transfer(addr, [(WRITE, bytes([reg]) + bytes(data))])

    async def read_block(self, addr: int, reg: int, n: int) -> bytes:
        if not 0 < n <= SMBUS_BLOCK_MAX:
            raise ValueError(f"block reads carry 1-{SMBUS_BLOCK_MAX} bytes")
        return await self.transfer(addr, [(WRITE, bytes([reg])), (READ, n)])

    async def write(self, addr: int, data: bytes) -> None:
        await self.transfer(addr, [(WRITE, bytes(data))])

    async def read(self, addr: int, n: int) -> bytes:
        return await self.transfer(addr, [(READ, n)])

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


def open_bus(device: str = "", sim: str = "", timeout_s: float = 0.5):
    """The bus the config names: a kernel adapter (``device``) or the simulator's (``sim``)."""
    if bool(device) == bool(sim):
        raise ValueError("name exactly one of device and sim")
    return SmbusI2c(device) if device else TcpI2c(sim, timeout_s=timeout_s)
