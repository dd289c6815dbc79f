"""4. Safety reaction: RCD trip / EV state C->B / unplug -> current 0, on the simulator's side.

The EVSE-DIN board opens its own relay on C->B, on unplug (state A) and on an RCD trip (the
simulated board does it within the same model step; a real one within its firmware loop).
What the agent controls is the current register: its hardware thread (agent/station/
board_watch.py) reads the board every ``energized_poll_interval_s`` (0.03 s by default) while
current is offered and writes 0 at once when the reading shows the change, then tells the
event loop (RCD: the session ends; unplug: EVDisconnected). On C->B the agent writes nothing:
the session goes on (SuspendedEV) and the board keeps the relay open until the EV asks for C
again; there the time to the agent noticing (SuspendedEV at the backend) is reported instead.
Measured: trigger (time.time() before the simulator call) -> the write of 0 to register 1000
arriving at the simulated board, stamped in the simulator; once with the default settings, and
once with the agent's event loop blocked by a busy computation ([testing] loop_stall_s +
SIGUSR2, agent/app/testing_hooks.py) when the trigger comes.

CPU: utime + stime of the agent over a window with nothing charging (idle: < 1 % of a core)
and with two connectors charging (both boards polled fast).

Over RS-485 (RTU) the same path is bounded by the line, not the agent: ``rs485_budget``
computes it from frame sizes (method in its docstring)."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.benchmarks.harness import BOARD_UNITS, Rig, bare_modbus_ms, cpu_seconds, wait_log
from tests.benchmarks.report import Row, limit_row, summary

KINDS = ("rcd", "unplug", "c_to_b")
STALL_S = 1.5  # the event loop blocked this long per loop-blocked run
SETTLE_S = 0.2  # after the session started, before the trigger
# Frames (bytes, RTU: address + PDU + CRC) of what the agent puts on the line.
BOARD_READ = (8, 21)  # EVSE-DIN status: FC03 1000..1007 (8 registers)
BOARD_WRITE = (11, 8)  # EVSE-DIN current: FC16 1000 (1 register), as the driver writes it
METER_READS = ((8, 29), (8, 49))  # SDM630 once a second: FC04 12 registers (V, I), FC04 22 (P .. kWh)
EVSE_DIN_SPACING_S = 0.1  # the board's access spacing (drivers/boards/evse_din.py min_interval_s)


def _modbus_rtu_ms(request_bytes: int, response_bytes: int, baud: int, bits_per_char: int = 10) -> float:
    """One RTU transaction: both frames plus the 3.5-character silence after each (Modbus over
    serial line V1.02 §2.5.1.1; above 19200 baud the silence is fixed at 1.75 ms)."""
    char_ms = bits_per_char / baud * 1000
    silence = 3.5 * char_ms if baud <= 19200 else 1.75
    return (request_bytes + response_bytes) * char_ms + 2 * silence


def rs485_budget(baud: int, *, boards: int = 2, meters: int = 2, idle_poll_s: float = 0.25,
                 energized_poll_s: float = 0.03, spacing_s: float = EVSE_DIN_SPACING_S) -> dict[str, float]:
    """Boards and meters on one RTU line (8N1, 10 bits a character), computed, not measured.

    Line used = the sum over every transaction per second of its time on the line (both frames
    and their 3.5-character silences; device answer delays are not known and not included):
    each board's status read every poll (idle: ``idle_poll_s``; charging: every
    ``energized_poll_s`` but no faster than the board's access spacing ``spacing_s``), each
    meter's two reads once a second. When that exceeds the line, the polls stretch (round
    robin): the board's period is multiplied by the overload.

    Reaction (charging, every board energized) = wait for the board's next read (typical half a
    period, worst a whole one) + the read + the board's access spacing before the next access to
    it + the write; worst also waits behind one transaction already on the line (the longest,
    a meter's 22-register read)."""
    read, write = _modbus_rtu_ms(*BOARD_READ, baud), _modbus_rtu_ms(*BOARD_WRITE, baud)
    meter = sum(_modbus_rtu_ms(*f, baud) for f in METER_READS)
    busy = max(_modbus_rtu_ms(*f, baud) for f in METER_READS)

    def used(period_s: float) -> float:
        return (boards * read / period_s + meters * meter) / 1000

    idle = used(idle_poll_s)
    period = max(energized_poll_s, spacing_s)
    charging = used(period)
    period_ms = period * 1000 * max(1.0, charging)
    fixed = read + spacing_s * 1000 + write
    return {"line_idle": min(1.0, idle), "line_charging": min(1.0, charging), "board_period_ms": period_ms,
            "typical_ms": period_ms / 2 + fixed, "worst_ms": period_ms + busy + fixed,
            "read_ms": read, "write_ms": write, "meter_ms": meter}


async def _block_loop(agent) -> float:
    """SIGUSR2: the agent's event loop computes for STALL_S; when the agent logged that it began."""
    sent = time.time()
    agent.proc.send_signal(signal.SIGUSR2)
    return await wait_log(agent, "testing: event loop blocked", after=sent)


async def _one(rig: Rig, kind: str, agent=None) -> dict:
    """One trigger while connector 1 charges; ``agent`` given: with its event loop blocked."""
    await rig.charging(1, "SAFE")
    # The simulator and the backend share this process with the measurement: let the burst of
    # the session's start (StartTransaction, StatusNotification) pass, so that it is the agent
    # that is timed, not this process answering its own backlog.
    await asyncio.sleep(SETTLE_S)
    mark = len(rig.csms.frames)
    blocked = await _block_loop(agent) if agent is not None else None
    t0 = time.time()
    if kind == "rcd":
        rig.sim.inject_fault(1, "rcd")
    elif kind == "unplug":
        rig.sim.unplug(1)
    else:
        rig.sim.set_ev_state(1, "B")
    board_open = not rig.sim.evse_state(1)["contactor_closed"]  # the board's own relay, same model step
    result = {"board_relay_open_in_step": board_open}
    if kind == "c_to_b":
        noticed = await rig.status(1, "SuspendedEV", after=mark)
        result["noticed_ms"] = (noticed - t0) * 1000
        written = [w for stamp, w in rig.sim.stamped_writes
                   if stamp >= t0 and w.unit == BOARD_UNITS[1] and w.address == 1000]
        result["writes"] = len(written)
    else:
        written_at = await rig.sim.current_write(1, on=False, after=t0)
        result["ms"] = (written_at - t0) * 1000
        if blocked is not None:  # the write came before the loop was released
            released = await wait_log(agent, "testing: event loop released", after=blocked, timeout=STALL_S + 20)
            result["before_release"] = written_at < released
    mark = len(rig.csms.frames)
    if kind == "rcd":
        rig.sim.clear_fault(1)
    if kind != "unplug":
        rig.sim.unplug(1)
    await rig.status(1, "Available", after=mark)
    return result


async def _cpu_pct(agent, window_s: float) -> float:
    pid, loop = agent.proc.pid, asyncio.get_running_loop()
    before, t0 = cpu_seconds(pid), loop.time()
    await asyncio.sleep(window_s)  # the measuring window itself
    return (cpu_seconds(pid) - before) / (loop.time() - t0) * 100


def _rs485_rows() -> list[Row]:
    rows = []
    for baud in (9600, 19200):
        b = rs485_budget(baud)
        unspaced = rs485_budget(baud, spacing_s=0.0)
        rows.append(Row(
            f"safety.rs485@{baud}", f"RS-485 at {baud} baud, 2 EVSE-DIN + 2 SDM630 on one line: reaction "
            "(typical, computed) while both charge", "ms", b["typical_ms"], None, "computed (see notes)", None,
            notes=f"line used {b['line_idle'] * 100:.0f} % idle, {b['line_charging'] * 100:.0f} % charging; "
                  f"reaction {b['typical_ms']:.0f} ms typical, {b['worst_ms']:.0f} ms worst, of which the "
                  f"board's {EVSE_DIN_SPACING_S * 1000:.0f} ms access spacing; a board without spacing: "
                  f"{unspaced['typical_ms']:.0f} / {unspaced['worst_ms']:.0f} ms, line "
                  f"{unspaced['line_charging'] * 100:.0f} % (method: tests/benchmarks/safety.py rs485_budget)",
            details={"spaced": b, "unspaced": unspaced},
        ))
    return rows


async def safety_reaction(rig: Rig, *, runs: int, cpu_window_s: float = 10.0) -> list[Row]:
    bus = await bare_modbus_ms(rig.sim.modbus_port)
    floor = bus["read_ms"] + bus["write_ms"]
    rows = []
    agent = rig.agent("safety-default", extra=f"\n[testing]\nloop_stall_s = {STALL_S}\n")
    await rig.booted(agent, after=len(rig.csms.frames))
    await rig.status(2, "Available")
    idle_cpu = await _cpu_pct(agent, cpu_window_s)
    results = {kind: [await _one(rig, kind) for _ in range(runs)] for kind in KINDS}
    blocked = [await _one(rig, "rcd", agent) for _ in range(runs)]
    for connector in (1, 2):
        await rig.charging(connector, f"CPU{connector}")
    charging_cpu = await _cpu_pct(agent, cpu_window_s)
    await agent.stop()
    board_ok = all(r["board_relay_open_in_step"] for rs in results.values() for r in rs)
    tag = "default settings: poll 0.25 s, 0.03 s while energized"
    for kind in ("rcd", "unplug"):
        s = summary([r["ms"] for r in results[kind]])
        rows.append(limit_row(
            f"safety.{kind}@default", f"{'RCD trip' if kind == 'rcd' else 'unplug'} -> current 0 written "
            f"(p99, Modbus TCP, {tag})", "ms", s["p99"], 50.0, floor=floor,
            notes=f"p50 {s['p50']:.0f} ms; board relay opened by itself at once: {board_ok}",
            details={"ms": s, "floor_bus": bus},
        ))
    s = summary([r["ms"] for r in blocked])
    during = sum(r["before_release"] for r in blocked)
    rows.append(limit_row(
        "safety.rcd@loop_blocked", f"RCD trip -> current 0 written, event loop blocked (busy {STALL_S:g} s) "
        f"(p99, Modbus TCP, {tag})", "ms", s["p99"], 50.0, floor=floor,
        notes=f"p50 {s['p50']:.0f} ms; written before the loop was released: {during} of {len(blocked)}",
        details={"ms": s, "before_release": during},
    ))
    s = summary([r["noticed_ms"] for r in results["c_to_b"]])
    writes = sum(r["writes"] for r in results["c_to_b"])
    rows.append(Row(
        "safety.c_to_b@default", f"EV C->B: board relay open (own, same step); agent's SuspendedEV p99 ({tag})",
        "ms", s["p99"], floor, "relay open by the board; agent writes nothing", board_ok and writes == 0,
        "" if board_ok and writes == 0 else f"board open {board_ok}, agent writes {writes}",
        notes="value = trigger -> SuspendedEV at the backend (informational, not a contactor command)",
        details={"noticed_ms": s, "agent_writes": writes},
    ))
    rows.append(limit_row(
        "safety.cpu_idle", f"CPU with nothing charging ({tag}), {cpu_window_s:g} s window", "% core",
        idle_cpu, 1.0, details={"window_s": cpu_window_s}))
    rows.append(Row(
        "safety.cpu_charging", f"CPU while 2 connectors charge (both boards polled every 0.03 s), "
        f"{cpu_window_s:g} s window", "% core", charging_cpu, None, "reported", None,
        details={"window_s": cpu_window_s}))
    return rows + _rs485_rows()
