"""NXP PN532 twin on I²C (docs/hardware/pn532.md#frames: the frame layout of the PN532 user manual).

The host writes an information frame ``00 00 FF LEN LCS D4 CMD params… DCS 00``; a frame
with a wrong LCS or DCS is ignored (the host never gets its ACK). A good one is answered
with an ACK frame ``00 00 FF 00 FF 00`` and then the response ``00 00 FF LEN LCS D5 CMD+1
data… DCS 00``. An ACK frame written by the host aborts the command in progress.

Every I²C read starts with the status byte: 0x01 ready (a frame follows), 0x00 busy. A
read of the status byte alone leaves the frame in place; a longer read takes it.
After the ACK has been read the chip is busy for ``busy_polls`` status reads (it works).

Commands: GetFirmwareVersion (0x02 → IC 0x32, Ver 1, Rev 6, Support 7), SAMConfiguration
(0x14), RFConfiguration (0x32; item 5 MaxRetries sets MxRtyPassiveActivation, 0xFF =
wait for a card for ever, the power-on value), InListPassiveTarget (0x4A, 106 kbps type A:
``NbTg Tg SENS_RES(2) SEL_RES NFCIDLen NFCID``, or ``00`` when no card answered).
Anything else gets the application error frame ``00 00 FF 01 FF 7F 81 00``.
Until SAMConfiguration the RF field is off: no card is found.

A card taken away (:meth:`Pn532Twin.take_away`) leaves the field at once, but the host only
learns it from an InListPassiveTarget that finds no target: until one has,
:attr:`Pn532Twin.seen_empty` is False (the simulator presents the next card only then, as a
hand could not swap cards faster than the host searches the field).
"""

from __future__ import annotations

from collections.abc import Callable

ACK = bytes([0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00])
ERROR_FRAME = bytes([0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00])
FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])
FOREVER = 0xFF


def response_frame(command: int, data: bytes) -> bytes:
    body = bytes([0xD5, command + 1]) + data
    n = len(body)
    return bytes([0x00, 0x00, 0xFF, n, -n & 0xFF]) + body + bytes([-sum(body) & 0xFF, 0x00])


def parse_host_frame(data: bytes) -> bytes | None:
    """``D4 CMD params`` of a well-formed host frame, or None."""
    i = 0
    while i < len(data) and data[i] == 0x00:
        i += 1
    if i + 2 >= len(data) or data[i] != 0xFF:
        return None
    n, lcs = data[i + 1], data[i + 2]
    body = data[i + 3 : i + 3 + n]
    if (n + lcs) & 0xFF or len(body) != n or i + 3 + n >= len(data):
        return None
    if (sum(body) + data[i + 3 + n]) & 0xFF or body[:1] != b"\xd4" or n < 2:
        return None
    return body


class Pn532Twin:
    def __init__(self, busy_polls: int = 1) -> None:
        self.card: bytes | None = None  # UID in the field
        self.seen_empty = True  # an InListPassiveTarget found no card since the last one left
        self.on_seen_empty: Callable[[], None] | None = None  # called when that becomes true
        self.sam_configured = False
        self.passive_retries = FOREVER
        self.busy_polls = busy_polls
        self.commands: list[int] = []  # command codes received, in order
        self.bad_frames = 0
        self._queue: list[bytes | Callable[[], bytes | None]] = []
        self._busy = 0

    def take_away(self) -> None:
        """The card leaves the field; it counts as gone for the host once a search found nothing."""
        if self.card is not None:
            self.card = None
            self.seen_empty = False

    def _found_no_target(self) -> None:
        if not self.seen_empty:
            self.seen_empty = True
            if self.on_seen_empty is not None:
                self.on_seen_empty()

    def write(self, data: bytes) -> None:
        if data.startswith(ACK):
            self._queue.clear()  # the host aborts the command in progress
            return
        body = parse_host_frame(data)
        if body is None:
            self.bad_frames += 1
            return
        command, params = body[1], body[2:]
        self.commands.append(command)
        self._queue = [ACK, lambda: self._answer(command, params)]

    def read(self, n: int) -> bytes:
        frame = self._ready_frame()
        if frame is None:
            return bytes(n)
        if n > 1:
            self._queue.pop(0)
            if frame == ACK:
                self._busy = self.busy_polls
        return (b"\x01" + frame)[:n]

    def _ready_frame(self) -> bytes | None:
        if not self._queue:
            return None
        head = self._queue[0]
        if callable(head):
            if self._busy:
                self._busy -= 1
                return None
            frame = head()
            if frame is None:
                return None  # still waiting (for a card)
            self._queue[0] = head = frame
        return head

    def _answer(self, command: int, params: bytes) -> bytes | None:
        if command == 0x02:
            return response_frame(command, FIRMWARE)
        if command == 0x14:
            self.sam_configured = bool(params) and params[0] == 0x01
            return response_frame(command, b"")
        if command == 0x32:
            if len(params) >= 4 and params[0] == 0x05:
                self.passive_retries = params[3]
            return response_frame(command, b"")
        if command == 0x4A and params[:2] == b"\x01\x00":
            uid = self.card if self.sam_configured else None
            if uid is None:
                self._found_no_target()  # the field was searched (and is still being, for ever)
                return None if self.passive_retries == FOREVER else response_frame(command, b"\x00")
            return response_frame(command, target_data(uid))
        return ERROR_FRAME


def target_data(uid: bytes) -> bytes:
    """NbTg=1, Tg=1, SENS_RES (UID size in bits 7-6 of its LSB), SEL_RES, NFCIDLen, NFCID."""
    size = {4: 0, 7: 1, 10: 2}[len(uid)]
    sens_res = bytes([0x00, 0x04 | size << 6])
    sel_res = 0x08 if len(uid) == 4 else 0x00  # MIFARE Classic 1K / Ultralight-like
    return bytes([0x01, 0x01]) + sens_res + bytes([sel_res, len(uid)]) + uid
