"""The websocket link to the backend: connect, hand over to the adapter, reconnect.

websockets' own reconnect iterator resets its backoff after every handshake, so a
backend that accepts and closes at once would be hammered; this loop keeps its own
exponential backoff with full jitter and a cap, and only forgets failures once a
connection has lasted (so a thousand chargers do not return in the same second).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

STABLE_AFTER_S = 30.0


class NoSubprotocol(Exception):
    """The backend completed the handshake without agreeing on an OCPP version."""


def endpoint_url(csms_url: str, charge_point_id: str) -> str:
    """OCPP-J 1.6 §3.1.1: the charge point id is the last path segment, URL-encoded."""
    return csms_url.rstrip("/") + "/" + quote(charge_point_id, safe="")


def backoff_delay(failures: int, minimum_s: float, maximum_s: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [minimum, min(maximum, minimum * 2**failures)]."""
    ceiling = min(maximum_s, minimum_s * (2 ** min(failures, 30)))
    return (rng or random).uniform(minimum_s, max(minimum_s, ceiling))


class Link:
    def __init__(
        self,
        url: str,
        subprotocol: str,
        session: Callable[[ClientConnection], Awaitable[None]],
        *,
        ping_interval_s: Callable[[], float],
        reconnect_min_s: float,
        reconnect_max_s: float,
    ) -> None:
        self.url = url
        self.subprotocol = subprotocol
        self._session = session
        self._ping_interval_s = ping_interval_s
        self._min = reconnect_min_s
        self._max = reconnect_max_s
        self.connected = False
        self.last_error: str | None = None

    async def run(self) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except (OSError, InvalidHandshake, InvalidURI, NoSubprotocol, asyncio.TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("link to %s: %s", self.url, self.last_error)
            except Exception as exc:  # a bug in a session must not end the link for good
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("link to %s: session failed", self.url)
            if time.monotonic() - started >= STABLE_AFTER_S:
                failures = 0
            delay = backoff_delay(failures, self._min, self._max)
            failures += 1
            log.info("link: reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        ping = self._ping_interval_s() or None
        async with connect(
            self.url,
            subprotocols=[Subprotocol(self.subprotocol)],
            ping_interval=ping,
            ping_timeout=ping,
            open_timeout=30,
            close_timeout=5,
            max_size=2**20,
        ) as ws:
            if ws.subprotocol != self.subprotocol:
                # OCPP-J 1.6 §3.1.2: without an agreed subprotocol there is no OCPP link.
                await ws.close(code=1002, reason="no OCPP subprotocol agreed")
                raise NoSubprotocol(f"backend agreed on {ws.subprotocol!r}, not {self.subprotocol!r}")
            log.info("link: connected to %s (%s)", self.url, ws.subprotocol)
            self.connected = True
            self.last_error = None
            try:
                await self._session(ws)
            finally:
                self.connected = False
                if ws.close_code is not None:
                    self.last_error = f"closed ({ws.close_code} {ws.close_reason})"
            log.info("link: connection closed (%s %s)", ws.close_code, ws.close_reason)
