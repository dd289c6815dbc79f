"""6. Simulator scale: how many chargers one process (one core) drives (light mode,
tests/benchmarks/fleet.py: every CALL and CALLRESULT validated against the OCPP 1.6 schemas)
against a loopback backend (its own process) with a Heartbeat and a MeterValues every
interval, before it falls behind; then the same fleet spread over one process per core.

Falls behind: the p99 of (both answers received − when due) is over 1 s, or a charger's
messages did not all go out within the window. Sizes grow until one falls behind. The
floor: the same fleet without any OCPP checks (pre-formatted frames), at the largest size
that kept up; compared as the CPU-bound capacity (chargers per fully used core), which is
also what a loaded machine (other processes taking the cores) still shows truthfully."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.benchmarks.harness import ROOT, cpu_seconds
from tests.benchmarks.report import Row

MAX_DELAY_S = 1.0
TARGET = 10_000  # chargers from one process (one core), every message validated
MAX_CONNECTIONS = 15_000  # one backend process; file descriptors (ulimit -n) bound it


async def _fleet(url: str, n: int, window_s: float, interval_s: float, raw: bool = False, processes: int = 1) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.fleet", url, str(n), str(window_s), str(interval_s),
        *(["--raw"] if raw else []), "--processes", str(processes), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return json.loads(out.decode().strip().splitlines()[-1])


def kept_up(result: dict) -> bool:
    return result["unfinished"] == 0 and result["delay_p99_s"] <= MAX_DELAY_S


def capacity(result: dict) -> float:
    """Chargers one fully busy core could drive at this cost per charger."""
    return result["n"] * result["window_s"] / result["cpu_s"] if result["cpu_s"] > 0 else float("inf")


async def simulator_scale(workdir: Path, *, sizes: tuple[int, ...], window_s: float, interval_s: float) -> list[Row]:
    backend = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.backend", cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        port = int((await backend.stdout.readline()).split()[1])
        url = f"ws://127.0.0.1:{port}"
        results, best = [], None
        for n in sizes:
            before = cpu_seconds(backend.pid)
            result = await _fleet(url, n, window_s, interval_s)
            result["backend_cpu_s"] = cpu_seconds(backend.pid) - before
            results.append(result)
            if not kept_up(result):
                break
            best = result
        floor = await _fleet(url, best["n"] if best else sizes[0], window_s, interval_s, raw=True)
        cores = os.cpu_count() or 1
        spread_n = min(MAX_CONNECTIONS, cores * max(best["n"] if best else sizes[0], sizes[-1]))
        before = cpu_seconds(backend.pid)
        spread = await _fleet(url, spread_n, window_s, interval_s, processes=cores)
        spread["backend_cpu_s"] = cpu_seconds(backend.pid) - before
    finally:
        backend.terminate()
        await backend.wait()
    value = best["n"] if best else 0
    fell = next((r for r in results if not kept_up(r)), None)
    ocpp_capacity = capacity(best or results[0])
    raw_capacity = capacity(floor)
    notes = (f"kept up at {', '.join(str(r['n']) for r in results if kept_up(r)) or 'none'}"
             + (f"; fell behind at {fell['n']} (p99 {fell['delay_p99_s']:.1f} s)" if fell else
                f"; largest size tried ({sizes[-1]}) kept up: the limit is higher")
             + f"; CPU-bound capacity {ocpp_capacity:.0f} chargers/core validated, "
             f"{raw_capacity:.0f} without (floor)")
    per_message = lambda r: r["cpu_s"] / max(1, r["answered_pairs"] * 2) * 1000  # noqa: E731
    cost = Row(
        "scale.cost", "CPU per message in the fleet process (validated OCPP vs bare websockets)", "ms",
        per_message(best or results[0]), per_message(floor), "- (reported)", None,
        notes="floor: the same fleet sending pre-formatted frames, no OCPP checks",
    )
    spread_row = Row(
        "scale.fleet_all_cores", f"the same fleet over {spread['processes']} processes (one per core), "
        "p99 answer delay", "s", spread["delay_p99_s"], None, f"<= {MAX_DELAY_S:g} s (reported)", None,
        notes=f"{spread['n']} chargers, {spread['processes']} processes; "
              + ("kept up" if kept_up(spread) else "fell behind")
              + f"; fleet CPU {spread['cpu_s']:.1f} s, backend CPU {spread['backend_cpu_s']:.1f} s in the "
              f"{window_s:g} s window (the backend is one process: with every core driving chargers it shares them)",
        details={"run": spread},
    )
    return [Row(
        "scale.fleet", f"chargers one process (one core) keeps up with, every message validated (light mode, "
        f"heartbeat + meter values every {interval_s:g} s)",
        "chargers", value, None, f">= {TARGET} chargers", value >= TARGET,
        "" if value >= TARGET else f"{TARGET - value} short",
        notes=notes,
        details={"runs": results, "floor_raw": floor, "capacity_per_core": ocpp_capacity,
                 "floor_capacity_per_core": raw_capacity},
    ), cost, spread_row]
