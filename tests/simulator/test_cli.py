"""evse-sim as a process: prints its endpoints and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_cli_prints_endpoints_and_stops_on_signal(sig):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.cli", "--http-port", "0", "--modbus-port", "0",
        "--speed", "5", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        m = re.match(r"evse-sim: modbus tcp 127\.0\.0\.1:(\d+), http http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        reader, writer = await asyncio.open_connection("127.0.0.1", int(m.group(2)))
        writer.write(b"GET /api/state HTTP/1.0\r\n\r\n")
        assert b"200 OK" in await asyncio.wait_for(reader.read(), 5)
        writer.close()
        proc.send_signal(sig)
        rc = await asyncio.wait_for(proc.wait(), 10)
        out = (await proc.stdout.read()).decode()
        assert rc == 0 and "evse-sim: stopped" in out
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cli_config_error_names_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nprot = 1\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.cli", "--config", str(bad),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 2 and b"http.prot" in err
