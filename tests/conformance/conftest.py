"""The charge point under test and the backend that tests it.

The station: the simulator's hardware (an EVSE-DIN board and an SDM630 meter on Modbus TCP, a
PN532 card reader on the simulated I²C bus, a main contactor and a motor cable lock on the
simulated GPIO) and ``evse-agent run`` as a process with a config written for it. The
backend: ``strict_csms.mjs`` (ocpp-rpc in strictMode), one node process for the whole run,
one endpoint per test. A test fails if the backend saw a single schema violation.

The card reader is the PN532 twin (the simulator's vpcd port is 0), so these tests never
touch the one shared pcscd reader and may run beside other tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from simulator.twins.gpio import agent_toml
from tests.conformance.strict_csms import StrictCsms, shared_control_url, violations_report
from tests.integration.conftest import AgentProcess

CP_ID = "CP-OCTT-1"

# Cards (UIDs as the reader yields them) and the idTags the backend knows.
VALID = "04A1B2C3D4E5F6"  # <Configured valid IdTag>
VALID_2 = "04A1B2C3D4E5F7"  # <Configured valid IdTag 2>
INVALID = "04DEAD00BEEF01"  # <Configured invalid IdTag>
PARENT = "GROUP-1"  # the parentIdTag of the two group cards
GROUP_1 = "04C1C2C3C4C5C6"
GROUP_2 = "04C1C2C3C4C5C7"
REMOTE = "REMOTE-TAG-1"  # an idTag only ever sent by the backend (an app, a QR payment)

KNOWN_ID_TAGS = {
    VALID: {"status": "Accepted"},
    VALID_2: {"status": "Accepted"},
    REMOTE: {"status": "Accepted"},
    GROUP_1: {"status": "Accepted", "parentIdTag": PARENT},
    GROUP_2: {"status": "Accepted", "parentIdTag": PARENT},
}

IN_LIST_PASSIVE_TARGET = 0x4A  # the PN532 command the agent polls for a card with
LOCK_WIRES = ["lock_direction", "lock_motor", "lock_feedback"]
CONTACTOR_WIRES = ["contactor", "contactor_feedback"]


@pytest.fixture(scope="session")
def strict_backend() -> str:
    """The control URL of the one ``node strict_csms.mjs`` of the whole run (shared with the 2.0.1 suite)."""
    return shared_control_url()


@pytest.fixture
async def csms(strict_backend, tmp_path) -> AsyncIterator[StrictCsms]:
    backend = StrictCsms(strict_backend, frames_log=tmp_path / "ocpp-frames.log")
    backend.knows.id_tags.update(KNOWN_ID_TAGS)
    await backend.start()
    yield backend
    await backend.stop()
    if failure := violations_report(backend):
        pytest.fail(failure, pytrace=False)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    data = default_toml()
    data["evse"] = data["evse"][:1]  # a one-connector charge point
    data["i2c"] = {**data["i2c"], "nfc": "pn532", "temperature_sensor": "none"}
    config = parse_config(data)
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0, hold_s=0.6))
    simulator = Simulator(config, http=False, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


class Station:
    """The charge point under test, and what its EV driver does."""

    def __init__(self, sim: Simulator, csms: StrictCsms, tmp_path: Path) -> None:
        self.sim = sim
        self.csms = csms
        self.tmp = tmp_path
        self.data_dir = tmp_path / "data"
        self.agent: AgentProcess | None = None

    # ---- the station's configuration --------------------------------------------------------

    def config(self, *, keys: dict[str, Any] | None = None, lock: bool = True, csms_url: str | None = None,
               ocpp: str = "", extra: str = "", installer: str = "true", firmware: str = "") -> str:
        """The agent's TOML. ``lock``: a socket outlet with a cable lock (False: a fixed cable,
        nothing to unlock). ``keys``: [ocpp.keys] over the station's defaults; ``ocpp``: more
        [ocpp] lines; ``installer``/``firmware``: the [firmware] installer and more lines;
        ``extra``: more tables."""
        all_keys = {"TransactionMessageRetryInterval": 1, **(keys or {})}
        key_lines = "\n".join(f"{name} = {toml_value(value)}" for name, value in all_keys.items())
        wires = CONTACTOR_WIRES + (LOCK_WIRES if lock else [])
        gpio = agent_toml(1, wires, lock_pulse_s=0.1, lock_check_s=0.1, lock_retry_s=0.3, lock_attempts=2)
        return f"""
[charge_point]
id = "{CP_ID}"
vendor = "evse-agent"
model = "OCTT wallbox"
serial_number = "OCTT-0001"

[ocpp]
csms_url = "{csms_url or self.csms.url()}"
response_timeout_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 1
{ocpp}

[ocpp.keys]
{key_lines}

[storage]
data_dir = "{self.data_dir}"
recheck_interval_s = 0.5

[firmware]
installer = "{installer}"
{firmware}

[[buses]]
name = "sim"
kind = "tcp"
host = "127.0.0.1"
port = {self.sim.modbus_port}
timeout_s = 0.3
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
{gpio}
[card_reader]
driver = "pn532"
poll_interval_s = 0.1

[i2c]
sim = "127.0.0.1:{self.sim.i2c_port}"

[gpio]
factory = "pigpio"
host = "127.0.0.1"
port = {self.sim.gpio_port}
{extra}
"""

    # ---- running it -----------------------------------------------------------------------------

    async def start(self, **options: Any) -> None:
        """Write the config (``config()`` options) and start ``evse-agent run``."""
        path = self.tmp / "agent.toml"
        path.write_text(self.config(**options))
        self.agent = AgentProcess(path, self.tmp / "agent.log")
        await self.agent.start()

    async def boot(self, **options: Any) -> None:
        """Start it and wait until it is registered and its connector reported Available."""
        mark = self.csms.mark()
        await self.start(**options)
        await self.booted(after=mark)

    async def booted(self, *, after: int = 0, status: str = "Available", timeout: float = 30.0) -> None:
        boot = await self.csms.wait_call("BootNotification", after=after, timeout=timeout)
        assert boot["chargePointVendor"] == "evse-agent"
        await self.csms.wait_status(status, after=after)

    async def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL as a power cut does) and start again with the same config."""
        if kill:
            await self.agent.kill()
        else:
            await self.agent.stop()
        await self.agent.start()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()

    def log(self) -> str:
        return self.agent.log() if self.agent else ""

    # ---- the EV and its driver --------------------------------------------------------------------

    def plug(self) -> None:
        self.sim.plug(1)

    def unplug(self) -> None:
        self.sim.unplug(1)

    async def tap(self, uid: str) -> None:
        """The EV driver holds a card to the reader, once the previous card has gone and the
        agent's reader has seen the field empty (a person cannot swap cards faster)."""
        await self.sim.wait_for(lambda s: s["card"] is None, timeout=5)
        chip = self.sim.i2c.nfc
        polls = chip.commands.count(IN_LIST_PASSIVE_TARGET)
        async with asyncio.timeout(5):  # no event announces a poll: look often
            while chip.commands.count(IN_LIST_PASSIVE_TARGET) < polls + 2:
                await asyncio.sleep(0.02)
        self.sim.tap_card(uid)
        await self.sim.wait_for(lambda s: s["card"] == uid, timeout=5)

    async def card_gone(self) -> None:
        """The last card has left the reader. Before a reboot: a card still lying on the reader
        when the agent starts again is read as a new presentation (its hand has not moved yet)."""
        await self.sim.wait_for(lambda s: s["card"] is None and s["card_next"] is None, timeout=5)

    def evse(self) -> dict:
        return next(e for e in self.sim.state()["evses"] if e["id"] == 1)

    def lock_locked(self) -> bool:
        return self.sim.state()["gpio"][1]["lock_locked"]

    async def energy_flows(self, timeout: float = 10.0) -> None:
        await self.sim.wait_for(lambda s: s["evses"][0]["contactor_closed"] and s["evses"][0]["power_w"] > 0,
                                timeout=timeout)

    async def no_energy(self, timeout: float = 10.0) -> None:
        await self.sim.wait_for(lambda s: not s["evses"][0]["contactor_closed"] and s["evses"][0]["power_w"] == 0,
                                timeout=timeout)


@pytest.fixture
async def station(sim, csms, tmp_path) -> AsyncIterator[Station]:
    cp = Station(sim, csms, tmp_path)
    yield cp
    await cp.stop()
    if cp.agent is not None:
        print(f"--- agent log ({tmp_path / 'agent.log'}) ---")
        print(cp.log()[-8000:])
        frames = tmp_path / "ocpp-frames.log"
        if frames.exists():
            print(f"--- OCPP frames ({frames}) ---")
            print(frames.read_text()[-8000:])
