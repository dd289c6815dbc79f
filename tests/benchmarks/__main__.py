"""``python -m tests.benchmarks [--quick | --smoke] [--only NAME ...] [--json PATH]``

Runs the benchmarks, prints the table and writes it as JSON (default
test-output/benchmarks.json). ``--quick``: shorter windows and fewer repetitions (numbers
for a first look). ``--smoke``: a few seconds each, no PC/SC reader (remote start instead
of a card); only proves each benchmark still produces its row."""

from __future__ import annotations

import argparse
import asyncio
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
    parser.add_argument("--json", type=Path, default=ROOT / "test-output" / "benchmarks.json")
    args = parser.parse_args(argv)
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="evse-bench-") as tmp:
        rows = asyncio.run(run_all(Path(tmp), mode_name, args.only or list(BENCHMARKS), progress=sys.stderr))
    print(table(rows))
    command = "python -m tests.benchmarks" + ("" if mode_name == "full" else f" --{mode_name}")
    write_json(rows, args.json, mode=mode_name, command=command)
    print(f"\nwritten: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
