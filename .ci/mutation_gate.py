"""Mutation testing of the pure rules with mutmut (setup.cfg [mutmut]), and its gate.

    .ci/mutation                  the configured files whose text differs from the baseline's;
                                  fails if one scores below its recorded score
    .ci/mutation --full           every configured file, same gate
    .ci/mutation --full --record  every configured file; records the result as the new baseline
    .ci/mutation --files F...     the given files (with --record: their entries in the baseline)

The baseline (.ci/mutation-baseline.json) holds, per file, the mutants, how many the unit tests
kill and the names of those that survive (the README's testing section gives the reason for
each). A file's score (killed / mutants) must not drop; a survivor the baseline does not name is
printed, so that it gets a test or a reason.
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import hashlib
import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "mutation-baseline.json"
# mutmut's exit codes (mutmut/stats.py): what counts as a mutant the tests caught.
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # failed, pytest internal error, timeouts, type check
TIMEOUT = {36, 24, -24, 152, 255}  # killed by taking too long: on a loaded machine it may finish and survive
SKIPPED = {34}
NO_TESTS = {5, 33}  # no selected test runs the mutated function


def configured_files() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return [line.strip() for line in parser["mutmut"]["only_mutate"].splitlines() if line.strip()]


def git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def digest(path: str) -> str:
    return hashlib.sha256((ROOT / path).read_bytes()).hexdigest()


def changed_files(baseline: dict) -> list[str]:
    """The configured files whose text differs from the one the baseline measured (or that it
    does not know): no git history needed, so a fresh clone in CI finds the same."""
    known = baseline["files"]
    return [f for f in configured_files() if f not in known or known[f].get("sha256") != digest(f)]


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def results(path: str) -> dict:
    """The mutants of ``path`` the unit tests reach, how many they kill, which survive; and how
    many no selected test reaches (I/O code: tests/drivers and tests/integration cover it)."""
    meta = ROOT / "mutants" / (path + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    reached = {k: c for k, c in codes.items() if c not in SKIPPED and c not in NO_TESTS}
    survivors = sorted(k for k, c in reached.items() if c not in KILLED)
    killed = len(reached) - len(survivors)
    return {"sha256": digest(path), "mutants": len(reached), "killed": killed,
            "score": round(killed / len(reached), 4) if reached else 1.0,
            "not_reached": sum(1 for c in codes.values() if c in NO_TESTS), "survivors": survivors,
            "timeouts": sorted(k for k, c in reached.items() if c in TIMEOUT)}


TEXT = "text of an error, a log line or a display message, not a rule"
FALSY = "one falsy value for another (None, False, 0, \"\") where only truthiness is read"
OPEN = "open: no unit test tells it apart yet (a test to write, or a reason to give here)"


def diff_of(key: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of mutant ``key`` (what ``mutmut show`` prints)."""
    from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant

    shown = get_diff_for_mutant(key, path=find_mutant(key).path).splitlines()
    removed = [line[1:].strip() for line in shown if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in shown if line.startswith("+") and not line.startswith("+++")]
    return removed, added


MESSAGE_LINE = re.compile(r"raise |log\.|CardIgnored\(|Verdict\(|DeviceError\(|ProfileRejected\(|_finite\(")
STRING = re.compile(r"""f?("[^"]*"|'[^']*')""")
FALSY_VALUE = re.compile(r"\b(None|False|0)\b|\"\"|''")


def guessed_reason(key: str) -> str:
    """A first reason for a survivor, from what the mutant changed: TEXT or FALSY where it is
    plainly one of those harmless kinds, else OPEN. A person may replace it in the baseline's
    "reasons" (an equivalent mutant, say); a reason other than OPEN is kept from run to run."""
    removed, added = diff_of(key)
    if len(removed) != 1 or len(added) != 1:
        return OPEN
    before, after = removed[0], added[0]
    if MESSAGE_LINE.search(before):
        blank = lambda line: STRING.sub("S", line).replace("None", "S")  # noqa: E731
        if blank(before) == blank(after):
            return TEXT
    if FALSY_VALUE.sub("F", before) == FALSY_VALUE.sub("F", after):
        return FALSY
    return OPEN


def run_mutmut(files: list[str]) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    if not mutmut.exists():
        sys.exit("mutmut is not installed in this environment (pip install -e '.[test]')")
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # every run from scratch: no stale results
    patterns = [module_of(f) + ".*" for f in files]
    # EVSE_MUTATION_RUN: the hypothesis tests run fewer, fixed examples (tests/unit/test_composite_schedule.py).
    done = subprocess.run([str(mutmut), "run", "--max-children", "2", *patterns], cwd=ROOT,
                          stdout=subprocess.DEVNULL, env={**os.environ, "EVSE_MUTATION_RUN": "1"})
    if done.returncode != 0:
        sys.exit(f"mutmut run failed ({done.returncode})")


def main() -> int:
    os.chdir(ROOT)  # mutmut reads setup.cfg and mutants/ from the working directory
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="every configured file")
    parser.add_argument("--record", action="store_true", help="record the result as the baseline (with --full)")
    parser.add_argument("--files", nargs="+", help="these files (of the configured ones)")
    parser.add_argument("--no-run", action="store_true", help="judge (and record) what is in mutants/ already")
    args = parser.parse_args()
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {"files": {}}
    if args.full:
        files = configured_files()
    elif args.files:
        unknown = set(args.files) - set(configured_files())
        if unknown:
            parser.error(f"not configured in setup.cfg [mutmut] only_mutate: {sorted(unknown)}")
        files = args.files
    else:
        files = changed_files(baseline)
        if not files:
            print("mutation: no mutation-tested file changed since the baseline")
            return 0
    print(f"mutation: {len(files)} file(s): {' '.join(files)}", flush=True)
    if not args.no_run:
        run_mutmut(files)

    measured = {f: results(f) for f in files}
    failed = False
    total = {"mutants": 0, "killed": 0}
    for path, now in measured.items():
        total["mutants"] += now["mutants"]
        total["killed"] += now["killed"]
        was = baseline["files"].get(path)
        line = f"{path}: {now['killed']}/{now['mutants']} killed ({now['score']:.1%})"
        if was is not None:
            line += f", baseline {was['score']:.1%}"
            # A mutant killed by a timeout in the baseline that finished (and survived) now is
            # the machine's load, not the tests: it is not held against the score.
            slow = [k for k in now["survivors"] if k in was.get("timeouts", [])]
            if (now["killed"] + len(slow)) / max(1, now["mutants"]) < was["score"] - 5e-5:
                line += "  <-- the score dropped"
                failed = True
        print(line)
        new = [k for k in now["survivors"] if was is None or k not in was["survivors"]]
        for key in new:
            print(f"    survives, not in the baseline: {key}   (mutmut show {key})")
    if total["mutants"]:
        print(f"mutation: {total['killed']}/{total['mutants']} killed ({total['killed'] / total['mutants']:.1%})")
    if args.record:
        version = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "--version"], capture_output=True,
                                 text=True).stdout.strip()
        files_now = {**baseline.get("files", {}), **measured} if not args.full else measured
        files_now = {f: files_now[f] for f in configured_files() if f in files_now}
        reasons = baseline.get("reasons", {})
        survivors = [k for f in files_now.values() for k in f["survivors"]]
        kept = {k: reasons[k] if reasons.get(k, OPEN) != OPEN else guessed_reason(k) for k in survivors}
        mutants = sum(f["mutants"] for f in files_now.values())
        killed = sum(f["killed"] for f in files_now.values())
        recorded = {
            "commit": (git("rev-parse", "HEAD") or "").strip(),  # for the record only
            "date": dt.date.today().isoformat(),
            "tool": version or "mutmut",
            "total": {"mutants": mutants, "killed": killed, "score": round(killed / mutants, 4),
                      "not_reached": sum(f["not_reached"] for f in files_now.values())},
            "files": files_now,
            "reasons": kept,  # every survivor, with why it may survive (README, Tests)
        }
        BASELINE.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
        print(f"mutation: baseline recorded in {BASELINE.relative_to(ROOT)}")
        return 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
