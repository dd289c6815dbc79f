"""The simulated I²C bus: chips by 7-bit address, served to the agent over TCP.

A chip twin offers ``write(data: bytes)`` (one write message: what the master clocked out
after the address byte) and ``read(n) -> bytes`` (one read message of ``n`` bytes).
An address with no chip, or a chip made ``silent`` (the ``comm`` fault), does not
acknowledge: the master sees a NACK (on Linux: ENXIO / EREMOTEIO).

Wire protocol (the agent's ``drivers.bus.i2c.TcpI2c`` speaks it), mirroring ``i2c_rdwr``:

    request   u16 length (big-endian) | addr u8 | count u8 | count × message
              message: kind u8 (0 write, 1 read) | len u16 | data (writes only)
    reply     u16 length | status u8 | the bytes of every read message, in order
              status: 0 done, 1 no acknowledge, 2 malformed request

Messages of one request are one transfer (repeated starts between them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

WRITE, READ = 0, 1
OK, NACK, MALFORMED = 0, 1, 2
MAX_REQUEST = 8192


class I2cChip(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, n: int) -> bytes: ...


class SimI2cBus:
    def __init__(self, on_transfer: Callable[[int], None] | None = None) -> None:
        self.chips: dict[int, Any] = {}
        self.silent: set[int] = set()
        self.nacks: dict[int, int] = {}  # address -> transfers not acknowledged
        self.transfers = 0
        self._on_transfer = on_transfer  # called with the address after each transfer
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.port: int | None = None

    def attach(self, address: int, chip: Any) -> None:
        if not 0x03 <= address <= 0x77:
            raise ValueError(f"I2C address 0x{address:02X} is outside 0x03-0x77")
        if address in self.chips:
            raise ValueError(f"I2C address 0x{address:02X} is taken")
        self.chips[address] = chip

    def set_silent(self, address: int, silent: bool = True) -> None:
        """The chip stops (or starts again) acknowledging its address."""
        (self.silent.add if silent else self.silent.discard)(address)

    def transfer(self, address: int, messages: list[tuple[int, bytes | int]]) -> tuple[int, bytes]:
        """Run one transfer; ``(status, read bytes)``."""
        chip = self.chips.get(address)
        if chip is None or address in self.silent:
            self.nacks[address] = self.nacks.get(address, 0) + 1
            return NACK, b""
        out = bytearray()
        for kind, payload in messages:
            if kind == WRITE:
                chip.write(bytes(payload))
            else:
                data = bytes(chip.read(payload))[:payload]
                out += data + bytes(payload - len(data))
        self.transfers += 1
        if self._on_transfer is not None:
            self._on_transfer(address)
        return OK, bytes(out)

    # ---- the TCP endpoint --------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):  # Python 3.11's close() leaves them open
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                try:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                status, data = self._request(body)
                reply = bytes([status]) + data
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    def _request(self, body: bytes) -> tuple[int, bytes]:
        messages = parse_request(body)
        if messages is None:
            log.warning("i2c: malformed request %s", body[:32].hex())
            return MALFORMED, b""
        try:
            return self.transfer(body[0], messages)
        except Exception:  # a twin that chokes must not take the bus down
            log.exception("i2c 0x%02X: twin failed", body[0])
            return MALFORMED, b""


def parse_request(body: bytes) -> list[tuple[int, bytes | int]] | None:
    if len(body) < 2 or len(body) > MAX_REQUEST:
        return None
    count, i, messages = body[1], 2, []
    for _ in range(count):
        if i + 3 > len(body):
            return None
        kind, n = struct.unpack_from("!BH", body, i)
        i += 3
        if kind == WRITE:
            if i + n > len(body):
                return None
            messages.append((WRITE, body[i : i + n]))
            i += n
        elif kind == READ:
            messages.append((READ, n))
        else:
            return None
    return messages if i == len(body) and messages else None
