"""Every build shipped in config/ runs a full session against its simulator build."""

from __future__ import annotations

import dataclasses

import pytest
from ocpp_csms import TransactionStartedEvent, TransactionStoppedEvent

from simulator.app import Simulator
from simulator.config import load_config as load_sim_config
from tests.integration.conftest import ROOT, AgentProcess
from tests.integration.test_session_flow import booted, evse, status_reached

BUILDS = {
    # agent config -> simulator build (None: the simulator's default two-connector wallbox)
    "agent-sim.toml": None,
    "agent-sim-openevse.toml": ROOT / "simulator" / "builds" / "openevse.toml",
    # the real-hardware template, its /dev/ttyUSB0 replaced by the simulator's RTU pty
    "agent.example.toml": None,
}


def ephemeral(sim_config):
    """The build with every listening port chosen by the system, so tests never collide."""
    evses = tuple(dataclasses.replace(e, rapi_port=0) for e in sim_config.evses)
    return dataclasses.replace(sim_config, evses=evses)


@pytest.mark.parametrize("agent_config", sorted(BUILDS))
async def test_build_runs_a_session(agent_config, tmp_path, csms):
    build = BUILDS[agent_config]
    sim_config = ephemeral(load_sim_config(build)) if build else load_sim_config()
    rtu_link = str(tmp_path / "ttyUSB0") if agent_config == "agent.example.toml" else None
    async with Simulator(sim_config, http_port=0, modbus_port=0, speed=20.0, rtu_link=rtu_link) as sim:
        text = (ROOT / "config" / agent_config).read_text()
        text = text.replace("port = 5020\n", f"port = {sim.modbus_port}\n")
        if rtu_link:
            text = text.replace('device = "/dev/ttyUSB0"', f'device = "{rtu_link}"')
        for port in sim.rapi_ports.values():
            text = text.replace("socket://127.0.0.1:5030", f"socket://127.0.0.1:{port}")
        config = tmp_path / "agent.toml"
        config.write_text(text)
        agent = AgentProcess(config, tmp_path / "agent.log")
        agent.extra_args = ["--csms-url", f"ws://127.0.0.1:{csms.port}", "--data-dir", str(tmp_path / "data")]
        await agent.start()
        try:
            await booted(csms)
            cp_id = next(iter(csms.charge_points))
            cp = csms.charge_points[cp_id]
            sim.plug(1)
            await csms.recorder.wait_for(status_reached(csms, "Preparing"), timeout=20)
            assert await cp.async_remote_start_transaction("BUILD", connector_id=1) == "Accepted"
            started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
            await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=20)
            energy = evse(sim.state())["energy_wh"]
            await sim.wait_for(lambda s: evse(s)["energy_wh"] > energy + 20, timeout=20)
            assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
            stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=20)
            final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
            assert stopped.transaction.meter_stop > started.transaction.meter_start
            assert abs(stopped.transaction.meter_stop - round(evse(final)["energy_wh"])) <= 1
        finally:
            await agent.stop()
            print(agent.log()[-3000:])
