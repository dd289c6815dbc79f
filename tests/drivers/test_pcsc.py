"""PcscCardReader against the real pcscd + vpcd, with the simulator's virtual card.

The card is ``simulator.twins.readers.vpcd_card.present`` (docs/hardware/pcsc-vpcd.md#vpcd-framing): connecting to vpcd inserts
it, closing the socket removes it. A tap here keeps the card on the reader until the test
has seen what it waits for, then takes it away and waits until pcscd has seen it go.

Without pcscd + vpcd these tests skip, or fail when the environment variable CI is set.

What these tests touch on the machine: the one pcscd (its vpcd reader listens on the fixed
TCP port 127.0.0.1:35963 that /etc/reader.conf.d configures, so they never run in parallel
with other ``pcsc`` tests), and ``test_survives_pcscd_restart`` stops that pcscd (root only)
and starts it again as it ran before (same command line, or through systemd where systemd
runs it), whether the test passes or fails. Where no pcscd runs it skips rather than start one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable

import pytest
from smartcard import scard

from drivers.readers import pcsc as pcsc_reader
from drivers.interfaces import CardReader
from drivers.readers.pcsc import PcscCardReader
from simulator.twins.readers import vpcd_card

pytestmark = pytest.mark.pcsc

VPCD = ("127.0.0.1", 35963)  # slot 0
READER = "Virtual PCD 00 00"
UID = bytes.fromhex("04A1B2C3D4E5F6")
GET_UID = bytes([0xFF, 0xCA, 0, 0, 0])
HOLD_LIMIT_S = 30.0  # upper bound only: a tap ends as soon as the test has its answer
PNP_READER = "\\\\?PnP?\\Notification"


def unusable(reason: str) -> None:
    """Skip locally; in CI (env CI set) a missing pcscd/vpcd is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: pcscd with vpcd is required)", pytrace=False)
    pytest.skip(reason)


# ---- waiting on pcscd (SCardGetStatusChange returns on each change: event waits) ----
def _wait_reader_blocking(present: bool, timeout_ms: int) -> None:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
    try:
        state = scard.SCARD_STATE_UNAWARE
        while True:
            hr, states = scard.SCardGetStatusChange(ctx, timeout_ms, [(READER, state)])
            assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
            state = states[0][1]
            if bool(state & scard.SCARD_STATE_PRESENT) == present:
                return
    finally:
        scard.SCardReleaseContext(ctx)


async def wait_reader(present: bool) -> None:
    """Until pcscd itself sees the card present/absent."""
    await asyncio.to_thread(_wait_reader_blocking, present, 5000)


def _wait_reader_listed_blocking(timeout_s: float) -> None:
    """Until pcscd lists the vpcd reader (then vpcd listens on its port)."""
    deadline = time.monotonic() + timeout_s
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hr == scard.SCARD_S_SUCCESS, f"pcscd not answering: {scard.SCardGetErrorMessage(hr)}"
    try:
        pnp = scard.SCARD_STATE_UNAWARE
        while True:
            hr, readers = scard.SCardListReaders(ctx, [])
            if hr == scard.SCARD_S_SUCCESS and any(r.lower() == READER.lower() for r in readers):
                return
            left_ms = int((deadline - time.monotonic()) * 1000)
            assert left_ms > 0, f"pcscd does not list {READER!r} (readers: {readers})"
            # the PnP pseudo reader changes state when a reader is added or removed
            hr, states = scard.SCardGetStatusChange(ctx, left_ms, [(PNP_READER, pnp)])
            assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
            pnp = states[0][1]
    finally:
        scard.SCardReleaseContext(ctx)


async def next_card(it, timeout: float = 5) -> str:
    return await asyncio.wait_for(anext(it), timeout=timeout)


@pytest.fixture
async def empty_reader():
    try:
        await wait_reader(present=False)
    except AssertionError as exc:
        unusable(f"pcscd/vpcd not usable: {exc}")


# ---- the virtual card: simulator.twins.readers.vpcd_card ----
@pytest.fixture
def apdus(monkeypatch) -> list[bytes]:
    """Every C-APDU the virtual card answers (a spy around the simulator's ``respond``)."""
    seen: list[bytes] = []
    respond = vpcd_card.respond

    def counting(uid: bytes, apdu: bytes) -> bytes:
        seen.append(bytes(apdu))
        return respond(uid, apdu)

    monkeypatch.setattr(vpcd_card, "respond", counting)
    return seen


@contextlib.asynccontextmanager
async def card_on_reader(uid: bytes) -> AsyncIterator[None]:
    """The card lies on the reader for the block; on exit it is taken away and pcscd has seen it go."""
    inserted = asyncio.Event()
    tap = asyncio.create_task(
        vpcd_card.present(uid, hold_s=HOLD_LIMIT_S, host=VPCD[0], port=VPCD[1], on_present=inserted.set)
    )
    in_place = asyncio.create_task(inserted.wait())
    await asyncio.wait({tap, in_place}, return_when=asyncio.FIRST_COMPLETED)
    in_place.cancel()
    if not inserted.is_set():  # present() ended before the card went in
        try:
            tap.result()
        except OSError as exc:
            unusable(f"vpcd not listening: {exc}")
        raise AssertionError("present() returned without inserting the card")
    try:
        yield
    finally:
        tap.cancel()  # closes the vpcd connection: the card is removed
        await asyncio.gather(tap, return_exceptions=True)
        await wait_reader(present=False)


# ---- the real pcscd, stopped and started again ----
def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def pcscd_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True, text=True).stdout
    return [pid for pid in map(int, out.split()) if _state(pid) not in (None, "Z", "X")]


async def _gone(pid: int, timeout: float) -> None:
    """Until the process has exited: its pidfd becomes readable then (an event, not a poll)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    exited = loop.create_future()
    loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
    try:
        await asyncio.wait_for(exited, timeout)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode() for part in f.read().split(b"\0") if part]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _systemd_runs_pcscd() -> bool:
    if not os.path.isdir("/run/systemd/system") or shutil.which("systemctl") is None:
        return False
    units = ("pcscd.socket", "pcscd.service")
    return subprocess.run(["systemctl", "is-active", "--quiet", *units], check=False).returncode == 0


class Pcscd:
    """The machine's pcscd (found with ``pgrep -x pcscd``), for tests that take it away: it
    remembers how that pcscd ran (its command line, or systemd) and starts it the same way."""

    def __init__(self) -> None:
        pids = pcscd_pids()
        self.argv = _cmdline(pids[0]) if pids else []
        self.by_systemd = _systemd_runs_pcscd()

    async def stop(self) -> None:
        pids = pcscd_pids()
        assert pids, "pcscd is not running"
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            await _gone(pid, timeout=10)
        assert not pcscd_pids(), "pcscd still running after SIGTERM"

    async def start(self) -> None:
        """``pcscd`` daemonises; its parent exits once the daemon is ready. Then wait for vpcd."""
        if not pcscd_pids():
            if self.by_systemd:
                argv = ["systemctl", "start", "pcscd.socket", "pcscd.service"]
            else:
                argv = self.argv or ["pcscd"]
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            _, err = await asyncio.wait_for(proc.communicate(), 10)
            assert proc.returncode == 0, f"{argv} exited with {proc.returncode}: {err.decode(errors='replace')}"
        await asyncio.to_thread(_wait_reader_listed_blocking, 10.0)


@pytest.fixture
async def pcscd() -> AsyncIterator[Pcscd]:
    """The machine's pcscd, which the test may stop; running again as before (with the vpcd
    reader listed) after the test, pass or fail."""
    if os.geteuid() != 0:
        unusable("stopping and starting pcscd needs root")
    if shutil.which("pcscd") is None:
        unusable("pcscd is not on PATH")
    if not pcscd_pids():
        unusable("no pcscd runs: this test stops the machine's pcscd and does not start one of its own")
    ctl = Pcscd()
    yield ctl
    await ctl.start()


class LogEvents(logging.Handler):
    """Records from the reader's worker thread, and a way to wait until enough of them arrived."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.DEBUG)
        self.loop = loop
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.loop.call_soon_threadsafe(self._arrived, record)

    def _arrived(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()

    def count(self, predicate: Callable[[logging.LogRecord], bool]) -> int:
        return sum(1 for r in self.records if predicate(r))

    async def wait_for(self, predicate: Callable[[logging.LogRecord], bool], n: int = 1, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while self.count(predicate) < n:
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def reader_log() -> AsyncIterator[LogEvents]:
    logger = logging.getLogger(pcsc_reader.__name__)
    handler = LogEvents(asyncio.get_running_loop())
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def established(r: logging.LogRecord) -> bool:
    return r.getMessage() == "PC/SC context established"


def unavailable(r: logging.LogRecord) -> bool:
    return r.getMessage().startswith("PC/SC unavailable")


# ---- tests ----
async def test_two_taps_yield_once_each(empty_reader, apdus):
    reader = PcscCardReader(READER)
    assert isinstance(reader, CardReader)
    it = reader.cards()
    got: list[str] = []
    first = asyncio.create_task(next_card(it))
    async with card_on_reader(UID):
        got.append(await first)
        assert apdus == [GET_UID]  # one read per presentation

    second = asyncio.create_task(next_card(it))
    async with card_on_reader(UID):
        got.append(await second)
    assert apdus == [GET_UID, GET_UID]

    await reader.close()
    rest = [tag async for tag in it]  # close() ends the iterator: no duplicates queued
    assert got + rest == ["04A1B2C3D4E5F6", "04A1B2C3D4E5F6"]


async def test_reversed_byte_order(empty_reader):
    reader = PcscCardReader("virtual pcd 00 00", byte_order="reversed")
    it = reader.cards()
    task = asyncio.create_task(next_card(it))
    try:
        async with card_on_reader(bytes.fromhex("26DEFAE7")):
            assert await task == "E7FADE26"
    finally:
        await reader.close()


async def test_survives_pcscd_restart(empty_reader, pcscd, reader_log, apdus):
    """pcscd stopped mid-session and down for a while: cards() keeps waiting, and reads again once it is back."""
    reader = PcscCardReader(READER, retry_delay_s=0.05)
    it = reader.cards()
    task = asyncio.create_task(next_card(it, timeout=60))
    try:
        await reader_log.wait_for(established)  # a session with the running pcscd

        await pcscd.stop()
        # the session is lost, then new contexts are refused while pcscd is down
        await reader_log.wait_for(unavailable, n=3)
        assert not task.done(), task  # nothing escaped from cards(), nothing was yielded

        await pcscd.start()
        await reader_log.wait_for(established, n=2)
        assert not task.done(), task
        async with card_on_reader(UID):
            assert await task == UID.hex().upper()
        assert apdus == [GET_UID]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await reader.close()


async def test_close_is_prompt(empty_reader):
    reader = PcscCardReader(READER, poll_timeout_ms=60_000)  # wait far longer than the test
    it = reader.cards()
    task = asyncio.create_task(next_card(it))
    await asyncio.sleep(0)  # let the iterator start the worker
    # Without SCardCancel the worker would sleep out its 60 s poll: a generous wait for the
    # end of the iterator, not a time bound on how quick it is.
    async with asyncio.timeout(30):
        await reader.close()  # SCardCancel wakes the worker
        with pytest.raises(StopAsyncIteration):
            await task
