"""1. Footprint and idle CPU, 2. start-up: the agent against the import-only floor.

Footprint: VmRSS of ``evse-agent run`` with two connectors, connected to the loopback
backend and charging on both, against a Python process that imports exactly the library
modules the agent had imported by then (its own ``-X importtime`` list), and against a fixed
floor that does not grow with what the agent imports: Python importing only what an OCPP 1.6
station on this hardware cannot do without (``FIXED_FLOOR``: ocpp, websockets, pymodbus,
gpiozero, smbus2, pyscard, sqlite3). CPU: utime + stime from /proc/PID/stat, idle (connected,
nothing plugged in) against 1 % of a core, and over a window of steady charging (MeterValues
every 10 s) against a bare pymodbus client doing the agent's reads at its pace: while current
flows each board is read every 0.03 s for the safety reaction (issue 14, item 2), which costs
about as much CPU as everything else the agent does.
Start-up: process creation → BootNotification received by the backend, against process
creation → imports done in the floor process; pairs run alternately, the ratio of medians."""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict

from tests.benchmarks.backend import is_call
from agent.station.board_watch import DEFAULT_ENERGIZED_POLL_S
from drivers.boards.evse_din import REG_STATUS_FIRST, STATUS_COUNT
from drivers.meters.eastron import PHASE_BLOCK, TOTAL_BLOCK
from tests.benchmarks.floor import end_floor, library_modules, parse_importtime, polling_floor_cpu, start_floor
from tests.benchmarks.harness import BOARD_UNITS, Rig, cpu_seconds, rss_kb
from tests.benchmarks.report import Row, limit_row, ratio_row


# The design card's floor: the modules a 1.6 station's parts come from (OCPP 1.6 RPC, its
# websocket client, Modbus client, GPIO, I2C, PC/SC, SQLite), nothing the agent adds.
FIXED_FLOOR = ("ocpp.v16", "websockets.asyncio.client", "pymodbus.client", "gpiozero", "smbus2", "smartcard.System",
               "sqlite3")


# What the agent reads while both connectors charge: each board's status, each meter's two blocks.
POLLED_READS = [read for unit in BOARD_UNITS.values() for read in (
    ("board", unit, REG_STATUS_FIRST, STATUS_COUNT), ("meter", unit + 1, *PHASE_BLOCK), ("meter", unit + 1, *TOTAL_BLOCK))]


async def _cpu_pct(pid: int, window_s: float) -> float:
    loop = asyncio.get_running_loop()
    before, t0 = cpu_seconds(pid), loop.time()
    await asyncio.sleep(window_s)  # the measuring window itself
    return (cpu_seconds(pid) - before) / (loop.time() - t0) * 100


async def footprint(rig: Rig, *, idle_s: float, card_reader: bool) -> list[Row]:
    agent = rig.agent("footprint", python_flags=("-X", "importtime"), card_reader=card_reader)
    await rig.booted(agent)
    await rig.status(2, "Available")
    pid = agent.proc.pid
    idle_window_s = min(idle_s, 30.0)
    idle_pct = await _cpu_pct(pid, idle_window_s)  # connected, nothing plugged in
    for connector in (1, 2):
        await rig.charging(connector, f"FOOT{connector}")
    if idle_s >= 20:  # steady: the first periodic MeterValues of both connectors went out
        mark = len(rig.csms.frames)
        for connector in (1, 2):
            await rig.csms.wait_for(is_call("MeterValues", connectorId=connector), timeout=30, after=mark)
    charging_pct = await _cpu_pct(pid, idle_s)
    meter_values = len(rig.csms.calls("MeterValues"))
    agent_kb = rss_kb(pid)
    modules = library_modules(parse_importtime(agent.log()))
    floor_proc, _ = await start_floor(modules)
    floor_kb = rss_kb(floor_proc.pid)
    await end_floor(floor_proc)
    fixed_proc, _ = await start_floor(list(FIXED_FLOOR))
    fixed_kb = rss_kb(fixed_proc.pid)
    await end_floor(fixed_proc)
    await agent.stop()  # the floor below polls the same simulated boards and meters alone
    polling_pct = await polling_floor_cpu(rig.sim.modbus_port, idle_s, DEFAULT_ENERGIZED_POLL_S, 1.0, POLLED_READS)
    heavy = sorted({m.split(".")[0] for m in modules} & {"cryptography", "aiohttp"})
    return [
        ratio_row(
            "footprint.rss", "RSS, 2 connectors charging, connected", "MB", agent_kb / 1024, floor_kb / 1024, 1.25,
            notes=f"floor: python importing the {len(modules)} library modules the running agent had imported"
            + ("" if card_reader else " (smoke: no card reader)"),
            details={"agent_kb": agent_kb, "floor_kb": floor_kb, "modules": len(modules)},
        ),
        ratio_row(
            "footprint.rss_fixed", "RSS, 2 connectors charging, connected (fixed floor)", "MB", agent_kb / 1024,
            fixed_kb / 1024, 1.25,
            notes="floor: python importing only " + ", ".join(FIXED_FLOOR)
            + ("; optional libraries the agent had loaded: " + ", ".join(heavy) if heavy else
               "; neither cryptography nor aiohttp loaded")
            + ("" if card_reader else " (smoke: no card reader)"),
            details={"agent_kb": agent_kb, "floor_kb": fixed_kb, "modules": list(FIXED_FLOOR), "optional_loaded": heavy},
        ),
        limit_row(
            "footprint.idle_cpu", f"CPU connected, nothing plugged in, {idle_window_s:g} s window", "% core",
            idle_pct, 1.0, notes="utime+stime of the agent process; boards polled every 0.25 s, meters not read",
            details={"window_s": idle_window_s},
        ),
        ratio_row(
            "footprint.charging_cpu", f"CPU while charging on 2 connectors, {idle_s:g} s window", "% core",
            charging_pct, polling_pct, 1.25,
            notes=f"floor: a bare pymodbus client reading the same boards every {DEFAULT_ENERGIZED_POLL_S:g} s and "
            "the same meters every 1 s (the agent's energized pace, for the safety reaction), nothing else",
            details={"window_s": idle_s, "meter_values_seen": meter_values, "reads": POLLED_READS},
        ),
    ]


def import_costs(imports: list[tuple[str, int, int, int]]) -> list[tuple[str, float]]:
    """Milliseconds of import time by top-level package (self times summed), largest first."""
    by_top: dict[str, int] = defaultdict(int)
    for name, self_us, _cum, _depth in imports:
        by_top[name.split(".")[0]] += self_us
    return sorted(((k, v / 1000) for k, v in by_top.items()), key=lambda kv: -kv[1])


def unneeded(imports: list[tuple[str, int, int, int]]) -> dict[str, float]:
    """Cumulative ms of imports a charge point running OCPP 1.6 with EVSE-DIN + SDM630 does not
    need at start-up (other OCPP versions, HTTP server/client stacks, crypto, other drivers)."""
    suspects = ("ocpp.v201", "ocpp.v21", "aiohttp", "cryptography", "pymodbus.server", "pymodbus.simulator",
                "gpiozero", "smbus2", "serial_asyncio", "ftplib", "urllib.request", "http.client", "tarfile",
                "agent.maintenance.firmware", "agent.maintenance.diagnostics", "agent.maintenance.transfer", "agent.security.certificates",
                "agent.security.link_security", "agent.core.smart_charging", "drivers.boards.heidelberg", "drivers.boards.bender",
                "drivers.boards.openevse", "drivers.meters.abb_b23")
    found = {}
    for name, _self, cum, _depth in imports:
        if name in suspects and name not in found:
            found[name] = cum / 1000
    return found


async def startup(rig: Rig, *, runs: int, card_reader: bool) -> list[Row]:
    # One run with -X importtime (not timed): what it imports, and the floor's module list.
    probe = rig.agent("startup-probe", python_flags=("-X", "importtime"), card_reader=card_reader)
    await rig.booted(probe)
    await probe.stop()
    imports = parse_importtime(probe.log())
    modules = library_modules(imports)
    agent_s, floor_s = [], []
    for n in range(runs):  # A B A B ...: a drift of the machine's speed hits both alike
        agent = rig.agent(f"startup-{n}", card_reader=card_reader)
        mark = len(rig.csms.frames)
        booted = await rig.booted(agent, after=mark)
        agent_s.append(booted - agent.started)
        await agent.stop()
        proc, elapsed = await start_floor(modules)
        await end_floor(proc)
        floor_s.append(elapsed)
    agent_ms, floor_ms = statistics.median(agent_s) * 1000, statistics.median(floor_s) * 1000
    extra = unneeded(imports)
    costs = import_costs(imports)
    notes = "floor: python importing the same library modules; " + (
        "not needed at start-up: " + ", ".join(f"{k} {v:.0f} ms" for k, v in extra.items()) if extra
        else "nothing imported beyond OCPP 1.6 and the configured drivers"
    )
    return [
        ratio_row(
            "startup.boot", "process start -> BootNotification at the backend", "ms", agent_ms, floor_ms, 2.0,
            notes=notes,
            details={"agent_ms": [round(s * 1000, 1) for s in agent_s], "floor_ms": [round(s * 1000, 1) for s in floor_s],
                     "unneeded_cumulative_ms": extra, "import_ms_by_package": dict(costs[:15])},
        )
    ]
