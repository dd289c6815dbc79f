"""OpenEVSE controller: RAPI commands, relay rules and energy meter (docs/hardware/openevse-rapi.md#commands).

Pure logic, no I/O, written from the protocol description and OpenEVSE's
``rapi_proc.cpp`` / ``EnergyMeter.cpp`` (not from the agent's driver). The
endpoint (``simulator.wire.rapi``) feeds it lines and sends what it returns.

Frames ``$CC p1 p2 [:SS]^XK``: XK = XOR of all characters before '^' (``*CK`` =
8-bit sum, or no checksum, are accepted too); a bad checksum gets ``$NK``.
Replies echo the sequence id. Implemented: GS, GC, GE, GG, GU, GV, SC (clamped
with ``$NK amps``), FE, FD, FS, FR. Anything else: ``$NK``.

Energy as the firmware keeps it: the session Ws restart at plug-in, and are
added (whole Wh) to the total only when the EV is unplugged.
"""

from __future__ import annotations

from simulator.twins.boards.evse_din import BoardInputs
from simulator.pilot import Pilot
from simulator.twins.meters.eastron import Sdm630

MIN_A, HW_MAX_A = 6, 32
FIRMWARE, RAPI_VERSION = "8.2.1", "5.2.1"

STATE_OF_PILOT = {Pilot.A: 0x01, Pilot.B: 0x02, Pilot.C: 0x03, Pilot.D: 0x04}
DIODE, GFCI, OVER_CURRENT = 0x05, 0x06, 0x0B
SLEEPING, DISABLED = 0xFE, 0xFF
VFLAG_RELAY_CLOSED = 0x0040
VFLAG_EV_CONNECTED = 0x0100


def checksum(body: str) -> str:
    x = 0
    for c in body.encode("ascii"):
        x ^= c
    return f"{x:02X}"


def frame(body: str) -> str:
    return f"{body}^{checksum(body)}\r"


class OpenEvseBoard:
    on_bus = False  # reached over RAPI, not on the Modbus bus
    blocks = ()
    centi = False

    def __init__(self, meter: Sdm630, default_current_a: int = 16):
        self.meter = meter
        self.default_current_a = default_current_a  # its EEPROM current
        self.rcd_clear_requested = False
        self.total_wh = 0  # kept in EEPROM
        self.boots = 0  # power-ups since the simulator started (the endpoint sends $AB for each)
        self.power_up()
        self.boots = 0

    def power_up(self) -> None:
        """A reboot or brown-out: enabled again at its EEPROM current (a volatile ``SC … V``
        is lost, docs/hardware/openevse-rapi.md#commands), the relay open, no energy session;
        ``$AB`` follows (docs/hardware/openevse-rapi.md#frames)."""
        self.amps = max(MIN_A, min(self.default_current_a, HW_MAX_A))
        self.mode = "enabled"  # "enabled" | "sleeping" | "disabled"
        self.relay = False
        self.elapsed_s = 0
        self.session_start_wh: float | None = None  # None: no session (EV not connected)
        self.session_ws = 0
        self.boots += 1

    def boot_line(self) -> str:
        """The ``$AB postcode fwrev`` line sent at boot (post code 00: passed)."""
        return frame(f"$AB 00 {FIRMWARE}")

    @property
    def current_raw(self) -> int:
        return self.amps

    # --- behaviour ---------------------------------------------------------
    def pwm_current_a(self, inputs: BoardInputs) -> float:
        if self.mode != "enabled" or inputs.rcd_error or inputs.diode_fail or inputs.overcurrent:
            return 0.0
        return float(self.amps)

    def decide_relay(self, inputs: BoardInputs) -> bool:
        """Relay rule, plus the energy session (EnergyMeter.cpp) on every update."""
        self.relay = inputs.pilot in (Pilot.C, Pilot.D) and self.pwm_current_a(inputs) >= MIN_A
        connected = inputs.pilot in (Pilot.B, Pilot.C, Pilot.D)
        now_wh = self.meter.import_kwh * 1000
        if connected and self.session_start_wh is None:
            self.session_start_wh, self.session_ws = now_wh, 0  # startSession()
        elif not connected and self.session_start_wh is not None:
            self.total_wh += self.session_ws // 3600  # endSession(): whole Wh
            self.session_start_wh = None
        if self.session_start_wh is not None:
            self.session_ws = int((now_wh - self.session_start_wh) * 3600)
        return self.relay

    def accessed(self, now: float) -> None:
        """No heartbeat supervision (SY) in this twin."""

    def tick(self, now: float) -> bool:
        return False

    def evse_state(self, inputs: BoardInputs) -> int:
        if inputs.diode_fail or inputs.pilot is Pilot.E:
            return DIODE
        if inputs.rcd_error:
            return GFCI
        if inputs.overcurrent:
            return OVER_CURRENT
        if self.mode == "disabled":
            return DISABLED
        if self.mode == "sleeping":
            return SLEEPING
        return STATE_OF_PILOT.get(inputs.pilot, DIODE)

    def vflags(self, inputs: BoardInputs) -> int:
        flags = VFLAG_RELAY_CLOSED if self.relay else 0
        if inputs.pilot in (Pilot.B, Pilot.C, Pilot.D):
            flags |= VFLAG_EV_CONNECTED
        return flags

    def async_state(self, inputs: BoardInputs) -> str:
        """The ``$AT`` line sent on every state change."""
        pilot = STATE_OF_PILOT.get(inputs.pilot, DIODE)
        return frame(f"$AT {self.evse_state(inputs):02x} {pilot:02x} {self.amps} {self.vflags(inputs):04x}")

    # --- RAPI ----------------------------------------------------------------
    def command(self, line: str, inputs: BoardInputs) -> str | None:
        """One received frame -> the reply line (None for noise without a start of frame)."""
        start = line.find("$")
        if start < 0:
            return None
        text = line[start:].strip()
        body = text
        if "^" in text:
            body, chk = text.split("^", 1)
            if chk.upper() != checksum(body):
                return frame("$NK")
        elif "*" in text:
            body, chk = text.split("*", 1)
            if chk.upper() != f"{sum(body.encode('ascii')) & 0xFF:02X}":
                return frame("$NK")
        tokens = body[1:].split()
        seq = ""
        if len(tokens) > 1 and tokens[-1].startswith(":"):
            seq, tokens = " " + tokens[-1].upper(), tokens[:-1]
        if not tokens:
            return frame("$NK" + seq)
        ok, data = self._run(tokens[0].upper(), tokens[1:], inputs)
        reply = ("$OK" if ok else "$NK") + (f" {data}" if data else "") + seq
        return frame(reply)

    def _run(self, cmd: str, args: list[str], inputs: BoardInputs) -> tuple[bool, str]:
        m = self.meter
        if cmd == "GS":
            return True, f"{self.evse_state(inputs):02x} {self.elapsed_s} " \
                         f"{STATE_OF_PILOT.get(inputs.pilot, DIODE):02x} {self.vflags(inputs):04x}"
        if cmd == "GC":
            return True, f"{MIN_A} {HW_MAX_A} {self.amps} {HW_MAX_A}"
        if cmd == "GE":
            return True, f"{self.amps} 0000"
        if cmd == "GG":
            return True, f"{round(m.currents[0] * 1000)} {round(m.voltage * 1000)}"
        if cmd == "GU":
            return True, f"{self.session_ws} {self.total_wh}"
        if cmd == "GV":
            return True, f"{FIRMWARE} {RAPI_VERSION}"
        if cmd == "SC" and len(args) in (1, 2) and args[0].isdigit():
            wanted = int(args[0])
            self.amps = max(MIN_A, min(wanted, HW_MAX_A))
            return self.amps == wanted, str(self.amps)
        if cmd in ("FE", "FS", "FD", "FR") and not args:
            self.mode = {"FE": "enabled", "FS": "sleeping", "FD": "disabled", "FR": "enabled"}[cmd]
            return True, ""
        return False, ""
