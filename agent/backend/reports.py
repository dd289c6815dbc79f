"""Status reports to the backend (firmware, diagnostics), delivered in order when it is reachable.

A download or an upload goes on while the backend is away; what it reported meanwhile
is sent once the link is back, oldest first. The sender belongs to the protocol adapter
(``agent/ocpp16/firmware.py``); it answers True when the report is done with (confirmed,
or refused for good) and False when it could not be sent yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

RETRY_S = 2.0


class ReportQueue:
    def __init__(self, send: Callable[[Any], Awaitable[bool]], retry_s: float = RETRY_S) -> None:
        self._send = send
        self._retry_s = retry_s
        self._queue: asyncio.Queue[tuple[Any, Callable[[], None] | None]] = asyncio.Queue()

    def put(self, report: Any, on_delivered: Callable[[], None] | None = None) -> None:
        """Queue ``report``; ``on_delivered`` runs once the backend has it."""
        self._queue.put_nowait((report, on_delivered))

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every report queued so far is done with (False: not within ``timeout_s``;
        they live in memory, so a restart would lose them)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        while True:
            report, on_delivered = await self._queue.get()
            while True:
                try:
                    done = await self._send(report)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("report %s: sending failed", report)
                    done = True  # a bug in the sender must not block later reports
                if done:
                    break
                await asyncio.sleep(self._retry_s)
            if on_delivered is not None:
                on_delivered()
            self._queue.task_done()
