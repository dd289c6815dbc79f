"""OpenEVSE controller over RAPI (serial 115200 8N1) — docs/hardware/openevse-rapi.md#link.

Frames (OpenEVSE ``rapi_proc.cpp``, protocol 5.x): ``$CC p1 p2 :SS^XK\\r`` where
``XK`` is the XOR of every character before ``^`` as two hex digits (``$GS^30``)
and ``:SS`` an optional sequence id that the reply echoes. Replies are
``$OK ...`` / ``$NK ...``; the controller also sends, unasked, ``$AT evsestate
pilotstate amps vflags`` on every state change and ``$AB postcode fwrev`` at
boot. Legacy ``*CK`` (8-bit sum) frames are accepted too.

Every command carries a sequence id: a reply that arrives after its command
timed out can never be taken for the answer to the next one.

Commands used: GS (state), GC (current capacity), GG (mA mV), GU (Ws Wh),
``SC amps V`` (volatile, no EEPROM wear), FE (enable), FS (sleep) or FD
(disable). 0 A pauses the EVSE with FS by default: sleeping keeps the pilot at
+12 V and OpenEVSE keeps seeing the EV, so an unplug still ends the session;
FD (``pause_command = "disable"``) drives the pilot to -12 V (state F), where
the EV's presence is unknown.

The link is pyserial (already a dependency through pymodbus) run in a worker
thread; ``serial_for_url`` also opens ``socket://host:port`` (tests, network
bridges) and pty paths.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import serial

from drivers.interfaces import (
    BoardFault,
    BoardStatus,
    DeviceError,
    DeviceUnavailable,
    MeterReading,
    PilotState,
    checked_offer,
)
from drivers.registry import Context, DriverSpec, Kind, OptionError, Wiring

log = logging.getLogger(__name__)

BAUDRATE = 115200
MAX_A = 80.0

# evsestate (J1772EvseController.h EVSE_STATE_*) -> (pilot override, fault)
STATE_A, STATE_B, STATE_C, STATE_D = 0x01, 0x02, 0x03, 0x04
STATE_SLEEPING, STATE_DISABLED = 0xFE, 0xFF
_FAULT_STATES: dict[int, tuple[PilotState | None, BoardFault]] = {
    0x05: (PilotState.E, BoardFault.DIODE),  # diode check failed
    0x06: (None, BoardFault.RCD),  # GFCI tripped
    0x07: (None, BoardFault.OTHER),  # no ground
    0x08: (None, BoardFault.OTHER),  # stuck relay
    0x09: (None, BoardFault.RCD),  # GFI self-test failed
    0x0A: (None, BoardFault.OTHER),  # over temperature
    0x0B: (None, BoardFault.OVERCURRENT),  # over current
    0x0E: (None, BoardFault.OTHER),  # relay closure fault
}
_PILOT = {STATE_A: PilotState.A, STATE_B: PilotState.B, STATE_C: PilotState.C, STATE_D: PilotState.D}

VFLAG_RELAY_CLOSED = 0x0040  # ECVF_CHARGING_ON
VFLAG_EV_CONNECTED = 0x0100  # ECVF_EV_CONNECTED

PauseCommand = Literal["sleep", "disable"]


# ---- frames (pure) -------------------------------------------------------------------


def xor_checksum(body: str) -> str:
    """XOR of every character of ``body`` (which starts with '$'), two uppercase hex digits."""
    chk = 0
    for ch in body.encode("ascii"):
        chk ^= ch
    return f"{chk:02X}"


def encode_frame(command: str, *params: Any, seq: int | None = None) -> bytes:
    """``$CC p1 p2 [:SS]^XK\\r``."""
    if len(command) != 2 or not command.isalnum():
        raise ValueError(f"RAPI command must be two letters/digits, not {command!r}")
    body = "$" + " ".join([command, *(str(p) for p in params)])
    if seq is not None:
        if not 1 <= seq <= 0xFE:
            raise ValueError(f"RAPI sequence id must be 1..254, not {seq}")
        body += f" :{seq:02X}"
    return f"{body}^{xor_checksum(body)}\r".encode("ascii")


@dataclass(frozen=True)
class RapiFrame:
    kind: str  # "OK", "NK", "AT", "AB", ...
    tokens: tuple[str, ...]  # parameters after the kind
    seq: int | None = None


def decode_frame(line: bytes | str) -> RapiFrame:
    """One received frame (without or with the trailing CR) -> RapiFrame; DeviceError if malformed."""
    text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
    start = text.rfind("$")  # skip line noise / echo before the start of frame
    if start < 0:
        raise DeviceError(f"RAPI: no start of frame in {text!r}")
    text = text[start:].strip()
    body, check = text, None
    for mark in ("^", "*"):
        if mark in text:
            body, check = text.split(mark, 1)
            if mark == "^":
                expected = xor_checksum(body)
            else:
                expected = f"{sum(body.encode('ascii')) & 0xFF:02X}"
            if check.upper() != expected:
                raise DeviceError(f"RAPI: bad checksum in {text!r} (want {expected})")
            break
    parts = body[1:].split()
    if not parts:
        raise DeviceError(f"RAPI: empty frame {text!r}")
    seq = None
    if len(parts) > 1 and parts[-1].startswith(":"):
        try:
            seq = int(parts[-1][1:], 16)
        except ValueError:
            raise DeviceError(f"RAPI: bad sequence id in {text!r}") from None
        parts = parts[:-1]
    return RapiFrame(parts[0], tuple(parts[1:]), seq)


@dataclass(frozen=True)
class EvseState:
    evse_state: int
    pilot_state: int
    vflags: int

    @property
    def ev_connected(self) -> bool:
        return bool(self.vflags & VFLAG_EV_CONNECTED)


def _hex(tokens: tuple[str, ...], i: int, what: str) -> int:
    try:
        return int(tokens[i], 16)
    except (IndexError, ValueError):
        raise DeviceError(f"RAPI: bad {what} in {' '.join(tokens)!r}") from None


def _int(tokens: tuple[str, ...], i: int, what: str) -> int:
    try:
        return int(tokens[i])
    except (IndexError, ValueError):
        raise DeviceError(f"RAPI: bad {what} in {' '.join(tokens)!r}") from None


def decode_gs(tokens: tuple[str, ...]) -> EvseState:
    """GS reply ``evsestate elapsed pilotstate vflags`` (hex, decimal, hex, hex)."""
    return EvseState(_hex(tokens, 0, "evsestate"), _hex(tokens, 2, "pilotstate"), _hex(tokens, 3, "vflags"))


def decode_at(tokens: tuple[str, ...]) -> tuple[EvseState, int]:
    """$AT ``evsestate pilotstate amps vflags`` (hex, hex, decimal, hex)."""
    state = EvseState(_hex(tokens, 0, "evsestate"), _hex(tokens, 1, "pilotstate"), _hex(tokens, 3, "vflags"))
    return state, _int(tokens, 2, "amps")


def decode_status(state: EvseState, amps: float) -> BoardStatus:
    """EVSE state + current capacity (A) -> BoardStatus."""
    measured = _PILOT.get(state.pilot_state, PilotState.E)
    relay = bool(state.vflags & VFLAG_RELAY_CLOSED)
    code = state.evse_state
    if code in _PILOT:
        return BoardStatus(pilot=_PILOT[code], relay_closed=relay, offered_current_a=float(amps))
    if code == STATE_SLEEPING:  # paused: pilot steady +12 V, the EV's state still measured
        pilot = _PILOT.get(state.pilot_state) or (PilotState.B if state.ev_connected else PilotState.A)
        return BoardStatus(pilot=pilot, relay_closed=relay, offered_current_a=0.0)
    if code == STATE_DISABLED:
        return BoardStatus(pilot=PilotState.F, relay_closed=relay, offered_current_a=0.0)
    if code in _FAULT_STATES:
        pilot, fault = _FAULT_STATES[code]
        return BoardStatus(pilot=pilot or measured, relay_closed=relay, offered_current_a=0.0, fault=fault)
    raise DeviceError(f"RAPI: unknown EVSE state {code:#04x}")


def decode_gg(tokens: tuple[str, ...]) -> tuple[float, float]:
    """GG ``mA mV`` -> (A, V)."""
    return _int(tokens, 0, "mA") / 1000.0, _int(tokens, 1, "mV") / 1000.0


class EnergyRegister:
    """A monotonic energy register from GU ``session_Ws total_Wh``.

    OpenEVSE (EnergyMeter.cpp) adds the session's Ws to the total only when the
    session ends (EV unplugged), in whole Wh; the session Ws restart at 0 at the
    next plug-in. So the energy so far is total + Ws/3600 while the session is
    not yet folded into the total, and total afterwards. A fold shows as the
    total growing; a new session as the Ws falling.
    """

    def __init__(self) -> None:
        self.folded: bool | None = None
        self._last: tuple[int, int, bool] | None = None
        self.energy_wh = 0.0

    def update(self, session_ws: int, total_wh: int, ev_connected: bool) -> float:
        if self._last is None:
            self.folded = not ev_connected  # no session running: the last one is in the total
        else:
            last_ws, last_total, was_connected = self._last
            if session_ws < last_ws or (ev_connected and not was_connected):
                self.folded = False  # a new session started (its Ws count from 0 again)
            if total_wh > last_total:
                self.folded = True
        self._last = (session_ws, total_wh, ev_connected)
        energy = total_wh + (0.0 if self.folded else session_ws / 3600.0)
        # the fold rounds the session down to whole Wh: hide that sub-Wh step back
        if self.energy_wh - 1.0 < energy < self.energy_wh:
            energy = self.energy_wh
        self.energy_wh = energy
        return energy


def encode_current(amps: float) -> int:
    """A -> SC parameter (whole amps, rounded down); (0, 6) refused; 0 handled by the caller."""
    return int(math.floor(checked_offer(amps, MAX_A) + 1e-9))


# ---- the link ------------------------------------------------------------------------


class RapiLink:
    """One serial line to an OpenEVSE: commands one at a time, replies matched by sequence id."""

    def __init__(self, url: str, *, baudrate: int = BAUDRATE, timeout_s: float = 1.0, name: str | None = None) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.name = name or f"rapi:{url}"
        self._port: Any = None
        self._rx = b""
        self._seq = 0
        self._lock = asyncio.Lock()
        self.on_async: list[Callable[[RapiFrame], None]] = []  # $AT / $AB listeners

    async def command(self, command: str, *params: Any) -> RapiFrame:
        """Send one command; return its $OK/$NK reply. DeviceUnavailable on silence or a dead line."""
        async with self._lock:
            self._seq = self._seq % 0xFE + 1
            seq = self._seq
            frame = encode_frame(command, *params, seq=seq)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            try:
                await asyncio.to_thread(self._write, frame)
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise DeviceUnavailable(f"{self.name}: no reply to {command}")
                    line = await asyncio.to_thread(self._read_line, remaining)
                    if line is None:
                        continue
                    try:
                        reply = decode_frame(line)
                    except DeviceError as exc:
                        log.warning("%s: dropped %s", self.name, exc)  # a garbled frame never stops us
                        continue
                    if reply.kind in ("OK", "NK"):
                        if reply.seq is None or reply.seq == seq:
                            return reply
                        log.debug("%s: stale reply %s dropped", self.name, reply)
                    else:
                        self._dispatch(reply)
            except (serial.SerialException, OSError) as exc:
                self._close_port()
                raise DeviceUnavailable(f"{self.name}: {exc}") from exc

    def _dispatch(self, frame: RapiFrame) -> None:
        for listener in self.on_async:
            try:
                listener(frame)
            except Exception:  # a listener bug must not break the link
                log.exception("%s: listener failed on %s", self.name, frame)

    # blocking parts, run in a worker thread
    def _open(self) -> Any:
        if self._port is None:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1, timeout=0.1)
            self._rx = b""
            log.info("%s: open", self.name)
        return self._port

    def _write(self, data: bytes) -> None:
        self._open().write(data)

    def _read_line(self, timeout_s: float) -> bytes | None:
        """One CR-terminated line, or None when ``timeout_s`` passed first (partial data kept)."""
        port = self._open()
        port.timeout = max(0.01, timeout_s)
        self._rx += port.read_until(b"\r", 512)
        if b"\r" not in self._rx:
            if len(self._rx) > 512:
                self._rx = b""  # garbage without end: drop it
            return None
        line, self._rx = self._rx.split(b"\r", 1)
        return line

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # closing a broken port may fail too
                pass
            self._port = None

    async def close(self) -> None:
        async with self._lock:
            self._close_port()


# ---- board and meter -------------------------------------------------------------------


class OpenEvseBoard:
    """EvseBoard for an OpenEVSE controller; :attr:`meter` is its own ammeter/energy meter."""

    offer_resolution_a = 1.0  # SC / GC in whole amps

    def __init__(self, link: RapiLink, *, pause_command: PauseCommand = "sleep") -> None:
        if pause_command not in ("sleep", "disable"):
            raise ValueError(f"pause_command must be sleep or disable, not {pause_command!r}")
        self.link = link
        self.pause_command: PauseCommand = pause_command
        self.last_state: EvseState | None = None
        self.wanted_a: float | None = None  # the last limit we set: restated after a reboot
        self._rebooted = False
        self.meter = OpenEvseMeter(self)
        link.on_async.append(self._on_async)

    def _on_async(self, frame: RapiFrame) -> None:
        if frame.kind == "AT":
            self.last_state, _amps = decode_at(frame.tokens)
        elif frame.kind == "AB":
            log.warning("%s: controller rebooted (%s)", self.link.name, " ".join(frame.tokens))
            self._rebooted = True

    async def expect_ok(self, command: str, *params: Any) -> RapiFrame:
        reply = await self.link.command(command, *params)
        if reply.kind != "OK":
            raise DeviceError(f"{self.link.name}: {command} refused: ${reply.kind} {' '.join(reply.tokens)}")
        return reply

    async def read_status(self) -> BoardStatus:
        if self._rebooted and self.wanted_a is not None:
            self._rebooted = False  # it comes up enabled at its EEPROM current: restate ours
            await self.set_current_limit(self.wanted_a)
        state = decode_gs((await self.expect_ok("GS")).tokens)
        self.last_state = state
        cap = await self.expect_ok("GC")  # min hmax current cmax
        amps = _int(cap.tokens, 2, "current capacity")
        return decode_status(state, amps)

    async def set_current_limit(self, amps: float) -> None:
        value = encode_current(amps)  # raises ValueError before any I/O
        self.wanted_a = amps
        if value == 0:
            await self.expect_ok("FS" if self.pause_command == "sleep" else "FD")
            return
        reply = await self.link.command("SC", value, "V")  # V: volatile, no EEPROM write
        if reply.kind == "NK":  # clamped by the controller: it offers what it says
            log.warning("%s: SC %d clamped to %s A", self.link.name, value, " ".join(reply.tokens))
        await self.expect_ok("FE")

    async def close(self) -> None:
        await self.link.close()


class OpenEvseMeter:
    """PowerMeter from GG (mA, mV) and GU (session Ws, total Wh)."""

    def __init__(self, board: OpenEvseBoard) -> None:
        self._board = board
        self._energy = EnergyRegister()

    async def read(self) -> MeterReading:
        board = self._board
        if board.last_state is None:
            board.last_state = decode_gs((await board.expect_ok("GS")).tokens)
        amps, volts = decode_gg((await board.expect_ok("GG")).tokens)
        gu = (await board.expect_ok("GU")).tokens
        energy = self._energy.update(_int(gu, 0, "Ws"), _int(gu, 1, "Wh"), board.last_state.ev_connected)
        return MeterReading(energy_wh=energy, power_w=amps * volts, current_a=(amps,), voltage_v=(volts,))

    async def close(self) -> None:
        """Closed with the board's link."""


@dataclass(frozen=True)
class OpenEvseOptions:
    device: str  # /dev/ttyUSB0, a pty, or socket://host:port
    baudrate: int = BAUDRATE
    timeout_s: float = 1.0  # wait for a RAPI reply
    pause_command: PauseCommand = "sleep"  # FS or FD for 0 A


def _check(o: OpenEvseOptions, context: Context) -> None:
    if not o.device:
        raise OptionError("device", "required: the serial port or socket://host:port")
    if o.baudrate <= 0:
        raise OptionError("baudrate", "must be > 0")
    if o.timeout_s <= 0:
        raise OptionError("timeout_s", "must be > 0")


def _build(o: OpenEvseOptions, wiring: Wiring) -> OpenEvseBoard:
    link = RapiLink(o.device, baudrate=o.baudrate, timeout_s=o.timeout_s)
    wiring.own(link)
    return OpenEvseBoard(link, pause_command=o.pause_command)


SPEC = DriverSpec(
    name="openevse",
    kind=Kind.BOARD,
    options=OpenEvseOptions,
    build=_build,
    provides=frozenset({"meter"}),
    check=_check,
    summary="OpenEVSE controller over RAPI, own meter (serial 115200 8N1 or socket://)",
)
