"""The real agent driving a Heidelberg Energy Control twin (its own meter, no separate one)
against ocpp-csms: remote start -> charge -> remote stop, meterStop = the box's energy."""

from __future__ import annotations

import pytest
from ocpp_csms import MeterValuesEvent, TransactionStartedEvent, TransactionStoppedEvent

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from tests.integration.conftest import AgentProcess
from tests.integration.test_session_flow import booted, evse, status_reached


def heidelberg_agent_config(modbus_port: int, csms_port: int, data_dir) -> str:
    return f"""
[charge_point]
id = "CP-TEST-1"

[ocpp]
csms_url = "ws://127.0.0.1:{csms_port}/ocpp"
response_timeout_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 1

[ocpp.keys]
MeterValueSampleInterval = 1
MeterValuesSampledData = ["Energy.Active.Import.Register", "Current.Import"]

[storage]
data_dir = "{data_dir}"

[[buses]]
name = "gateway"
kind = "tcp"
host = "127.0.0.1"
port = {modbus_port}
timeout_s = 0.3
retries = 0

[[connectors]]
id = 1
max_current_a = 16
poll_interval_s = 0.1
[connectors.board]
driver = "heidelberg"
bus = "gateway"
unit = 1
min_interval_s = 0.0
watchdog_ms = 60000
failsafe_current_a = 0

[card_reader]
driver = "none"
"""


@pytest.fixture
async def heidelberg_sim():
    data = default_toml()
    data["evse"] = [{"id": 1, "board": "heidelberg", "board_unit": 1, "meter": "none"}]
    simulator = Simulator(parse_config(data), http=False, modbus_port=0, speed=5.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_remote_session_on_a_heidelberg_box(heidelberg_sim, csms, tmp_path):
    sim = heidelberg_sim
    config = tmp_path / "agent.toml"
    config.write_text(heidelberg_agent_config(sim.modbus_port, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await booted(csms)
        # the agent set the box up: standby off, fail-safe 0, watchdog 60 s
        writes = {(w.address, w.values) for w in sim.register_writes}
        assert {(258, (4,)), (262, (0,)), (257, (60000,))} <= writes
        cp = csms.charge_points["CP-TEST-1"]
        sim.plug(1)
        await csms.recorder.wait_for(status_reached(csms, "Preparing"))
        assert await cp.async_remote_start_transaction("REMOTE-TAG", connector_id=1) == "Accepted"
        started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
        await csms.recorder.wait_for(status_reached(csms, "Charging"))
        sampled = await csms.recorder.wait_for(
            lambda e: isinstance(e, MeterValuesEvent) and e.transaction_id == started.transaction.transaction_id)
        assert any(r.measurand == "Current.Import" for r in sampled.readings)  # from the box's own meter
        await sim.wait_for(lambda s: evse(s)["energy_wh"] >= started.transaction.meter_start + 50, timeout=20)
        assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
        stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=15)
        state = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
        assert stopped.transaction.stop_reason == "Remote"
        assert stopped.transaction.meter_stop > started.transaction.meter_start
        # Registers 17-18 hold whole Wh: meterStop is exactly the box's energy register.
        box_energy_wh = sim.model.board_read(1, 17, 2, fc=4)
        assert stopped.transaction.meter_stop == box_energy_wh[0] << 16 | box_energy_wh[1]
        assert abs(stopped.transaction.meter_stop - evse(state)["energy_wh"]) < 1
        assert not [e for e in sim.events if e.kind == "watchdog"]  # the agent kept it fed
    finally:
        await agent.stop()
        print(agent.log()[-4000:])
