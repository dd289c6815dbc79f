"""A loopback OCPP 1.6J backend that answers every CALL at once and notes when each frame
arrived (wall clock ``time.time()``, comparable with the agent's log timestamps) and when
its answer left.

``python -m tests.benchmarks.backend`` runs it alone (for the scale benchmark) and prints
``PORT <n>``, then ``STATS {...}`` on SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from websockets.asyncio.server import ServerConnection, serve


@dataclass
class Frame:
    received: float  # time.time() when it arrived
    path: str  # the charge point's URL path
    frame: list
    answered: float | None = None  # time.time() when our answer was sent


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LoopbackCsms:
    def __init__(self, *, heartbeat_interval: int = 300, record: bool = True) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.record = record  # False: count only (the scale benchmark's thousands of chargers)
        self.delay_s: dict[str, float] = {}  # action -> seconds to wait before answering
        self.frames: list[Frame] = []
        self.count = 0
        self.connections: dict[str, ServerConnection] = {}
        self._changed = asyncio.Event()
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._tx_ids = itertools.count(1000)
        self._server = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self._server = await serve(self._handle, "127.0.0.1", port, subprotocols=["ocpp1.6"],
                                   ping_interval=None, max_queue=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path
        self.connections[path] = ws
        try:
            async for text in ws:
                received = time.time()
                frame = json.loads(text)
                self.count += 1
                entry = Frame(received, path, frame)
                if self.record:
                    self.frames.append(entry)
                    self._changed.set()
                if frame[0] == 2:
                    if frame[2] in self.delay_s:
                        await asyncio.sleep(self.delay_s[frame[2]])  # a slow backend, on purpose
                    await ws.send(json.dumps([3, frame[1], self._answer(frame[2], frame[3])]))
                    entry.answered = time.time()
                elif frame[1] in self._pending:
                    self._pending.pop(frame[1]).set_result(frame)
        except Exception:  # a charger that goes away is not the backend's problem
            pass
        finally:
            if self.connections.get(path) is ws:
                del self.connections[path]

    def _answer(self, action: str, payload: dict) -> dict:
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": _now_iso(), "interval": self.heartbeat_interval}
        if action == "Heartbeat":
            return {"currentTime": _now_iso()}
        if action == "Authorize":
            return {"idTagInfo": {"status": "Accepted"}}
        if action == "StartTransaction":
            return {"transactionId": next(self._tx_ids), "idTagInfo": {"status": "Accepted"}}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}} if payload.get("idTag") else {}
        return {}

    # ---- for the benchmarks --------------------------------------------------------

    async def call(self, path: str, action: str, payload: dict, timeout: float = 10.0) -> list:
        """Send a CALL to the charger on ``path``; its CALLRESULT/CALLERROR frame."""
        unique_id = f"bench-{next(self._ids)}"
        reply = asyncio.get_running_loop().create_future()
        self._pending[unique_id] = reply
        await self.connections[path].send(json.dumps([2, unique_id, action, payload]))
        return await asyncio.wait_for(reply, timeout)

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 20.0, after: int = 0) -> Frame:
        async with asyncio.timeout(timeout):
            seen = after
            while True:
                for entry in self.frames[seen:]:
                    if predicate(entry):
                        return entry
                seen = len(self.frames)
                self._changed.clear()
                await self._changed.wait()

    def calls(self, action: str, after: int = 0) -> list[Frame]:
        return [f for f in self.frames[after:] if f.frame[0] == 2 and f.frame[2] == action]


def is_call(action: str, **fields) -> Callable[[Frame], bool]:
    def match(entry: Frame) -> bool:
        f = entry.frame
        return f[0] == 2 and f[2] == action and all(f[3].get(k) == v for k, v in fields.items())

    return match


async def _serve_alone() -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # one socket per charger of a fleet
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # Thousands of connections: the default thresholds make the collector scan them all every
    # few seconds, a pause of about a second each with 10,000 (tests/benchmarks/fleet.py).
    import gc

    gc.set_threshold(100_000)
    csms = LoopbackCsms(record=False)
    await csms.start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"PORT {csms.port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print("STATS " + json.dumps({"frames": csms.count}), flush=True)
    await csms.stop()


if __name__ == "__main__":
    asyncio.run(_serve_alone())
