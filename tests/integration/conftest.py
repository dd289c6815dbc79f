"""Real parts, wired together: the simulator (Modbus TCP + vpcd card), the agent as its own
process, and ocpp-csms (a central system this project did not write), over real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ocpp_csms import CentralSystem

from simulator.app import Simulator
from tests.integration.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """Every event ocpp-csms reports, and a way to wait for one."""

    def __init__(self) -> None:
        self.events: list = []
        self._changed = asyncio.Event()

    def __call__(self, event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, predicate: Callable[[object], bool], timeout: float = 15.0, *, after: int = 0):
        async with asyncio.timeout(timeout):
            seen = after
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()


class AgentProcess:
    """``evse-agent run`` as a child process, as systemd would run it."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.extra_args: list[str] = []  # more `evse-agent run` flags (--csms-url, --data-dir, ...)

    async def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent.app.cli", "run", "--config", str(self.config_path), "--log-level", "DEBUG",
            *self.extra_args, stdout=log, stderr=log, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def agent_config(*, modbus_port: int, csms_port: int, data_dir: Path, card_reader: bool = True,
                 extra_keys: str = "", rtu_device: str | None = None, extra_ocpp: str = "",
                 gpio: str = "") -> str:
    """``gpio``: TOML appended at the end ([gpio] and [connectors.gpio] tables, tests/integration/test_gpio_safety.py)."""
    bus = (
        f'kind = "rtu"\ndevice = "{rtu_device}"\nbaudrate = 9600\ntimeout_s = 0.5'
        if rtu_device
        else f'kind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_s = 0.3'
    )
    return f"""
[charge_point]
id = "CP-TEST-1"
vendor = "evse-agent"
model = "Test wallbox"

[ocpp]
csms_url = "ws://127.0.0.1:{csms_port}/ocpp"
response_timeout_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 1
{extra_ocpp}

[ocpp.keys]
MeterValueSampleInterval = 1
MeterValuesSampledData = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"]
TransactionMessageRetryInterval = 1
{extra_keys}

[storage]
data_dir = "{data_dir}"
recheck_interval_s = 0.5

[[buses]]
name = "sim"
{bus}
retries = 0

[[connectors]]
id = 1
max_current_a = 16
poll_interval_s = 0.1
[connectors.board]
driver = "evse-din"
bus = "sim"
unit = 1
min_interval_s = 0.0
[connectors.meter]
driver = "sdm630"
bus = "sim"
unit = 2

[card_reader]
driver = "{'pcsc' if card_reader else 'none'}"
reader = "Virtual PCD"
""" + gpio


@pytest.fixture
async def sim():
    simulator = Simulator(http_port=0, modbus_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def csms():
    recorder = Recorder()
    central = CentralSystem(host="127.0.0.1", port=0, heartbeat_interval=60)
    central.add_listener(recorder)
    await central.async_start()
    central.recorder = recorder
    yield central
    await central.async_stop()


@pytest.fixture
async def proxy(csms):
    p = CuttableProxy("127.0.0.1", csms.port)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def make_agent(request, tmp_path, sim):
    """Start agents (as processes) against ``sim``; all are stopped after the test. Their card
    reader is the one vpcd reader in pcscd only for a test marked ``pcsc`` (those run one at a
    time, tests/conftest.py): an agent polling it beside another test's taps would see them."""
    agents: list[AgentProcess] = []
    shares_the_reader = request.node.get_closest_marker("pcsc") is not None

    async def make(csms_port: int, **kwargs) -> AgentProcess:
        kwargs.setdefault("card_reader", shares_the_reader)
        config = tmp_path / "agent.toml"
        config.write_text(
            agent_config(modbus_port=sim.modbus_port, csms_port=csms_port, data_dir=tmp_path / "data", **kwargs)
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.stop()
    if agents:
        print(f"--- agent log ({tmp_path / 'agent.log'}) ---")
        print(agents[-1].log()[-6000:])


@pytest.fixture
async def raw_csms():
    from tests.integration.raw_csms import RawCsms

    peer = RawCsms()
    await peer.start()
    yield peer
    await peer.stop()
