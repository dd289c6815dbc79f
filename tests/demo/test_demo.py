"""The README's first command: ``evse-agent demo`` runs a whole session and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


class Output:
    """The demo's combined output, read as it comes, with a way to wait for a line."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._new = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self._stream.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._new.set()

    async def wait_for(self, text: str, timeout: float = 30.0) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                self._new.clear()
                await self._new.wait()


@pytest.mark.pcsc
async def test_demo_runs_a_card_session_and_stops_on_ctrl_c():
    http_port, csms_port, modbus_port = free_port(), free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", "demo",
        "--http-port", str(http_port), "--csms-port", str(csms_port), "--modbus-port", str(modbus_port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
    )
    out = Output(proc.stdout)
    try:
        await out.wait_for(f"http://127.0.0.1:{http_port}/")
        await out.wait_for("StatusNotification")
        base = f"http://127.0.0.1:{http_port}"
        page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
        assert "<html" in page.lower()
        await asyncio.to_thread(http, "POST", base + "/api/evses/1/plug")
        await out.wait_for("Preparing")
        await asyncio.to_thread(http, "POST", base + "/api/card", {"uid": "04A1B2C3D4E5F6"})
        await out.wait_for("StartTransaction")
        state = await asyncio.to_thread(http, "GET", base + "/api/state")
        assert state["evses"][0]["plugged"] is True
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
        await out.task
        print("\n".join(out.lines[-40:]))
    assert code == 0
    assert any("stopping" in line for line in out.lines)
