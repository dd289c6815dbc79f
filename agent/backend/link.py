"""The websocket link to the backend: connect, hand over to the adapter, reconnect.

The link offers the OCPP versions the operator lists as websocket subprotocols, in order of
preference (OCPP-J 1.6 §3.1.2, OCPP-J 2.0.1 §3.2: "ocpp1.6", "ocpp2.0.1"), and hands the
connection to the session of the one the backend agreed on; a backend that agrees on none
is refused.

websockets' own reconnect iterator resets its backoff after every handshake, so a
backend that accepts and closes at once would be hammered; this loop keeps its own
exponential backoff with full jitter and a cap, and only forgets failures once a
connection has lasted (so a thousand chargers do not return in the same second).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

STABLE_AFTER_S = 30.0
RECONNECT_GRACE_S = 1.0


class NoSubprotocol(Exception):
    """The backend completed the handshake without agreeing on an OCPP version."""


class ConnectOptionsError(Exception):
    """The settings for the next connection cannot be put together (a missing key file...)."""


@dataclass(frozen=True)
class ConnectOptions:
    url: str
    ssl: ssl.SSLContext | None = None
    # Sent with the opening handshake (HTTP Basic credentials go here, never into the URL,
    # which websockets and this module log).
    headers: dict[str, str] = field(default_factory=dict, repr=False)


class ConnectPolicy(Protocol):
    """What to connect with, and what came of it (agent/security/link_security.py)."""

    def options(self, url: str) -> ConnectOptions: ...

    def connected(self) -> None: ...

    def failed(self, error: BaseException) -> None: ...


class OpenPolicy:
    """No security profile: the URL as configured, the default TLS context for wss://."""

    def options(self, url: str) -> ConnectOptions:
        return ConnectOptions(url)

    def connected(self) -> None:
        pass

    def failed(self, error: BaseException) -> None:
        pass


def endpoint_url(csms_url: str, charge_point_id: str) -> str:
    """OCPP-J 1.6 §3.1.1: the charge point id is the last path segment, URL-encoded."""
    return csms_url.rstrip("/") + "/" + quote(charge_point_id, safe="")


def backoff_ceiling(failures: int, minimum_s: float, maximum_s: float) -> float:
    """The longest wait after ``failures`` failures in a row: min(maximum, minimum * 2**failures)."""
    return max(minimum_s, min(maximum_s, minimum_s * (2 ** min(failures, 30))))


def backoff_delay(failures: int, minimum_s: float, maximum_s: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [minimum, min(maximum, minimum * 2**failures)]."""
    return (rng or random).uniform(minimum_s, backoff_ceiling(failures, minimum_s, maximum_s))


class ReconnectBackoff:
    """How long to wait before the next connection attempt: exponential backoff with full
    jitter and a cap, growing with every attempt, and forgetting the failures only once a
    connection has lasted ``stable_after_s`` (a backend that accepts and drops at once is
    not hammered). Pure: the caller says how long each connection lasted."""

    def __init__(self, minimum_s: float, maximum_s: float, *, stable_after_s: float = STABLE_AFTER_S,
                 rng: random.Random | None = None) -> None:
        self.minimum_s = minimum_s
        self.maximum_s = maximum_s
        self.stable_after_s = stable_after_s
        self.failures = 0  # attempts since the last connection that lasted
        self._rng = rng

    @property
    def ceiling_s(self) -> float:
        """The longest the next wait may be."""
        return backoff_ceiling(self.failures, self.minimum_s, self.maximum_s)

    def ended(self, lasted_s: float) -> None:
        """An attempt ended (refused, or a connection that closed) after ``lasted_s``."""
        if lasted_s >= self.stable_after_s:
            self.failures = 0

    def next_delay(self) -> float:
        delay = backoff_delay(self.failures, self.minimum_s, self.maximum_s, self._rng)
        self.failures += 1
        return delay


class Link:
    def __init__(
        self,
        url: str,
        subprotocols: list[str],
        session: Callable[[str, ClientConnection], Awaitable[None]],
        *,
        ping_interval_s: Callable[[], float],
        reconnect_min_s: float,
        reconnect_max_s: float,
        policy: ConnectPolicy | None = None,
        backoff: ReconnectBackoff | None = None,
    ) -> None:
        self.url = url  # the one connected to last (the policy may change its scheme)
        self._base_url = url
        self.subprotocols = list(subprotocols)
        self.subprotocol: str | None = None  # the one agreed on last
        self._session = session
        self._ping_interval_s = ping_interval_s
        self._policy = policy or OpenPolicy()
        self.backoff = backoff or ReconnectBackoff(reconnect_min_s, reconnect_max_s)
        self._ws: ClientConnection | None = None
        self._reconnect_now = False
        self._closing: asyncio.Future | None = None
        self.connected = False
        self.connected_since: float | None = None  # wall clock of the last connect (evse-agent status)
        self.last_error: str | None = None

    def reconnect(self) -> None:
        """Close the connection (if any) and connect again at once with fresh options.

        The close waits RECONNECT_GRACE_S, so the backend has taken the answer that led to it
        (an Accepted ChangeConfiguration) before the connection drops."""
        self._reconnect_now = True
        if self._ws is not None:
            self._closing = asyncio.ensure_future(self._close_soon(self._ws))

    @staticmethod
    async def _close_soon(ws: ClientConnection) -> None:
        await asyncio.sleep(RECONNECT_GRACE_S)
        await ws.close(1000, "reconnecting with new settings")

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except (OSError, InvalidHandshake, InvalidURI, NoSubprotocol, ConnectOptionsError, asyncio.TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("link to %s: %s", self.url, self.last_error)
                self._policy.failed(exc)
            except Exception as exc:  # a bug in a session must not end the link for good
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("link to %s: session failed", self.url)
            self.backoff.ended(time.monotonic() - started)
            if self._reconnect_now:
                self._reconnect_now = False
                log.info("link: reconnecting now with new settings")
                continue
            delay = self.backoff.next_delay()
            log.info("link: reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        ping = self._ping_interval_s() or None
        options = self._policy.options(self._base_url)
        self.url = options.url
        async with connect(
            options.url,
            ssl=options.ssl,
            additional_headers=options.headers,
            subprotocols=[Subprotocol(name) for name in self.subprotocols],
            ping_interval=ping,
            ping_timeout=ping,
            open_timeout=30,
            close_timeout=5,
            max_size=2**20,
        ) as ws:
            if ws.subprotocol not in self.subprotocols:
                # OCPP-J 1.6 §3.1.2: without an agreed subprotocol there is no OCPP link.
                await ws.close(code=1002, reason="no OCPP subprotocol agreed")
                raise NoSubprotocol(f"backend agreed on {ws.subprotocol!r}, not one of {self.subprotocols}")
            self.subprotocol = ws.subprotocol
            log.info("link: connected to %s (%s)", self.url, ws.subprotocol)
            self._policy.connected()
            self.connected = True
            self.connected_since = time.time()
            self._ws = ws
            self.last_error = None
            try:
                await self._session(ws.subprotocol, ws)
            finally:
                self.connected = False
                self._ws = None
                if ws.close_code is not None:
                    self.last_error = f"closed ({ws.close_code} {ws.close_reason})"
            log.info("link: connection closed (%s %s)", ws.close_code, ws.close_reason)
