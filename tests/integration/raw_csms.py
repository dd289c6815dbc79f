"""A bare OCPP-J peer for frames ocpp-csms cannot send: malformed CALLs, CALLERRORs on
purpose, unknown actions. It answers BootNotification/Heartbeat/StatusNotification itself
and hands everything to the test as raw JSON."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection, serve


class RawCsms:
    def __init__(self, ssl_context=None) -> None:
        self._ssl = ssl_context  # wss:// with this server context
        self.received: list[list] = []  # every frame from the agent, parsed
        self._changed = asyncio.Event()
        self.ws: ServerConnection | None = None
        self.port = 0
        self._server = None
        self._ids = itertools.count(1)
        self._tx_ids = itertools.count(100)
        # action -> function(payload) returning ("result", payload) or ("error", code)
        self.answer: dict[str, Callable[[dict], tuple[str, object]]] = {}
        self.connections = 0

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"], ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.connections += 1
        self._changed.set()
        with contextlib.suppress(Exception):
            async for text in ws:
                frame = json.loads(text)
                self.received.append(frame)
                self._changed.set()
                if frame[0] == 2:
                    await self._reply(ws, frame)

    async def _reply(self, ws, frame) -> None:
        _, unique_id, action, payload = frame
        now = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        if action in self.answer:
            self.current_id = unique_id  # the message being answered, for answer functions
            kind, value = self.answer[action](payload)
            if kind == "hold":  # never answer
                return
            if kind == "error":
                await ws.send(json.dumps([4, unique_id, value, "test", {}]))
                return
            result = value
        elif action == "BootNotification":
            result = {"status": "Accepted", "currentTime": now, "interval": 300}
        elif action == "Heartbeat":
            result = {"currentTime": now}
        elif action in ("Authorize",):
            result = {"idTagInfo": {"status": "Accepted"}}
        elif action == "StartTransaction":
            result = {"transactionId": next(self._tx_ids), "idTagInfo": {"status": "Accepted"}}
        elif action == "StopTransaction":
            result = {}
        else:
            result = {}
        await ws.send(json.dumps([3, unique_id, result]))

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    async def call(self, action: str, payload: dict) -> str:
        unique_id = f"raw-{next(self._ids)}"
        await self.send(json.dumps([2, unique_id, action, payload]))
        return unique_id

    async def wait_for(self, predicate: Callable[[list], bool], timeout: float = 15.0, after: int = 0) -> list:
        async with asyncio.timeout(timeout):
            seen = after
            while True:
                for frame in self.received[seen:]:
                    if predicate(frame):
                        return frame
                seen = len(self.received)
                self._changed.clear()
                await self._changed.wait()

    async def response_to(self, unique_id: str, timeout: float = 10.0) -> list:
        return await self.wait_for(lambda f: f[0] in (3, 4) and f[1] == unique_id, timeout)

    async def connected(self, timeout: float = 20.0) -> None:
        await self.wait_for(lambda f: f[0] == 2 and f[2] == "BootNotification", timeout)

    def calls(self, action: str) -> list[list]:
        return [f for f in self.received if f[0] == 2 and f[2] == action]
