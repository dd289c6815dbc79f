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


# The charging floor: a bare pymodbus client polling the boards and meters the way the agent
# does while two connectors charge (each board's status every energized interval, each meter's
# two SDM630 blocks about once a second), for a window; prints its own CPU % of a core.
POLL_FLOOR_SCRIPT = """
import asyncio, sys, time
from pymodbus.client import AsyncModbusTcpClient
port, window_s, board_s, meter_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
reads = [(kind, int(unit), int(address), int(count)) for kind, unit, address, count in
         (spec.split(":") for spec in sys.argv[5:])]
async def main():
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    await client.connect()
    async def poll(kind, unit, address, count):
        read = client.read_holding_registers if kind == "board" else client.read_input_registers
        while True:
            await read(address, count=count, device_id=unit)
            await asyncio.sleep(board_s if kind == "board" else meter_s)
    tasks = [asyncio.create_task(poll(*r)) for r in reads]
    await asyncio.sleep(1.0)  # connected and steady
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(window_s)
    print((time.process_time() - cpu) / (time.monotonic() - wall) * 100, flush=True)
asyncio.run(main())
"""


async def polling_floor_cpu(port: int, window_s: float, board_s: float, meter_s: float,
                            reads: list[tuple[str, int, int, int]]) -> float:
    """CPU % of a core of a bare pymodbus client doing ``reads`` (kind "board" or "meter", unit,
    address, count) at the agent's pace, measured over ``window_s``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", POLL_FLOOR_SCRIPT, str(port), str(window_s), str(board_s), str(meter_s),
        *(":".join(map(str, r)) for r in reads), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), window_s + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"polling floor failed: {err.decode(errors='replace')[-500:]}")
    return float(out.decode().split()[-1])
