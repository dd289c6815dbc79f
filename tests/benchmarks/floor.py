"""The floor process: Python importing exactly the modules the agent imported, nothing else.

``python -c FLOOR_SCRIPT MODULE...`` prints READY once imported, then waits for stdin to
close (so its RSS can be read meanwhile)."""

from __future__ import annotations

import asyncio
import re
import sys
import time

FLOOR_SCRIPT = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print("READY", flush=True)
sys.stdin.read()
"""

PROJECT = ("agent", "drivers", "simulator", "tests", "__main__")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def parse_importtime(text: str) -> list[tuple[str, int, int, int]]:
    """``-X importtime`` lines → (module, self µs, cumulative µs, depth), in import order."""
    out = []
    for line in text.splitlines():
        m = IMPORT_LINE.match(line.strip("\r")) if line.startswith("import time:") else None
        if m and m.group(4) != "package":
            out.append((m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2))
    return out


def library_modules(imports: list[tuple[str, int, int, int]]) -> list[str]:
    """The modules that are not the project's own, in the order they finished importing."""
    return [name for name, *_ in imports if name.split(".")[0] not in PROJECT]


async def start_floor(modules: list[str]) -> tuple[asyncio.subprocess.Process, float]:
    """Start the floor process; (process, seconds from creation to READY)."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FLOOR_SCRIPT, *modules,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    elapsed = time.perf_counter() - started
    if line.strip() != b"READY":
        raise RuntimeError(f"floor process said {line!r}")
    return proc, elapsed


async def end_floor(proc: asyncio.subprocess.Process) -> None:
    proc.stdin.close()
    await proc.wait()
