"""The "Heidelberg + PN532 + OLED + TMP102" build end to end: the shipped config files
(simulator/builds/heidelberg-oled.toml for evse-sim, config/agent-sim-heidelberg-oled.toml for the
agent, ports made ephemeral), the real agent process, ocpp-csms.

A card tapped on the PN532 starts the session, the OLED shows "Charging" and the power,
MeterValues carry the temperature, heating the TMP102 derates the current and then faults
the connector (HighTemperature) until it cools, and the same card stops the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ocpp_csms import MeterValuesEvent, StatusEvent, TransactionStartedEvent, TransactionStoppedEvent

from agent.ui.screens import draw_text
from drivers.bitmap import Bitmap
from simulator.app import Simulator
from simulator.config import load_config
from tests.integration.conftest import ROOT, AgentProcess
from tests.integration.test_session_flow import booted, evse, status_reached

CARD = "04A1B2C3D4E5F6"
CP_ID = "CP-SIM-OLED"


def shows(picture: dict, text: str, scale: int = 1) -> bool:
    """Whether ``text`` in the agent's font appears anywhere on the simulated OLED."""
    stamp = Bitmap(128, 64)
    width = draw_text(stamp, 0, 0, text, scale)
    pattern = [row[:width] for row in stamp.rows()[: 7 * scale]]
    rows = picture["rows"]
    for y in range(len(rows) - len(pattern) + 1):
        x = rows[y].find(pattern[0])
        while x != -1:
            if all(rows[y + i][x : x + width] == line for i, line in enumerate(pattern)):
                return True
            x = rows[y].find(pattern[0], x + 1)
    return False


def agent_config(sim: Simulator, csms_port: int, data_dir) -> str:
    text = (ROOT / "config" / "agent-sim-heidelberg-oled.toml").read_text()
    for old, new in [
        ('csms_url = "ws://127.0.0.1:9000"', f'csms_url = "ws://127.0.0.1:{csms_port}/ocpp"\nresponse_timeout_s = 5'),
        ("port = 5020", f"port = {sim.modbus_port}"),
        ('sim = "127.0.0.1:5021"', f'sim = "127.0.0.1:{sim.i2c_port}"'),
        ('data_dir = "/tmp/evse-agent-sim-oled"', f'data_dir = "{data_dir}"'),
        ("MeterValueSampleInterval = 10", "MeterValueSampleInterval = 1"),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition that no event announces (the PN532 being polled), checking often."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.fixture
async def oled_sim():
    simulator = Simulator(load_config(ROOT / "simulator" / "builds" / "heidelberg-oled.toml"),
                          http=False, modbus_port=0, i2c_port=0, speed=5.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_pn532_oled_and_tmp102_through_a_whole_session(oled_sim, csms, tmp_path):
    sim = oled_sim
    config = tmp_path / "agent.toml"
    config.write_text(agent_config(sim, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    rec = csms.recorder
    try:
        await booted(csms)
        # Free: the display shows the connector, its status and the payment QR code.
        await sim.wait_for(lambda s: s["i2c"]["displays"]["1"]["on"], timeout=10)
        await sim.wait_for(lambda s: shows(sim.display(1), "Available"), timeout=10)
        assert shows(sim.display(1), "#1", scale=2)

        sim.plug(1)
        await rec.wait_for(status_reached(csms, "Preparing"))
        nfc = sim.i2c.nfc
        sim.tap_card(CARD, hold_s=1.0)
        started = await rec.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        assert started.transaction.id_tag == CARD and started.transaction.connector_id == 1
        await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
        await rec.wait_for(status_reached(csms, "Charging"))
        # 16 A x 230 V x 3 phases from the box's own meter
        await sim.wait_for(lambda s: shows(sim.display(1), "Charging", 2) and shows(sim.display(1), "11.0 kW", 2),
                           timeout=10)

        # The panel loses power for a while: charging goes on, and it is set up and drawn again.
        sim.i2c.set_silent(0x3C, True)
        sim.i2c.displays[1].__init__()  # back at its power-on registers: dark
        await until(lambda: sim.i2c.bus.nacks.get(0x3C, 0) > 0)  # the agent's next picture failed
        sim.i2c.set_silent(0x3C, False)
        await sim.wait_for(lambda s: s["i2c"]["displays"]["1"]["on"] and shows(sim.display(1), "Charging", 2),
                           timeout=10)
        assert evse(sim.state())["contactor_closed"]

        sampled = await rec.wait_for(
            lambda e: isinstance(e, MeterValuesEvent) and any(r.measurand == "Temperature" for r in e.readings))
        temperature = next(r for r in sampled.readings if r.measurand == "Temperature")
        assert temperature.unit == "Celsius" and float(temperature.value) == 25.0

        # Warm: derated linearly between 60 and 75 °C (67.5 °C: 11 A) while charging goes on.
        sim.set_temperature(67.5)
        await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 11 and evse(s)["contactor_closed"], timeout=10)
        # Too hot: Faulted with HighTemperature, the contactor opens, the transaction is kept.
        sim.set_temperature(80.0)
        faulted = await rec.wait_for(status_reached(csms, "Faulted"))
        assert faulted.connector.error_code == "HighTemperature"
        assert faulted.connector.vendor_error_code == "E-TEMP-HIGH"
        await sim.wait_for(lambda s: not evse(s)["contactor_closed"], timeout=10)
        await sim.wait_for(lambda s: shows(sim.display(1), "Fault", 2), timeout=10)
        assert not rec.of(TransactionStoppedEvent)
        # Cooled down: charging resumes on its own.
        mark = len(rec.events)
        sim.set_temperature(30.0)
        await rec.wait_for(status_reached(csms, "Charging"), after=mark)
        await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 16, timeout=15)

        # The same card on the PN532 again stops the session.
        await sim.wait_for(lambda s: s["card"] is None, timeout=10)
        polls = nfc.commands.count(0x4A)
        await until(lambda: nfc.commands.count(0x4A) >= polls + 2)  # it saw the field empty
        sim.tap_card(CARD, hold_s=1.0)
        stopped = await rec.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=20)
        assert stopped.transaction.stop_reason == "Local"
        assert stopped.transaction.meter_stop > started.transaction.meter_start
        await sim.wait_for(lambda s: not evse(s)["contactor_closed"], timeout=10)
        await sim.wait_for(lambda s: shows(sim.display(1), "Finished", 2), timeout=10)
        statuses = [e.connector.status for e in rec.of(StatusEvent) if e.connector.connector_id == 1]
        assert statuses[-1] == "Finishing"
    finally:
        await agent.stop()
        print(agent.log()[-5000:])
    # The agent left the panel dark when it stopped.
    assert not sim.display(1)["on"]
