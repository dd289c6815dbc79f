"""NXP PN532 NFC reader on I²C as a :class:`CardReader` — docs/hardware/pn532.md#frames
(after Adafruit_CircuitPython_PN532 ``i2c.py`` / ``adafruit_pn532.py``).

Host → PN532 information frame: ``00 00 FF LEN LCS D4 CMD params… DCS 00`` with
LEN = bytes from D4 to the last parameter, LCS = −LEN and DCS = −Σ(D4 CMD params), mod 256.
The PN532 answers with an ACK frame ``00 00 FF 00 FF 00`` and later with
``… D5 CMD+1 data… DCS 00``. On I²C every read starts with a status byte, 0x01 = ready:
the host polls a 1-byte read until ready, then reads status + frame.

Set-up: SAMConfiguration (0x14, normal mode ``01 14 01``) and RFConfiguration (0x32)
MaxRetries ``05 FF 01 02`` (MxRtyATR, MxRtyPSL, MxRtyPassiveActivation = 2: without it,
InListPassiveTarget waits for a card for ever). Polling: InListPassiveTarget (0x4A, ``01 00``:
one target, 106 kbps type A) answers ``NbTg Tg SENS_RES(2) SEL_RES NFCIDLen NFCID…``: the
UID is ``resp[6:6+resp[5]]``, 4, 7 or 10 bytes. A card is reported once per presentation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from drivers.interfaces import DeviceError, DeviceUnavailable, I2cBus
from drivers.registry import (
    Context,
    DriverSpec,
    I2cOptions,
    Kind,
    OptionError,
    check_i2c_address,
)

log = logging.getLogger(__name__)

HOST_TO_PN532, PN532_TO_HOST = 0xD4, 0xD5
ERROR_TFI = 0x7F  # application-level error frame: 00 00 FF 01 FF 7F 81 00
ACK = bytes([0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00])
GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A
UID_LENGTHS = (4, 7, 10)  # ISO/IEC 14443-3 single, double, triple size
READ_LENGTH = 64  # enough for any answer used here (a 10-byte UID plus an ATS)


def information_frame(command: int, params: bytes = b"") -> bytes:
    data = bytes([HOST_TO_PN532, command]) + bytes(params)
    length = len(data)
    return bytes([0x00, 0x00, 0xFF, length, -length & 0xFF]) + data + bytes([-sum(data) & 0xFF, 0x00])


def parse_frame(raw: bytes) -> bytes:
    """Status byte + frame as read → the frame's data (TFI onwards, without DCS)."""
    if not raw or raw[0] != 0x01:
        raise DeviceError("PN532: frame read while not ready")
    i = 1
    while i < len(raw) and raw[i] == 0x00:
        i += 1
    if i + 2 >= len(raw) or raw[i] != 0xFF:
        raise DeviceError(f"PN532: no start code in {raw.hex()}")
    length, lcs = raw[i + 1], raw[i + 2]
    if (length + lcs) & 0xFF:
        raise DeviceError(f"PN532: length checksum wrong in {raw.hex()}")
    data = raw[i + 3 : i + 3 + length]
    if len(data) != length or i + 3 + length >= len(raw):
        raise DeviceError(f"PN532: frame cut short: {raw.hex()}")
    if (sum(data) + raw[i + 3 + length]) & 0xFF:
        raise DeviceError(f"PN532: data checksum wrong in {raw.hex()}")
    if data[:1] == bytes([ERROR_TFI]):
        raise DeviceError("PN532: application error frame (the command was not understood)")
    return data


def format_uid(uid: bytes, byte_order: str = "as_read") -> str:
    """UID → idTag: uppercase hex, no separators; ``reversed`` as the PC/SC reader's option."""
    return (uid[::-1] if byte_order == "reversed" else uid).hex().upper()


class Pn532:
    """The command layer: one command at a time, each with its ACK and answer."""

    def __init__(self, bus: I2cBus, address: int = 0x24, *, ready_timeout_s: float = 1.0,
                 status_poll_s: float = 0.005) -> None:
        self.bus = bus
        self.address = address
        self.ready_timeout_s = ready_timeout_s
        self.status_poll_s = status_poll_s
        self._lock = asyncio.Lock()

    async def _wait_ready(self, what: str) -> None:
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                while (await self.bus.read(self.address, 1))[:1] != b"\x01":
                    await asyncio.sleep(self.status_poll_s)
        except TimeoutError:
            raise DeviceUnavailable(f"PN532 0x{self.address:02X}: not ready for {what}") from None

    async def call(self, command: int, params: bytes = b"") -> bytes:
        """Send ``command``; the answer's data after ``D5 CMD+1``."""
        async with self._lock:
            await self.bus.write(self.address, information_frame(command, params))
            await self._wait_ready("the ACK")
            ack = await self.bus.read(self.address, 1 + len(ACK))
            if ack[1:] != ACK:
                raise DeviceError(f"PN532: expected an ACK, got {ack.hex()}")
            await self._wait_ready(f"the answer to 0x{command:02X}")
            data = parse_frame(await self.bus.read(self.address, 1 + READ_LENGTH))
        if data[:2] != bytes([PN532_TO_HOST, command + 1]):
            raise DeviceError(f"PN532: answer {data[:2].hex()} to command 0x{command:02X}")
        return data[2:]

    async def firmware_version(self) -> tuple[int, int, int, int]:
        """(IC, Ver, Rev, Support): IC 0x32 for a PN532."""
        data = await self.call(GET_FIRMWARE_VERSION)
        if len(data) != 4:
            raise DeviceError(f"PN532: firmware version {data.hex()}")
        return data[0], data[1], data[2], data[3]

    async def setup(self, passive_retries: int = 2) -> None:
        await self.call(SAM_CONFIGURATION, bytes([0x01, 0x14, 0x01]))
        await self.call(RF_CONFIGURATION, bytes([0x05, 0xFF, 0x01, passive_retries]))

    async def read_passive_target(self) -> bytes | None:
        """The UID of the ISO 14443 type A card in the field, or None."""
        resp = await self.call(IN_LIST_PASSIVE_TARGET, bytes([0x01, 0x00]))
        if not resp or resp[0] == 0:
            return None
        if len(resp) < 6 or len(resp) < 6 + resp[5]:
            raise DeviceError(f"PN532: InListPassiveTarget answer cut short: {resp.hex()}")
        uid = bytes(resp[6 : 6 + resp[5]])
        if len(uid) not in UID_LENGTHS:
            raise DeviceError(f"PN532: a {len(uid)}-byte UID is not an ISO 14443-3 UID")
        return uid


class Pn532CardReader:
    """``CardReader`` on a PN532: polls for a card, yields its idTag once per presentation.

    A silent or confused reader is set up again after ``retry_delay_s``; the iterator never
    ends on a device error (only on ``close()``).
    """

    def __init__(self, bus: I2cBus, address: int = 0x24,
                 byte_order: Literal["as_read", "reversed"] = "as_read", *,
                 poll_interval_s: float = 0.2, retry_delay_s: float = 2.0) -> None:
        if byte_order not in ("as_read", "reversed"):
            raise ValueError(f"byte_order must be as_read or reversed, not {byte_order!r}")
        self.chip = Pn532(bus, address)
        self.byte_order = byte_order
        self.poll_interval_s = poll_interval_s
        self.retry_delay_s = retry_delay_s
        self._closed = asyncio.Event()
        self._set_up = False

    async def cards(self) -> AsyncIterator[str]:
        present: bytes | None = None
        failing = False
        while not self._closed.is_set():
            try:
                if not self._set_up:
                    await self.chip.setup()
                    self._set_up = True
                uid = await self.chip.read_passive_target()
            except (DeviceUnavailable, DeviceError) as exc:
                if not failing:
                    log.error("%s; trying again every %g s", exc, self.retry_delay_s)
                failing, self._set_up = True, False
                await self._pause(self.retry_delay_s)
                continue
            if failing:
                log.info("PN532 0x%02X: answers again", self.chip.address)
                failing = False
            if uid is not None and uid != present:
                yield format_uid(uid, self.byte_order)
            present = uid
            await self._pause(self.poll_interval_s)

    async def _pause(self, seconds: float) -> None:
        try:  # asyncio.timeout: wait_for (3.11) may swallow a cancellation that meets the event
            async with asyncio.timeout(seconds):
                await self._closed.wait()
        except TimeoutError:
            pass

    async def close(self) -> None:
        self._closed.set()


@dataclass(frozen=True)
class Pn532Options(I2cOptions):
    address: int = 0x24
    byte_order: Literal["as_read", "reversed"] = "as_read"
    poll_interval_s: float = 0.2  # how often the field is searched for a card


def _check(o: Pn532Options, context: Context) -> None:
    check_i2c_address(o, context)
    if o.poll_interval_s <= 0:
        raise OptionError("poll_interval_s", "must be > 0")


SPEC = DriverSpec(
    name="pn532",
    kind=Kind.CARD_READER,
    options=Pn532Options,
    build=lambda o, wiring: Pn532CardReader(wiring.i2c(), o.address, o.byte_order, poll_interval_s=o.poll_interval_s),
    check=_check,
    summary="NXP PN532 NFC module on I2C",
)
