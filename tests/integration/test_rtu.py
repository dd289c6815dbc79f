"""The agent over Modbus RTU on a pty pair (socat), as over a USB-RS485 adapter."""

from __future__ import annotations

import pytest
from ocpp_csms import TransactionStartedEvent, TransactionStoppedEvent

from simulator.app import Simulator
from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.test_session_flow import booted, evse, status_reached

pytestmark = pytest.mark.rtu


async def test_remote_session_over_rtu(tmp_path, csms):
    link = str(tmp_path / "ttyAgent")
    async with Simulator(http_port=0, modbus_port=0, rtu_link=link, speed=20.0) as sim:
        config = tmp_path / "agent.toml"
        config.write_text(
            agent_config(modbus_port=0, csms_port=csms.port, data_dir=tmp_path / "data", card_reader=False, rtu_device=link)
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        try:
            await booted(csms)
            cp = csms.charge_points["CP-TEST-1"]
            sim.plug(1)
            await csms.recorder.wait_for(status_reached(csms, "Preparing"))
            assert await cp.async_remote_start_transaction("RTU-TAG", connector_id=1) == "Accepted"
            started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
            await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
            sim.set_ev_state(1, "B")  # the EV pauses: the board opens the contactor itself
            await csms.recorder.wait_for(status_reached(csms, "SuspendedEV"))
            sim.unplug(1)
            stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
            final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
            assert stopped.transaction.transaction_id == started.transaction.transaction_id
            assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
        finally:
            await agent.stop()
            print(agent.log()[-4000:])
