"""The pigpio daemon's socket interface (pigpiod, abyz.me.uk/rpi/pigpio/sif.html) over a
:class:`simulator.twins.gpio.GpioBench`, so gpiozero's own ``PiGPIOFactory(host, port)`` drives the
simulated charger's GPIO through the real ``pigpio`` client over TCP.

Request: ``cmd, p1, p2, p3`` (four little-endian uint32), then ``p3`` extension bytes. The
same 16 bytes come back with the result (negative = error) in place of ``p3``. A socket that
sends NOIB becomes a notification stream: 12-byte reports ``seqno (u16), flags (u16),
tick (u32), level (u32)`` whenever a line changes, for the bits chosen with NB on the
command socket. Only the commands gpiozero's digital pins use are served; any other is
answered PI_UNKNOWN_COMMAND.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time

from simulator.twins.gpio import GPIO_COUNT, INPUT, OUTPUT, GpioBench

log = logging.getLogger(__name__)

# sif.html command numbers
MODES, MODEG, PUD, READ, WRITE = 0, 1, 2, 3, 4
BR1, TICK, HWVER, NB, NC, PIGPV, FG, NOIB = 10, 16, 17, 19, 21, 26, 97, 99
# pigpio.h error codes
PI_BAD_GPIO, PI_BAD_MODE, PI_BAD_LEVEL, PI_BAD_PUD = -3, -4, -5, -6
PI_BAD_HANDLE, PI_BAD_FILTER, PI_UNKNOWN_COMMAND = -25, -125, -88
# A Raspberry Pi 4 Model B, 4 GB (new-style revision code)
HARDWARE_REVISION = 0xC03111
PIGPIO_VERSION = 79


class PigpioServer:
    """``await start(host, port)``; ``port`` 0 picks a free one (read :attr:`port`)."""

    def __init__(self, bench: GpioBench):
        self.bench = bench
        self._server: asyncio.Server | None = None
        self._streams: dict[int, tuple[asyncio.StreamWriter, list[int]]] = {}  # handle -> (writer, [bits])
        self._next_handle = 0
        self._seq = 0
        self._t0 = time.monotonic()
        self._clients: set[asyncio.StreamWriter] = set()
        bench.listeners.append(self._levels_changed)

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        return self._server.sockets[0].getsockname()[1]

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._clients):
            writer.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    def _tick(self) -> int:
        return int((time.monotonic() - self._t0) * 1_000_000) & 0xFFFFFFFF

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        handle: int | None = None
        try:
            while True:
                try:
                    request = await reader.readexactly(16)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                cmd, p1, p2, p3 = struct.unpack("<IIII", request)
                if p3:
                    await reader.readexactly(p3)  # an extension: no served command has one
                if cmd == NOIB and handle is None:
                    handle = self._next_handle
                    self._next_handle += 1
                    self._streams[handle] = (writer, [0])
                    writer.write(struct.pack("<IIIi", cmd, p1, p2, handle))
                elif cmd == NC and handle is not None and p1 == handle:
                    return  # the client closes its notification stream
                else:
                    result = self._command(cmd, p1, p2)
                    writer.write(struct.pack("<IIIi", cmd, p1, p2, result))
                await writer.drain()
        finally:
            if handle is not None:
                self._streams.pop(handle, None)
            self._clients.discard(writer)
            writer.close()

    def _command(self, cmd: int, p1: int, p2: int) -> int:
        bench = self.bench
        if cmd in (MODES, MODEG, PUD, READ, WRITE, FG) and not 0 <= p1 < GPIO_COUNT:
            return PI_BAD_GPIO
        if cmd == MODES:
            if p2 not in (INPUT, OUTPUT):
                return PI_BAD_MODE  # alternate functions are not simulated
            bench.set_mode(p1, p2)
            return 0
        if cmd == MODEG:
            return bench.modes[p1]
        if cmd == PUD:
            if p2 > 2:
                return PI_BAD_PUD
            bench.set_pull(p1, p2)
            return 0
        if cmd == READ:
            return bench.read(p1)
        if cmd == WRITE:
            if p2 > 1:
                return PI_BAD_LEVEL
            bench.write(p1, p2)
            return 0
        if cmd == BR1:  # levels of GPIO 0-31
            return bench.level_word()
        if cmd == TICK:
            return self._tick()
        if cmd == HWVER:
            return HARDWARE_REVISION
        if cmd == PIGPV:
            return PIGPIO_VERSION
        if cmd == NB:  # handle, bits: report changes of these lines on that stream
            stream = self._streams.get(p1)
            if stream is None:
                return PI_BAD_HANDLE
            stream[1][0] = p2
            return 0
        if cmd == NC:  # close a notification stream from the command socket
            stream = self._streams.pop(p1, None)
            if stream is None:
                return PI_BAD_HANDLE
            stream[0].close()
            return 0
        if cmd == FG:  # glitch filter: accepted (the simulated lines do not bounce)
            return 0 if p2 <= 300_000 else PI_BAD_FILTER
        return PI_UNKNOWN_COMMAND

    def _levels_changed(self, word: int) -> None:
        """A report to every stream watching a line that changed (flags 0 = level change)."""
        tick = self._tick()
        for writer, bits in list(self._streams.values()):
            if not bits[0]:
                continue
            self._seq = (self._seq + 1) & 0xFFFF
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.write(struct.pack("<HHII", self._seq, 0, tick, word & 0xFFFFFFFF))
