"""PcscCardReader against pcscd + vpcd, with the test playing the virtual card.

vpcd protocol (hardware.md §4): every message is a 2-byte big-endian length +
payload; 1-byte payloads are control (0 off, 1 on, 2 reset, 4 ATR request ->
reply with the ATR); longer payloads are APDUs. Connecting inserts the card,
closing the socket removes it.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from smartcard import scard

from drivers import pcsc_reader
from drivers.interfaces import CardReader
from drivers.pcsc_reader import PcscCardReader

pytestmark = pytest.mark.pcsc

VPCD = ("127.0.0.1", 35963)  # slot 0
READER = "Virtual PCD 00 00"
ATR = bytes.fromhex("3B80800101")
UID = bytes.fromhex("04A1B2C3D4E5F6")


class VirtualCard:
    def __init__(self, uid: bytes) -> None:
        self.uid = uid
        self.apdus: list[bytes] = []
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    async def insert(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection(*VPCD)
        except OSError as exc:
            pytest.skip(f"vpcd not listening: {exc}")
        self._task = asyncio.create_task(self._serve(reader, self._writer))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (n,) = struct.unpack("!H", await reader.readexactly(2))
                msg = await reader.readexactly(n)
                if len(msg) == 1:
                    if msg[0] == 4:  # ATR request; 0/1/2 get no reply
                        writer.write(struct.pack("!H", len(ATR)) + ATR)
                    continue
                self.apdus.append(msg)
                if msg == bytes([0xFF, 0xCA, 0, 0, 0]):
                    resp = self.uid + b"\x90\x00"
                else:
                    resp = b"\x6d\x00"  # INS not supported
                writer.write(struct.pack("!H", len(resp)) + resp)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    async def remove(self) -> None:
        assert self._writer and self._task
        self._writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await wait_reader(present=False)


def _wait_reader_blocking(present: bool, timeout_ms: int) -> None:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hr == scard.SCARD_S_SUCCESS
    try:
        state = scard.SCARD_STATE_UNAWARE
        while True:  # SCardGetStatusChange returns on each state change: an event wait
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


async def next_card(it) -> str:
    return await asyncio.wait_for(anext(it), timeout=5)


@pytest.fixture
async def empty_reader():
    try:
        await wait_reader(present=False)
    except AssertionError as exc:
        pytest.skip(f"pcscd/vpcd not usable: {exc}")


async def test_two_taps_yield_once_each(empty_reader):
    reader = PcscCardReader(READER)
    assert isinstance(reader, CardReader)
    it = reader.cards()
    got: list[str] = []
    first = asyncio.create_task(next_card(it))
    card = VirtualCard(UID)
    await card.insert()
    got.append(await first)
    assert card.apdus == [bytes([0xFF, 0xCA, 0, 0, 0])]  # one read per presentation
    await card.remove()

    second = asyncio.create_task(next_card(it))
    await card.insert()
    got.append(await second)
    await card.remove()
    assert len(card.apdus) == 2

    await reader.close()
    rest = [tag async for tag in it]  # close() ends the iterator: no duplicates queued
    assert got + rest == ["04A1B2C3D4E5F6", "04A1B2C3D4E5F6"]


async def test_reversed_byte_order(empty_reader):
    reader = PcscCardReader("virtual pcd 00 00", byte_order="reversed")
    it = reader.cards()
    task = asyncio.create_task(next_card(it))
    card = VirtualCard(bytes.fromhex("26DEFAE7"))
    await card.insert()
    try:
        assert await task == "E7FADE26"
    finally:
        await card.remove()
        await reader.close()


async def test_survives_pcscd_unavailable(empty_reader, monkeypatch):
    """pcscd down (no context) or gone mid-session: retried after retry_delay_s."""
    real = scard.SCardEstablishContext
    calls = []

    def flaky(scope):
        calls.append(scope)
        if len(calls) <= 2:
            return scard.SCARD_E_NO_SERVICE, 0
        return real(scope)

    real_wait = scard.SCardGetStatusChange
    waits = []

    def dies_once(ctx, timeout, states):
        waits.append(ctx)
        if len(waits) == 1:  # pcscd went away in the middle of a session
            return scard.SCARD_E_NO_SERVICE, []
        return real_wait(ctx, timeout, states)

    monkeypatch.setattr(pcsc_reader.scard, "SCardEstablishContext", flaky)
    monkeypatch.setattr(pcsc_reader.scard, "SCardGetStatusChange", dies_once)
    reader = PcscCardReader(READER, retry_delay_s=0.05)
    it = reader.cards()
    task = asyncio.create_task(next_card(it))
    card = VirtualCard(UID)
    await card.insert()
    try:
        assert await task == UID.hex().upper()
        assert len(calls) >= 4  # 2 refused, 1 session lost, 1 that works
    finally:
        await card.remove()
        await reader.close()


async def test_close_is_prompt(empty_reader):
    reader = PcscCardReader(READER, poll_timeout_ms=60_000)  # wait far longer than the test
    it = reader.cards()
    task = asyncio.create_task(next_card(it))
    await asyncio.sleep(0)  # let the iterator start the worker
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await reader.close()  # SCardCancel wakes the worker
    with pytest.raises(StopAsyncIteration):
        await task
    assert loop.time() - t0 < 2.0
