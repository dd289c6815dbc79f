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


async def present(uid: bytes, hold_s: float, host: str = "127.0.0.1", port: int = 35963,
                  on_present=None) -> None:
    """Insert the card into vpcd, answer it for ``hold_s`` real seconds, then remove it.

    Raises ``OSError`` if vpcd (pcscd) is not listening. ``on_present`` is called once the
    TCP connection is up (the card counts as inserted from then on).
    """
    reader, writer = await asyncio.open_connection(host, port)
    if on_present:
        on_present()
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(hold_s):
                await _serve(reader, writer, uid)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    # A hand takes a card away slower than pcscd polls; a script does not. Return only
    # once pcscd itself has seen the reader empty, so a next tap is a new presentation.
    await asyncio.to_thread(_wait_reader_empty, _reader_name(port), 3000)


def _reader_name(port: int) -> str:
    """pcscd names vpcd slot 0 (port 35963) "Virtual PCD 00 00", slot 1 "... 00 01"."""
    return f"Virtual PCD 00 {port - 35963:02d}"


def _wait_reader_empty(reader: str, timeout_ms: int) -> None:
    try:
        from smartcard import scard
    except ImportError:  # pyscard missing: nothing to wait for
        return
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return
    try:
        state = scard.SCARD_STATE_UNAWARE
        while True:  # returns on each change of the reader's state: an event wait
            hr, states = scard.SCardGetStatusChange(ctx, timeout_ms, [(reader, state)])
            if hr != scard.SCARD_S_SUCCESS:
                log.debug("waiting for %s to be empty: %s", reader, scard.SCardGetErrorMessage(hr))
                return
            state = states[0][1]
            if not state & scard.SCARD_STATE_PRESENT:
                return
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
