"""The benchmarks by name, and the settings of each mode."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from tests.benchmarks.harness import Rig
from tests.benchmarks.report import Row


@dataclass(frozen=True)
class Mode:
    name: str
    idle_s: float  # idle CPU window
    startup_runs: int
    taps: int  # card taps (or remote starts in smoke mode)
    card_reader: bool  # the shared vpcd reader: never in smoke mode (the test suite)
    safety_runs: int  # per trigger kind
    backlog: int  # queued transaction messages
    backlog_lan: int  # the same, against a backend 1 ms away
    fleet_sizes: tuple[int, ...]
    fleet_window_s: float
    fleet_interval_s: float
    triggers: int  # TriggerMessages in the flood
    agent_cpu: int | None = None  # --one-core: the agent process pinned to this CPU


MODES = {
    "full": Mode("full", 60, 7, 20, True, 20, 10_000, 2_000, (2500, 5000, 10_000, 15_000), 30, 10, 20_000),
    "quick": Mode("quick", 10, 3, 5, True, 5, 2_000, 1_000, (2500, 10_000), 10, 10, 20_000),
    "smoke": Mode("smoke", 1, 1, 2, False, 1, 50, 20, (10,), 2, 1, 400),
}


async def _footprint(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.footprint import footprint

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return await footprint(rig, idle_s=mode.idle_s, card_reader=mode.card_reader)


async def _startup(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.footprint import startup

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return await startup(rig, runs=mode.startup_runs, card_reader=mode.card_reader)


async def _tap(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.tap import tap_to_power

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return await tap_to_power(rig, taps=mode.taps, card=mode.card_reader)


async def _safety(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.safety import safety_reaction

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return await safety_reaction(rig, runs=mode.safety_runs, cpu_window_s=min(mode.idle_s, 30))


async def _backlog(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.backlog import backlog_replay, backlog_replay_over_lan

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return (await backlog_replay(rig, messages=mode.backlog)
                + await backlog_replay_over_lan(rig, messages=mode.backlog_lan))


async def _scale(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.scale import simulator_scale

    return await simulator_scale(workdir, sizes=mode.fleet_sizes, window_s=mode.fleet_window_s,
                                 interval_s=mode.fleet_interval_s)


async def _hostile(workdir: Path, mode: Mode) -> list[Row]:
    from tests.benchmarks.hostile import hostile_backend

    async with Rig(workdir, agent_cpu=mode.agent_cpu) as rig:
        return await hostile_backend(rig, triggers=mode.triggers)


BENCHMARKS = {
    "footprint": _footprint,
    "startup": _startup,
    "tap": _tap,
    "safety": _safety,
    "backlog": _backlog,
    "scale": _scale,
    "hostile": _hostile,
}


async def run_all(workdir: Path, mode_name: str, names: list[str], progress: TextIO | None = None,
                  agent_cpu: int | None = None) -> list[Row]:
    mode = replace(MODES[mode_name], agent_cpu=agent_cpu)
    rows: list[Row] = []
    for name in names:
        started = time.monotonic()
        if progress:
            print(f"benchmark {name} ({mode.name}) ...", file=progress, flush=True)
        rows += await BENCHMARKS[name](workdir / name, mode)
        if progress:
            print(f"benchmark {name}: {time.monotonic() - started:.0f} s", file=progress, flush=True)
    return rows
