"""A backend's OCPP traffic, fed to the simulator page (``POST /api/ocpp-log``).

:class:`TappedConnection` sits between the ``ocpp`` library's ChargePoint and the websocket
(the library only calls ``recv()`` and ``send()``) and reports every frame as it passed;
:class:`SimLogFeed` posts those frames to the simulator, in order, from one task, so a slow or
absent simulator never holds up the backend: past :data:`QUEUE_LIMIT` waiting frames, new ones
are dropped, and a failed post is dropped with one log line until posting works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiohttp

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
POST_TIMEOUT_S = 2.0

FrameListener = Callable[[str, str, str], None]  # (charge point id, direction, raw frame text)


class TappedConnection:
    """A websocket connection for ``ocpp.ChargePoint`` that reports each frame to ``listener``."""

    def __init__(self, connection, cp_id: str, listener: FrameListener) -> None:
        self._connection = connection
        self._cp_id = cp_id
        self._listener = listener

    async def recv(self) -> str:
        frame = await self._connection.recv()
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")  # a binary frame
        self._listener(self._cp_id, "cp->csms", text)
        return frame

    async def send(self, frame: str) -> None:
        await self._connection.send(frame)
        self._listener(self._cp_id, "csms->cp", frame)


class SimLogFeed:
    """Posts frames to ``<sim_url>/api/ocpp-log``; call it as a :data:`FrameListener`."""

    def __init__(self, sim_url: str) -> None:
        self.url = sim_url.rstrip("/") + "/api/ocpp-log"
        self.posted = 0
        self.dropped = 0
        self._queue: asyncio.Queue[dict] = asyncio.Queue(QUEUE_LIMIT)
        self._task: asyncio.Task | None = None
        self._failing = False

    def __call__(self, cp_id: str, direction: str, frame: str) -> None:
        try:
            self._queue.put_nowait({"cp": cp_id, "direction": direction, "frame": frame})
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._post_all(), name="ocpp log feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drained(self) -> None:
        """Return once every frame reported so far has been posted (or dropped)."""
        await self._queue.join()

    async def _post_all(self) -> None:
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                item = await self._queue.get()
                try:
                    await self._post(http, item)
                finally:
                    self._queue.task_done()

    async def _post(self, http: aiohttp.ClientSession, item: dict) -> None:
        try:
            async with http.post(self.url, json=item) as response:
                if response.status >= 400:
                    raise aiohttp.ClientResponseError(response.request_info, (), status=response.status,
                                                      message=(await response.text())[:200])
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.dropped += 1
            if not self._failing:
                log.warning("OCPP log not fed to the simulator page (%s): %s", self.url, exc)
            self._failing = True
            return
        if self._failing:
            log.info("OCPP log feeds the simulator page again (%s)", self.url)
        self._failing = False
        self.posted += 1
