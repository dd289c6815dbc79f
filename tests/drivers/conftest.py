"""Fixtures: a real pymodbus server (TCP, or RTU on a socat pty pair) — see tests/drivers/modbus_servers.py."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from tests.drivers.modbus_servers import SimBus, start_tcp_server
from tests.ports import free_port
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer


@pytest.fixture
def sim() -> SimBus:
    return SimBus()


@pytest.fixture
async def tcp_server(sim: SimBus) -> AsyncIterator[tuple[SimBus, int]]:
    port = free_port()
    server = await start_tcp_server(sim, port)
    yield sim, port
    await server.shutdown()


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, str]]:
    if not shutil.which("socat"):
        pytest.skip("socat not installed")
    tmp = tempfile.mkdtemp(prefix="evse-pty-")
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait for socat to create both links (an event, polled)
    for _ in range(500):
        if os.path.exists(a) and os.path.exists(b):
            break
        if proc.poll() is not None:
            pytest.fail(f"socat exited: {proc.stderr.read().decode()}")
        time.sleep(0.01)
    else:
        proc.kill()
        pytest.fail("socat did not create the pty links")
    yield a, b
    proc.terminate()
    proc.wait(5)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
async def rtu_server(sim: SimBus, pty_pair) -> AsyncIterator[tuple[SimBus, str]]:
    server_end, client_end = pty_pair
    server = ModbusSerialServer(
        sim.devices(),
        framer=FramerType.RTU,
        port=server_end,
        baudrate=9600,
        trace_pdu=sim.trace_pdu,
        trace_packet=sim.trace_packet,
    )
    await server.serve_forever(background=True)
    yield sim, client_end
    await server.shutdown()
    await asyncio.sleep(0)
