"""An OpenEVSE's RAPI serial line, served over TCP (and optionally a pty via socat).

The agent's driver reaches it as ``socket://127.0.0.1:PORT`` (pyserial URL) or
opens the pty path like a real ``/dev/ttyUSB0``. Frames end with CR. Besides
answering commands, the endpoint pushes ``$AT ...`` to every client whenever the
board's reported state changes (after a command or a change in the model), as
the firmware does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from simulator.model import Fault, SimModel

log = logging.getLogger(__name__)


class RapiEndpoint:
    def __init__(self, model: SimModel, evse_id: int, change_event: Callable[[], asyncio.Event]):
        self.model = model
        self.evse_id = evse_id
        self._change_event = change_event
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._watch: asyncio.Task | None = None
        self._socat: asyncio.subprocess.Process | None = None
        self._last_state: str | None = None
        self._boots = model.evse(evse_id).board.boots
        self.port: int | None = None
        self.link: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0, link: str = "") -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._last_state = self.model.rapi_state_line(self.evse_id)
        self._watch = asyncio.create_task(self._watch_state(), name=f"rapi-{self.evse_id} $AT")
        if link:
            await self._start_pty(link)
        return self.port

    async def _start_pty(self, link: str) -> None:
        """socat joins a pty at ``link`` to the TCP port, byte for byte."""
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat not found: needed for the RAPI pty")
        path = Path(link)
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._socat = await asyncio.create_subprocess_exec(
            socat, f"pty,raw,echo=0,link={path}", f"tcp:127.0.0.1:{self.port}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(250):
            if path.exists():
                break
            await asyncio.sleep(0.02)
        else:
            raise RuntimeError(f"socat did not create {path}")
        self.link = str(path)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._socat is not None and self._socat.returncode is None:
            self._socat.terminate()
            with contextlib.suppress(ProcessLookupError):
                await self._socat.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\r")
                except asyncio.LimitOverrunError:
                    await reader.read(4096)  # garbage without end of frame: drop it
                    continue
                reply = self.model.rapi_command(self.evse_id, line.decode("ascii", "replace"))
                if reply is not None:
                    writer.write(reply.encode("ascii"))
                    await writer.drain()
                self._push_state()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _push_state(self) -> None:
        """Send ``$AB`` after a power-up, and ``$AT`` to every client if the state changed
        (never while comm-faulted)."""
        board = self.model.evse(self.evse_id).board
        if board.boots != self._boots:
            self._boots = board.boots
            if self.model.evse(self.evse_id).fault is not Fault.COMM:
                for writer in list(self._clients):
                    writer.write(board.boot_line().encode("ascii"))
        line = self.model.rapi_state_line(self.evse_id)
        if line == self._last_state:
            return
        self._last_state = line
        if self.model.evse(self.evse_id).fault is Fault.COMM:
            return
        for writer in list(self._clients):
            writer.write(line.encode("ascii"))

    async def _watch_state(self) -> None:
        while True:
            await self._change_event().wait()
            self._push_state()
