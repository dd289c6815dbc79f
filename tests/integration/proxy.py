"""A TCP proxy for tests that cut the network between the agent and the backend."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open = True
        self._pipes: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a dead mobile link would."""
        self._open = False
        for writer in list(self._pipes):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._pipes.clear()

    def restore(self) -> None:
        self._open = True

    def freeze(self) -> None:
        """Keep every connection open but pass nothing: a link that died silently
        (a mobile network dropping packets), which only pings can detect."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def wait_connections(self, count: int, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while self.connections < count:
                self._connected.clear()
                await self._connected.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._connected.set()
        self._pipes.update({writer, up_writer})
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            self._pipes.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()
