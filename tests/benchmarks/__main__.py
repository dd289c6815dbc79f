"""``python -m tests.benchmarks [--quick | --smoke] [--only NAME ...] [--one-core] [--json PATH]``

Runs the benchmarks, prints the table and writes it as JSON (default
test-output/benchmarks.json). ``--quick``: shorter windows and fewer repetitions (numbers
for a first look). ``--smoke``: a few seconds each, no PC/SC reader (remote start instead
of a card); only proves each benchmark still produces its row. ``--one-core``: the agent
pinned to one CPU (as ``taskset -c``), the rest of the rig free to use the others: the margins
on a machine with less to give (README, Performance)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.report import table, write_json
from tests.benchmarks.suite import BENCHMARKS, run_all

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter windows, fewer repetitions")
    mode.add_argument("--smoke", action="store_true", help="seconds each, no card reader; for the test suite")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--one-core", action="store_true", help="pin the agent to one CPU (as taskset -c)")
    parser.add_argument("--json", type=Path, default=ROOT / "test-output" / "benchmarks.json")
    args = parser.parse_args(argv)
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    agent_cpu = max(os.sched_getaffinity(0)) if args.one_core else None
    with tempfile.TemporaryDirectory(prefix="evse-bench-") as tmp:
        rows = asyncio.run(run_all(Path(tmp), mode_name, args.only or list(BENCHMARKS), progress=sys.stderr,
                                   agent_cpu=agent_cpu))
    if agent_cpu is not None:
        print(f"(the agent pinned to CPU {agent_cpu})")
    print(table(rows))
    command = ("python -m tests.benchmarks" + ("" if mode_name == "full" else f" --{mode_name}")
               + (" --one-core" if args.one_core else ""))
    write_json(rows, args.json, mode=mode_name + ("+one-core" if args.one_core else ""), command=command)
    print(f"\nwritten: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
