"""Each benchmark in its smoke mode (seconds, no card reader): it still runs and produces its
rows. Timing targets are not asserted here: this machine is shared and noisy, and the
benchmarks are for ``python -m tests.benchmarks``."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.__main__ import main
from tests.benchmarks.report import percentile, ratio_row
from tests.benchmarks.suite import run_all

EXPECTED = {
    "footprint": {"footprint.rss", "footprint.rss_fixed", "footprint.idle_cpu", "footprint.charging_cpu"},
    "startup": {"startup.boot"},
    "tap": {"tap.agent_p99"},
    "safety": {"safety.rcd@default", "safety.unplug@default", "safety.c_to_b@default", "safety.rcd@loop_blocked",
               "safety.cpu_idle", "safety.cpu_charging", "safety.rs485@9600", "safety.rs485@19200"},
    "backlog": {"backlog.replay", "backlog.replay@rtt1ms"},
    "scale": {"scale.fleet", "scale.cost", "scale.fleet_all_cores"},
    "hostile": {"hostile.composite", "hostile.trigger_flood"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_benchmark_produces_its_rows(name, tmp_path):
    rows = await run_all(tmp_path, "smoke", [name])
    assert {r.name for r in rows} == EXPECTED[name]
    for row in rows:
        assert row.value is not None and row.target and row.measures
        assert row.passed is None or row.passed or row.miss  # a missed target says by how much


def test_command_prints_the_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--smoke", "--only", "startup", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| startup.boot |" in printed
    data = json.loads(out.read_text())
    assert data["mode"] == "smoke" and data["rows"][0]["name"] == "startup.boot"
    assert data["rows"][0]["ratio"] == pytest.approx(data["rows"][0]["value"] / data["rows"][0]["floor"])


def test_rows_say_by_how_much_a_target_is_missed():
    assert ratio_row("x", "x", "MB", 60, 40, 1.25).miss == "20 % over (1.50 x floor)"
    assert ratio_row("x", "x", "msg/s", 400, 1000, 0.8, at_least=True).miss == "50 % under (0.40 x floor)"
    assert ratio_row("x", "x", "MB", 45, 40, 1.25).passed


def test_p99_of_few_samples_is_the_largest():
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert percentile(list(range(1, 201)), 99) == 198


async def test_one_core_pins_the_agent_and_nothing_else(tmp_path):
    import os

    from tests.benchmarks.harness import Rig

    cpu = max(os.sched_getaffinity(0))
    async with Rig(tmp_path, agent_cpu=cpu) as rig:
        agent = rig.agent("pinned")
        await rig.booted(agent)
        assert os.sched_getaffinity(agent.proc.pid) == {cpu}
        assert os.sched_getaffinity(0) != {cpu} or len(os.sched_getaffinity(0)) == 1  # the rig is not pinned
