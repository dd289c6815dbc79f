"""The README's first command: ``evse-agent demo`` runs a whole session and stops cleanly,
however it is stopped, leaving no process and no port behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.ports import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]


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


async def start_demo(http_port: int, csms_port: int, modbus_port: int) -> tuple[asyncio.subprocess.Process, Output]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", "demo",
        "--http-port", str(http_port), "--csms-port", str(csms_port), "--modbus-port", str(modbus_port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
    )
    return proc, Output(proc.stdout)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def demo_data_dir(pid: int) -> list[str]:
    """The ``--data-dir`` of the agent among the demo's children (none for the others)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--data-dir"]


def wait_exited(pidfd: int, timeout: float) -> bool:
    """Whether the process behind ``pidfd`` has ended within ``timeout`` s (a pidfd becomes
    readable when its process exits, child of ours or not)."""
    readable, _, _ = select.select([pidfd], [], [], timeout)
    return bool(readable)


async def stopped_leaves_nothing_behind(signum: int, *, parent_exits_cleanly: bool) -> None:
    ports = free_port(), free_port(), free_port()
    proc, out = await start_demo(*ports)
    pidfds: list[int] = []
    data_dirs: list[str] = []
    try:
        await out.wait_for("evse-agent demo is running")
        await out.wait_for("BootNotification")  # the agent is up, its signal handlers too
        children = children_of(proc.pid)
        assert len(children) == 3  # simulator, demo backend, agent
        pidfds = [os.pidfd_open(pid) for pid in children]  # before the signal: no pid reuse
        data_dirs = [arg for pid in children for arg in demo_data_dir(pid)]
        proc.send_signal(signum)
        code = await asyncio.wait_for(proc.wait(), 30)
        await out.task
        if parent_exits_cleanly:
            assert code == 0 and any("stopping" in line for line in out.lines)
        for pid, pidfd in zip(children, pidfds, strict=False):
            assert await asyncio.to_thread(wait_exited, pidfd, 20), f"child {pid} still runs"
        assert all(port_is_free(port) for port in ports)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        for pidfd in pidfds:
            os.close(pidfd)
        for data_dir in data_dirs:  # a killed demo could not remove it
            shutil.rmtree(data_dir, ignore_errors=True)
        print("\n".join(out.lines[-30:]))


async def test_demo_stopped_by_sigterm_stops_its_children():
    await stopped_leaves_nothing_behind(signal.SIGTERM, parent_exits_cleanly=True)


async def test_demo_stopped_by_sighup_stops_its_children():
    await stopped_leaves_nothing_behind(signal.SIGHUP, parent_exits_cleanly=True)


async def test_children_of_a_killed_demo_exit_on_their_own():
    await stopped_leaves_nothing_behind(signal.SIGKILL, parent_exits_cleanly=False)


async def test_a_second_demo_on_taken_ports_says_which_in_one_line():
    ports = free_port(), free_port(), free_port()
    first, first_out = await start_demo(*ports)
    try:
        await first_out.wait_for("evse-agent demo is running")
        second, second_out = await start_demo(*ports)
        code = await asyncio.wait_for(second.wait(), 30)
        await second_out.task
        assert code != 0
        assert len(second_out.lines) == 1, second_out.lines
        line = second_out.lines[0]
        assert f"port {ports[0]}" in line and "--http-port" in line and "in use" in line
        assert first.returncode is None  # the first one runs on
    finally:
        first.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(first.wait(), 30) == 0
        await first_out.task
    # Only the backend's port taken (by something else): named with its option, no traceback.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[1]))
        holder.listen()
        third, third_out = await start_demo(*ports)
        code = await asyncio.wait_for(third.wait(), 30)
        await third_out.task
    assert code != 0 and len(third_out.lines) == 1, third_out.lines
    assert f"port {ports[1]} (the demo backend)" in third_out.lines[0] and "--csms-port" in third_out.lines[0]
    assert all(port_is_free(port) for port in ports)


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


@pytest.mark.pcsc
async def test_demo_in_ocpp_201_runs_a_card_session():
    http_port, csms_port, modbus_port = free_port(), free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", "demo", "--ocpp-version", "2.0.1",
        "--http-port", str(http_port), "--csms-port", str(csms_port), "--modbus-port", str(modbus_port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
    )
    out = Output(proc.stdout)
    try:
        await out.wait_for("connected (ocpp2.0.1)")
        boot = await out.wait_for("BootNotification reason=")
        assert "PowerUp" in boot
        await out.wait_for("StatusNotification evse=1 connector=1 Available")
        base = f"http://127.0.0.1:{http_port}"
        await asyncio.to_thread(http, "POST", base + "/api/evses/1/plug")
        await asyncio.to_thread(http, "POST", base + "/api/card", {"uid": "04A1B2C3D4E5F6"})
        started = await out.wait_for("TransactionEvent Started")
        assert "evse=1" in started and "idToken=04A1B2C3D4E5F6" in started, started
        await out.wait_for("connector 1: Charging")  # the demo backend accepted the idToken
        await asyncio.to_thread(http, "POST", base + "/api/evses/1/unplug")
        ended = await out.wait_for("TransactionEvent Ended")
        assert "stoppedReason=EVDisconnected" in ended, ended
        assert not any("StartTransaction" in line for line in out.lines)  # no 1.6 on the wire
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
        await out.task
        print("\n".join(out.lines[-40:]))
    assert code == 0, out.lines[-10:]


async def test_demo_backend_speaks_the_version_the_charge_point_offers_first():
    from websockets.asyncio.client import connect

    from simulator.csms.demo_csms import DemoCsms

    csms = DemoCsms(printer=None)
    port = await csms.start(port=0)
    try:
        for offered in (["ocpp2.0.1", "ocpp1.6"], ["ocpp1.6", "ocpp2.0.1"], ["ocpp2.0.1"]):
            async with connect(f"ws://127.0.0.1:{port}/CP-1", subprotocols=offered) as ws:
                assert ws.subprotocol == offered[0]
    finally:
        await csms.stop()
    only_16 = DemoCsms(printer=None, subprotocols=("ocpp1.6",))
    port = await only_16.start(port=0)
    try:
        async with connect(f"ws://127.0.0.1:{port}/CP-1", subprotocols=["ocpp2.0.1", "ocpp1.6"]) as ws:
            assert ws.subprotocol == "ocpp1.6"
    finally:
        await only_16.stop()


async def test_demo_backend_answers_a_201_station_and_prints_each_message():
    """The `ocpp` library's 2.0.1 station side against the demo backend: every answer passes the
    library's schema check, and each message is one readable line."""
    from ocpp.v201 import ChargePoint as Station
    from ocpp.v201 import call
    from websockets.asyncio.client import connect

    from simulator.csms.demo_csms import DemoCsms

    csms = DemoCsms(printer=None, subprotocols=("ocpp2.0.1",))
    port = await csms.start(port=0)
    now = "2026-12-05T08:00:00Z"
    try:
        async with connect(f"ws://127.0.0.1:{port}/CS-1", subprotocols=["ocpp2.0.1"]) as ws:
            station = Station("CS-1", ws)
            receiving = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(
                charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"))
            assert boot.status == "Accepted" and boot.interval > 0
            assert (await station.call(call.Heartbeat())).current_time
            await station.call(call.StatusNotification(timestamp=now, connector_status="Available", evse_id=1,
                                                        connector_id=1))
            token = {"id_token": "04A1B2C3", "type": "ISO14443"}
            assert (await station.call(call.Authorize(id_token=token))).id_token_info["status"] == "Accepted"
            started = await station.call(call.TransactionEvent(
                event_type="Started", timestamp=now, trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": "tx-1"}, id_token=token, evse={"id": 1, "connector_id": 1}))
            assert started.id_token_info["status"] == "Accepted"
            sample = [{"timestamp": now, "sampled_value": [{"value": 1200.0}]}]
            await station.call(call.MeterValues(evse_id=1, meter_value=sample))
            await station.call(call.NotifyReport(request_id=1, generated_at=now, seq_no=0))
            await station.call(call.NotifyEvent(generated_at=now, seq_no=0, event_data=[{
                "event_id": 1, "timestamp": now, "trigger": "Alerting", "actual_value": "true",
                "event_notification_type": "HardWiredMonitor", "component": {"name": "EVSE"},
                "variable": {"name": "Problem"}}]))
            await station.call(call.SecurityEventNotification(type="StartupOfTheDevice", timestamp=now))
            await station.call(call.TransactionEvent(
                event_type="Ended", timestamp=now, trigger_reason="EVCommunicationLost", seq_no=1,
                transaction_info={"transaction_id": "tx-1", "stopped_reason": "EVDisconnected"}))
            receiving.cancel()
    finally:
        await csms.stop()
    printed = "\n".join(csms.lines)
    for line in ("CS-1 connected (ocpp2.0.1)", "BootNotification reason=PowerUp vendor=V model=M", "Heartbeat",
                 "StatusNotification evse=1 connector=1 Available", "Authorize idToken=04A1B2C3 (ISO14443)",
                 "TransactionEvent Started tx=tx-1 seqNo=0 trigger=Authorized evse=1 idToken=04A1B2C3",
                 "MeterValues evse=1 Energy.Active.Import.Register=1200.0",
                 "NotifyReport requestId=1 seqNo=0 0 variable(s)", "NotifyEvent EVSE.Problem=true (Alerting)",
                 "SecurityEventNotification StartupOfTheDevice",
                 "TransactionEvent Ended tx=tx-1 seqNo=1 trigger=EVCommunicationLost stoppedReason=EVDisconnected"):
        assert line in printed, line
