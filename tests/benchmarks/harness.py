"""The real parts the benchmarks run: the simulator in this process (its register writes
stamped with real time), the agent as its own process (``evse-agent run``) with a
two-connector configuration, /proc readings and the agent's log timestamps."""

from __future__ import annotations

import asyncio
import compileall
import datetime as dt
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from simulator.app import Simulator
from simulator.wire.modbus import RegisterWrite

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
BOARD_UNITS = {1: 1, 2: 3}  # connector -> EVSE-DIN unit, as in config/agent-sim.toml
REG_CURRENT = 1000  # EVSE-DIN configured current: 0 = contactor off


def agent_config(*, modbus_port: int, csms_port: int, data_dir: Path, card_reader: bool = False,
                 poll_interval_s: float = 0.25, keys: str = "", log_level: str = "INFO", extra: str = "") -> str:
    """config/agent-sim.toml (two EVSE-DIN boards + two SDM630 on one bus) on the given ports;
    ``extra``: TOML appended at the end (e.g. a [testing] section)."""
    connectors = "".join(
        f"""
[[connectors]]
id = {cid}
max_current_a = 16
phases = {3 if cid == 1 else 1}
poll_interval_s = {poll_interval_s}
[connectors.board]
driver = "evse-din"
bus = "sim"
unit = {unit}
min_interval_s = 0.0
[connectors.meter]
driver = "sdm630"
bus = "sim"
unit = {unit + 1}
"""
        for cid, unit in BOARD_UNITS.items()
    )
    return f"""
[charge_point]
id = "CP-BENCH-1"
vendor = "evse-agent"
model = "Simulated wallbox"
serial_number = "SIM-0001"

[ocpp]
csms_url = "ws://127.0.0.1:{csms_port}"
reconnect_min_s = 0.2
reconnect_max_s = 2

[ocpp.keys]
MeterValueSampleInterval = 10
MeterValuesSampledData = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"]
{keys}

[storage]
data_dir = "{data_dir}"

[log]
level = "{log_level}"

[[buses]]
name = "sim"
kind = "tcp"
host = "127.0.0.1"
port = {modbus_port}
timeout_s = 0.5
{connectors}
[card_reader]
driver = "{'pcsc' if card_reader else 'none'}"
reader = "Virtual PCD"
{extra}"""


class StampedSimulator(Simulator):
    """The simulator, each register write also noted with ``time.time()`` when it arrived."""

    def __init__(self, **kwargs) -> None:
        super().__init__(http=False, modbus_port=0, **kwargs)
        self.stamped_writes: list[tuple[float, RegisterWrite]] = []
        self._changed_write = asyncio.Event()
        recorded = self.bus.on_write

        def stamp(write: RegisterWrite) -> None:
            self.stamped_writes.append((time.time(), write))
            self._changed_write.set()
            recorded(write)

        self.bus.on_write = stamp

    async def current_write(self, connector: int, *, on: bool, after: float, timeout: float = 10.0) -> float:
        """When the agent next wrote the connector's current (on: > 0, off: 0) after ``after``."""
        unit = BOARD_UNITS[connector]
        async with asyncio.timeout(timeout):
            while True:
                for stamp, w in self.stamped_writes:
                    if (stamp >= after and w.unit == unit and w.address == REG_CURRENT and w.refused is None
                            and (w.values[0] > 0) == on):
                        return stamp
                self._changed_write.clear()
                await self._changed_write.wait()


@dataclass
class AgentProcess:
    config: Path
    log_path: Path
    python_flags: tuple[str, ...] = ()
    log_level: str = "INFO"
    cpu: int | None = None  # pinned to this CPU (``--one-core``: a Raspberry Pi-sized run)
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0  # time.time() just before the process was created

    async def start(self) -> None:
        log = open(self.log_path, "ab")
        self.started = time.time()
        cpu = self.cpu
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.python_flags, "-m", "agent.app.cli", "run", "--config", str(self.config),
            "--log-level", self.log_level, stdout=log, stderr=log, cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}),  # as taskset -c CPU
        )
        log.close()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), /proc/PID/stat fields 14 and 15."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (\w+) \[[^\]]*\] ([\w.]+): (.*)$")


def log_events(text: str) -> list[tuple[float, str, str]]:
    """(time.time() of the line, logger, message) for each line of the agent's log."""
    out = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m:
            when = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000
            out.append((when, m.group(4), m.group(5)))
    return out


async def wait_log(agent: AgentProcess, pattern: str, *, after: float = 0.0, timeout: float = 10.0) -> float:
    """Poll the agent's log file for a line matching ``pattern`` stamped at or after ``after``
    (reading a file: there is no event to wait on from another process)."""
    rx = re.compile(pattern)
    async with asyncio.timeout(timeout):
        while True:
            for when, _logger, message in log_events(agent.log()):
                if when >= after - 0.001 and rx.search(message):
                    return when
            await asyncio.sleep(0.05)


def installed_bytecode() -> None:
    """Byte-compile the agent's sources, as pip does when systemd/install.sh installs it.

    The floor's libraries load from the .pyc files pip wrote; run from a checkout with
    PYTHONDONTWRITEBYTECODE set (as CI and this machine do), the agent would instead compile
    its own sources at every start (about 140 ms here), which no installed station does."""
    for package in ("agent", "drivers"):
        compileall.compile_dir(ROOT / package, quiet=1)


class Rig:
    """Simulator + loopback backend in this process; agents as processes (stopped at exit)."""

    def __init__(self, workdir: Path, *, heartbeat_interval: int = 300, agent_cpu: int | None = None) -> None:
        from tests.benchmarks.backend import LoopbackCsms

        self.workdir = workdir
        self.agent_cpu = agent_cpu
        self.sim = StampedSimulator()
        self.csms = LoopbackCsms(heartbeat_interval=heartbeat_interval)
        self.agents: list[AgentProcess] = []

    async def __aenter__(self) -> Rig:
        self.workdir.mkdir(parents=True, exist_ok=True)
        installed_bytecode()
        await self.sim.start()
        await self.csms.start()
        return self

    async def __aexit__(self, *exc) -> None:
        for agent in self.agents:
            await agent.stop()
        await self.csms.stop()
        await self.sim.stop()

    def agent(self, name: str, *, python_flags: tuple[str, ...] = (), log_level: str = "INFO", **config) -> AgentProcess:
        config.setdefault("data_dir", self.workdir / f"{name}-data")
        path = self.workdir / f"{name}.toml"
        path.write_text(agent_config(modbus_port=self.sim.modbus_port, csms_port=self.csms.port,
                                     log_level=log_level, **config))
        log = self.workdir / f"{name}.log"
        log.unlink(missing_ok=True)
        agent = AgentProcess(path, log, python_flags, log_level, cpu=self.agent_cpu)
        self.agents.append(agent)
        return agent

    async def booted(self, agent: AgentProcess, after: int = 0, timeout: float = 30.0) -> float:
        """Start ``agent``; time.time() when the backend received its BootNotification."""
        from tests.benchmarks.backend import is_call

        await agent.start()
        try:
            boot = await self.csms.wait_for(is_call("BootNotification"), timeout=timeout, after=after)
        except TimeoutError:
            raise RuntimeError(f"agent did not boot; its log:\n{agent.log()[-3000:]}") from None
        return boot.received

    async def status(self, connector: int, status: str, after: int = 0, timeout: float = 20.0) -> float:
        from tests.benchmarks.backend import is_call

        entry = await self.csms.wait_for(is_call("StatusNotification", connectorId=connector, status=status),
                                         timeout=timeout, after=after)
        return entry.received

    async def charging(self, connector: int, id_tag: str = "BENCH") -> None:
        """EV plugged in and a remote start: the connector charges (contactor closed)."""
        mark = len(self.csms.frames)
        self.sim.plug(connector)
        await self.status(connector, "Preparing", after=mark)
        path = next(iter(self.csms.connections))
        reply = await self.csms.call(path, "RemoteStartTransaction", {"idTag": id_tag, "connectorId": connector})
        assert reply[2]["status"] == "Accepted", reply
        await self.sim.wait_for(lambda s: s["evses"][connector - 1]["contactor_closed"], timeout=20)
        await self.status(connector, "Charging", after=mark)


async def bare_modbus_ms(port: int, rounds: int = 50) -> dict[str, float]:
    """The bus floor: p50 ms of a bare pymodbus client's EVSE-DIN status read (FC03, 1000..1007)
    and current write (FC16, 1000) against the same simulator; the write puts back what it read."""
    import statistics

    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    await client.connect()
    reads, writes = [], []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            regs = (await client.read_holding_registers(REG_CURRENT, count=8, device_id=BOARD_UNITS[2])).registers
            t1 = time.perf_counter()
            await client.write_registers(REG_CURRENT, [regs[0]], device_id=BOARD_UNITS[2])
            t2 = time.perf_counter()
            reads.append((t1 - t0) * 1000)
            writes.append((t2 - t1) * 1000)
    finally:
        client.close()
    return {"read_ms": statistics.median(reads), "write_ms": statistics.median(writes)}
