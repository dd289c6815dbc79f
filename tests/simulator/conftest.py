"""Fixtures for the simulator tests: a simulator on ephemeral ports, Modbus clients."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusTcpClient

from simulator.app import Simulator
from simulator.config import load_config


@pytest.fixture
def config():
    return load_config()


@pytest.fixture
async def sim(config):
    s = Simulator(config, http_port=0, modbus_port=0, speed=1.0)
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


@pytest.fixture
async def client(sim):
    c = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=0.3, retries=0)
    assert await c.connect()
    try:
        yield c
    finally:
        c.close()
