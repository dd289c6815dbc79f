"""PC/SC contactless reader (pcscd + pyscard) — docs/hardware/pcsc-vpcd.md#uid-apdu.

One worker thread owns the PC/SC context (every PC/SC call blocks). It waits
for reader events with ``SCardGetStatusChange`` (pcsc-lite wakes it on insert
or removal; ``SCardCancel`` wakes it for ``close()``), reads the UID with the
PC/SC Part 3 pseudo-APDU ``FF CA 00 00 00`` (answer: UID + 90 00) once per
presentation and hands the idTag to the event loop(s) with
``loop.call_soon_threadsafe``.

idTag: uppercase hex, no separators, bytes as received (EVerest, SmartEVSE),
or reversed for installations whose cards were enrolled through a
keyboard-wedge reader (docs/hardware/pcsc-vpcd.md#idtag, "byte-order trap").

pcscd going away (SCARD_E_NO_SERVICE, restart) is survived: the context is
dropped, the thread waits ``retry_delay_s`` and establishes a new one. This is
why pyscard's ``CardMonitor`` is not used: its thread dies for good then.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from smartcard import scard

from drivers.registry import DriverSpec, Kind

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
PNP_READER = "\\\\?PnP?\\Notification"  # pcsc-lite: reader added/removed
UID_LENGTHS = range(4, 11)  # 4, 7 or 10 bytes (ISO/IEC 14443-3); be lenient between
_STOP = object()


def _code(hr: int) -> int:
    return hr & 0xFFFFFFFF


_GONE = {
    _code(scard.SCARD_E_NO_SERVICE),
    _code(scard.SCARD_E_SERVICE_STOPPED),
    _code(scard.SCARD_E_INVALID_HANDLE),
}
_RELIST = {
    _code(scard.SCARD_E_UNKNOWN_READER),
    _code(scard.SCARD_E_READER_UNAVAILABLE),
    _code(scard.SCARD_E_NO_READERS_AVAILABLE),
}


class _PcscGone(Exception):
    pass


def format_uid(uid: bytes, byte_order: str = "as_read") -> str:
    """UID bytes -> idTag: uppercase hex, no separators."""
    if byte_order == "reversed":
        uid = uid[::-1]
    return uid.hex().upper()


def parse_uid_response(resp: list[int] | bytes) -> bytes | None:
    """``FF CA`` answer -> UID bytes, or None when the reader refused (63 00, 6A 81, ...)."""
    resp = bytes(resp)
    if len(resp) < 2 or resp[-2:] != b"\x90\x00":
        return None
    uid = resp[:-2]
    return uid if len(uid) in UID_LENGTHS else None


class PcscCardReader:
    """CardReader over PC/SC; ``reader_filter`` is a case-insensitive substring of the reader name."""

    def __init__(
        self,
        reader_filter: str = "",
        byte_order: Literal["as_read", "reversed"] = "as_read",
        *,
        retry_delay_s: float = 2.0,
        poll_timeout_ms: int = 1000,
    ) -> None:
        if byte_order not in ("as_read", "reversed"):
            raise ValueError(f"byte_order must be as_read or reversed, not {byte_order!r}")
        self.reader_filter = reader_filter.lower()
        self.byte_order = byte_order
        self.retry_delay_s = retry_delay_s
        self.poll_timeout_ms = poll_timeout_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: int | None = None
        self._ctx_lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._sub_lock = threading.Lock()
        # reader -> (present, event counter); kept across pcscd restarts so a
        # card lying on the reader is not reported again after a reconnect
        self._seen: dict[str, tuple[bool, int]] = {}

    # ---- asyncio side -------------------------------------------------
    async def cards(self) -> AsyncIterator[str]:
        """Yield an idTag per card presentation until ``close()``."""
        if self._stop.is_set():
            return
        entry = (asyncio.get_running_loop(), asyncio.Queue())
        with self._sub_lock:
            self._subscribers.append(entry)
        self._start()
        try:
            while (item := await entry[1].get()) is not _STOP:
                yield item
        finally:
            with self._sub_lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

    async def close(self) -> None:
        self._stop.set()
        self._cancel_wait()
        self._publish(_STOP)
        if self._thread is not None:
            await asyncio.to_thread(self._join, 5.0)

    def _join(self, timeout: float) -> None:
        # SCardCancel only wakes a wait in progress: repeat it until the
        # worker has seen the stop flag (it may have been between two waits)
        assert self._thread is not None
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._cancel_wait()
            self._thread.join(0.05)
        if self._thread.is_alive():
            log.warning("PC/SC worker did not stop within %.0f s", timeout)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pcsc-reader", daemon=True)
            self._thread.start()

    def _publish(self, item: object) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # that loop is closed
                pass

    def _cancel_wait(self) -> None:
        with self._ctx_lock:
            if self._ctx is not None:
                scard.SCardCancel(self._ctx)

    # ---- worker thread ------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._session()
            except _PcscGone as exc:
                log.warning("PC/SC unavailable (%s); retrying in %.1f s", exc, self.retry_delay_s)
            except Exception:  # noqa: BLE001 - the reader thread must not die
                log.exception("PC/SC worker error; retrying in %.1f s", self.retry_delay_s)
            finally:
                self._release()
            self._stop.wait(self.retry_delay_s)

    def _release(self) -> None:
        with self._ctx_lock:
            ctx, self._ctx = self._ctx, None
        if ctx is not None:
            scard.SCardReleaseContext(ctx)

    def _session(self) -> None:
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise _PcscGone(scard.SCardGetErrorMessage(hr))
        with self._ctx_lock:
            self._ctx = ctx
        if self._stop.is_set():
            return
        log.info("PC/SC context established")
        states = self._reader_states(ctx)
        while not self._stop.is_set():
            hr, new_states = scard.SCardGetStatusChange(ctx, self.poll_timeout_ms, states)
            code = _code(hr)
            if code == _code(scard.SCARD_E_TIMEOUT):
                if len(states) <= 1:  # no reader yet: look again
                    states = self._reader_states(ctx)
                continue
            if code == _code(scard.SCARD_E_CANCELLED):
                continue  # close() or a spurious cancel: the loop condition decides
            if code in _RELIST:
                states = self._reader_states(ctx)
                continue
            if hr != scard.SCARD_S_SUCCESS:
                raise _PcscGone(scard.SCardGetErrorMessage(hr))
            relist = False
            for name, event, _atr in new_states:
                if name == PNP_READER:
                    relist = relist or bool(event & scard.SCARD_STATE_CHANGED)
                else:
                    self._on_reader_state(ctx, name, event)
            states = (
                self._reader_states(ctx) if relist else [(n, e) for n, e, _a in new_states]
            )

    def _reader_states(self, ctx: int) -> list[tuple[str, int]]:
        hr, readers = scard.SCardListReaders(ctx, [])
        if _code(hr) in _GONE:
            raise _PcscGone(scard.SCardGetErrorMessage(hr))
        names = [r for r in (readers or []) if self.reader_filter in r.lower()]
        if not names:
            log.debug("no PC/SC reader matching %r", self.reader_filter)
        states = [(n, scard.SCARD_STATE_UNAWARE) for n in names]
        return states + [(PNP_READER, scard.SCARD_STATE_UNAWARE)]

    def _on_reader_state(self, ctx: int, name: str, event: int) -> None:
        present = bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE
        counter = event >> 16  # pcsc-lite counts insertions + removals here
        was_present, last_counter = self._seen.get(name, (False, counter))
        self._seen[name] = (present, counter)
        # new presentation: absent -> present, or a removal + insertion that
        # happened between two wake-ups (counter moved by 2 or more)
        if present and (not was_present or counter - last_counter >= 2):
            uid = self._read_uid(ctx, name)
            if uid is not None:
                tag = format_uid(uid, self.byte_order)
                log.info("card %s on %s", tag, name)
                self._publish(tag)

    def _read_uid(self, ctx: int, name: str) -> bytes | None:
        hr, card, proto = scard.SCardConnect(
            ctx, name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        if hr != scard.SCARD_S_SUCCESS:
            log.warning("%s: connect failed: %s", name, scard.SCardGetErrorMessage(hr))
            return None
        try:
            hr, resp = scard.SCardTransmit(card, proto, GET_UID)
            if hr != scard.SCARD_S_SUCCESS:
                log.warning("%s: GET UID failed: %s", name, scard.SCardGetErrorMessage(hr))
                return None
            uid = parse_uid_response(resp)
            if uid is None:
                log.warning("%s: GET UID refused: %s", name, bytes(resp).hex(" "))
            return uid
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)


@dataclass(frozen=True)
class PcscOptions:
    reader: str = ""  # part of the PC/SC reader name; "" = the first reader
    byte_order: Literal["as_read", "reversed"] = "as_read"


SPEC = DriverSpec(
    name="pcsc",
    kind=Kind.CARD_READER,
    options=PcscOptions,
    build=lambda o, wiring: PcscCardReader(o.reader, byte_order=o.byte_order),
    summary="PC/SC contactless reader through pcscd (UID via FF CA 00 00 00)",
)
