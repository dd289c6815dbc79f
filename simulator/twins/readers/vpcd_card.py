"""A virtual contactless card for the vsmartcard vpcd reader (docs/hardware/pcsc-vpcd.md#vpcd-framing).

pcscd's vpcd driver listens on TCP 35963; connecting is "card inserted", closing the
socket is "card removed". Frames: 2-byte big-endian length + payload. A 1-byte payload is
a control message (0 power off, 1 power on, 2 reset: no reply; 4: reply with the ATR);
anything longer is a C-APDU answered with an R-APDU. Like a PC/SC Part 3 reader, the card
answers GET DATA ``FF CA 00 00 Le`` with its UID + ``90 00``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
import time

log = logging.getLogger(__name__)

# PC/SC Part 3 ATR of a storage card seen by a contactless reader (MIFARE Classic 1K).
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
SW_OK = b"\x90\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
UID_LENGTHS = (4, 7, 10)  # single/double/triple size UIDs (ISO/IEC 14443-3)


def parse_uid(uid_hex: str) -> bytes:
    """Uppercase-insensitive hex UID of 4, 7 or 10 bytes; ValueError otherwise."""
    if not isinstance(uid_hex, str) or not re.fullmatch(r"[0-9A-Fa-f]+", uid_hex or ""):
        raise ValueError("uid must be hex digits")
    uid = bytes.fromhex(uid_hex) if len(uid_hex) % 2 == 0 else b""
    if len(uid) not in UID_LENGTHS:
        raise ValueError("uid must be 4, 7 or 10 bytes of hex")
    return uid


def respond(uid: bytes, apdu: bytes) -> bytes:
    """R-APDU for a C-APDU."""
    if len(apdu) >= 4 and apdu[:4] == b"\xff\xca\x00\x00":
        le = apdu[4] if len(apdu) >= 5 else 0
        if le == 0 or le >= len(uid):
            return uid + SW_OK
        return bytes([0x6C, len(uid)])  # wrong Le: the right one is in SW2
    return SW_INS_NOT_SUPPORTED


# pcscd asks a reader that signals no events of its own, as vpcd, whether a card is there
# every 400 ms (PCSCLITE_STATUS_POLL_RATE); vpcd answers by requesting the ATR, and a closed
# socket is a removed card (docs/hardware/pcsc-vpcd.md#polling).
PCSCD_POLL_S = 0.4
SEEN_EMPTY_WAIT_S = 3.0  # at most this long for pcscd to report the reader empty


async def present(uid: bytes, hold_s: float, host: str = "127.0.0.1", port: int = 35963,
                  on_present=None, *, taken_away: asyncio.Event | None = None,
                  on_removed=None) -> None:
    """Insert the card into vpcd, answer it for ``hold_s`` real seconds (or until
    ``taken_away`` is set), remove it, and return once the reader has been seen empty.

    A card is only put on a reader pcscd has seen empty (:func:`wait_seen_empty`).
    Raises ``OSError`` if vpcd (pcscd) is not listening. ``on_present`` is called once the
    TCP connection is up (the card counts as inserted from then on), ``on_removed`` once it
    is closed again (the card is off the reader; pcscd may not know yet).
    """
    # A card left by someone else (a simulator stopped a moment ago) must be seen gone too.
    await wait_seen_empty(port, keep_empty=False)
    reader, writer = await asyncio.open_connection(host, port)
    if on_present:
        on_present()
    try:
        waits: set[asyncio.Future] = {asyncio.ensure_future(_serve(reader, writer, uid))}
        if taken_away is not None:
            waits.add(asyncio.ensure_future(taken_away.wait()))
        try:  # served until the hold time is over, it is taken away or vpcd goes away
            await asyncio.wait(waits, timeout=hold_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if on_removed:
        on_removed()
    await wait_seen_empty(port)


async def wait_seen_empty(port: int, timeout_s: float = SEEN_EMPTY_WAIT_S, *, keep_empty: bool = True) -> None:
    """Return once pcscd has seen the vpcd reader at ``port`` without a card.

    A hand takes a card away slower than pcscd polls; a script does not. A card presented
    before pcscd noticed the removal would be taken for the same card still lying there
    (vpcd may accept the next connection in the very poll that finds the old one closed),
    so the next presentation waits for this. pcscd says so itself (SCardGetStatusChange);
    when it cannot be asked, the reader stays empty for two of its polls (one may find the
    closed socket, the next an empty slot) if ``keep_empty``.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    if await asyncio.to_thread(_pcscd_saw_empty, _reader_name(port), round(timeout_s * 1000)):
        return
    if keep_empty:
        await asyncio.sleep(max(0.0, 2 * PCSCD_POLL_S - (loop.time() - start)))


def _reader_name(port: int) -> str:
    """pcscd names vpcd slot 0 (port 35963) "Virtual PCD 00 00", slot 1 "... 00 01"."""
    return f"Virtual PCD 00 {port - 35963:02d}"


def _pcscd_saw_empty(reader: str, timeout_ms: int) -> bool:
    """True once pcscd reports ``reader`` without a card; False if it cannot tell (no
    pyscard, no pcscd, no such reader) or did not within ``timeout_ms``."""
    try:
        from smartcard import scard
    except ImportError:  # pyscard missing: pcscd cannot be asked
        return False
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False
    deadline = time.monotonic() + timeout_ms / 1000
    try:
        state = scard.SCARD_STATE_UNAWARE
        while True:  # returns on each change of the reader's state: an event wait
            left_ms = max(0, round((deadline - time.monotonic()) * 1000))
            hr, states = scard.SCardGetStatusChange(ctx, left_ms, [(reader, state)])
            if hr != scard.SCARD_S_SUCCESS:
                log.debug("waiting for %s to be empty: %s", reader, scard.SCardGetErrorMessage(hr))
                return False
            state = states[0][1]
            if not state & scard.SCARD_STATE_PRESENT:
                return True
    finally:
        scard.SCardReleaseContext(ctx)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uid: bytes) -> None:
    while True:
        try:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            payload = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return  # vpcd went away
        if length == 1:
            if payload[0] == CTRL_ATR:
                _send(writer, ATR)
            # power off / on / reset need no reply
        else:
            _send(writer, respond(uid, payload))
        await writer.drain()


def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(struct.pack("!H", len(data)) + data)
