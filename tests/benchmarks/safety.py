"""4. Safety reaction: RCD trip / EV state C→B / unplug → contactor open, on the simulator's side.

The EVSE-DIN board opens its own relay on C→B, on unplug (state A) and on an RCD trip (the
simulated board does it within the same model step; a real one within its firmware loop).
What the agent controls is the current register: it writes 0 once its poll of the board
shows the change (RCD: the session ends; unplug: EVDisconnected). On C→B the agent writes
nothing: the session goes on (SuspendedEV) and the board keeps the relay open until the EV
asks for C again; there the time to the agent noticing (SuspendedEV at the backend) is
reported instead. Measured: trigger (time.time() before the simulator call) → the write of
0 to register 1000 arriving at the simulated board, stamped in the simulator.

Over RTU the same path costs the poll interval plus frame times at the line's speed; see
``rtu_estimate``."""

from __future__ import annotations

import time

from tests.benchmarks.harness import BOARD_UNITS, Rig, bare_modbus_ms
from tests.benchmarks.report import Row, limit_row, summary

KINDS = ("rcd", "unplug", "c_to_b")


def _modbus_rtu_ms(request_bytes: int, response_bytes: int, baud: int, bits_per_char: int = 10) -> float:
    """One RTU transaction: both frames plus the 3.5-character silence after each (Modbus over
    serial line V1.02 §2.5.1.1; above 19200 baud the silence is fixed at 1.75 ms)."""
    char_ms = bits_per_char / baud * 1000
    silence = 3.5 * char_ms if baud <= 19200 else 1.75
    return (request_bytes + response_bytes) * char_ms + 2 * silence


def rtu_estimate(baud: int, poll_s: float, min_interval_s: float = 0.1, boards: int = 2) -> dict[str, float]:
    """The agent's reaction over RTU: wait for the next poll, possibly behind one bus transaction
    already on the line (the longest: the SDM630 total block, FC04 22 registers), then the
    status read (FC03 8 registers: 8 + 21 bytes), the EVSE-DIN's minimum spacing between two
    accesses (``min_interval_s``, 100 ms by default for real boards) and the write (FC16 one
    register: 11 + 8 bytes). Device answer delays are not included (unknown; a few ms)."""
    read = _modbus_rtu_ms(8, 21, baud)
    write = _modbus_rtu_ms(11, 8, baud)
    busy = _modbus_rtu_ms(8, 49, baud)
    fixed = read + min_interval_s * 1000 + write
    # The line cannot poll faster than it carries the two boards' status reads.
    cycle = max(poll_s * 1000, boards * (read + min_interval_s * 1000))
    return {"typical_ms": cycle / 2 + fixed, "worst_ms": cycle + busy + fixed,
            "read_ms": read, "write_ms": write, "poll_cycle_ms": cycle}


async def _one(rig: Rig, kind: str) -> dict:
    await rig.charging(1, "SAFE")
    mark = len(rig.csms.frames)
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
        result["ms"] = (await rig.sim.current_write(1, on=False, after=t0)) * 1000 - t0 * 1000
    mark = len(rig.csms.frames)
    if kind == "rcd":
        rig.sim.clear_fault(1)
    if kind != "unplug":
        rig.sim.unplug(1)
    await rig.status(1, "Available", after=mark)
    return result


async def safety_reaction(rig: Rig, *, runs: int) -> list[Row]:
    bus = await bare_modbus_ms(rig.sim.modbus_port)
    floor = bus["read_ms"] + bus["write_ms"]
    rows = []
    for poll_s in (0.25, 0.05):
        agent = rig.agent(f"safety-{poll_s}", poll_interval_s=poll_s)
        await rig.booted(agent, after=len(rig.csms.frames))
        results = {kind: [await _one(rig, kind) for _ in range(runs)] for kind in KINDS}
        await agent.stop()
        board_ok = all(r["board_relay_open_in_step"] for rs in results.values() for r in rs)
        tag = "default poll 0.25 s" if poll_s == 0.25 else f"poll {poll_s:g} s"
        for kind in ("rcd", "unplug"):
            s = summary([r["ms"] for r in results[kind]])
            rtu = {baud: rtu_estimate(baud, poll_s) for baud in (9600, 19200)}
            rows.append(limit_row(
                f"safety.{kind}@{poll_s:g}s", f"{'RCD trip' if kind == 'rcd' else 'unplug'} -> current 0 written "
                f"(p99, Modbus TCP, {tag})", "ms", s["p99"], 50.0, floor=floor,
                notes=f"p50 {s['p50']:.0f} ms; board relay opened by itself at once: {board_ok}; "
                      + "; ".join(f"RTU {b}: ~{r['typical_ms']:.0f} ms typical, {r['worst_ms']:.0f} ms worst"
                                  for b, r in rtu.items()),
                details={"ms": s, "rtu_estimate": rtu, "floor_bus": bus},
            ))
        s = summary([r["noticed_ms"] for r in results["c_to_b"]])
        writes = sum(r["writes"] for r in results["c_to_b"])
        rows.append(Row(
            f"safety.c_to_b@{poll_s:g}s", f"EV C->B: board relay open (own, same step); agent's SuspendedEV p99 ({tag})",
            "ms", s["p99"], floor, "relay open by the board; agent writes nothing", board_ok and writes == 0,
            "" if board_ok and writes == 0 else f"board open {board_ok}, agent writes {writes}",
            notes="value = trigger -> SuspendedEV at the backend (informational, not a contactor command)",
            details={"noticed_ms": s, "agent_writes": writes},
        ))
    return rows
