"""Storage that cannot be trusted at start: the agent still runs, safely."""

from __future__ import annotations

from ocpp_csms import StatusEvent

from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.test_session_flow import booted, evse


def faulted_storage(e) -> bool:
    return isinstance(e, StatusEvent) and e.connector.connector_id == 1 and e.connector.status == "Faulted" \
        and e.connector.vendor_error_code == "E-STORAGE"


async def test_unwritable_data_directory_means_faulted_and_no_charging(tmp_path, sim, csms):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    config = tmp_path / "agent.toml"
    config.write_text(agent_config(modbus_port=sim.modbus_port, csms_port=csms.port, data_dir=blocker / "data",
                                   card_reader=False))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await csms.recorder.wait_for(faulted_storage, timeout=20)
        sim.plug(1)
        cp = csms.charge_points["CP-TEST-1"]
        assert await cp.async_remote_start_transaction("TAG", connector_id=1) == "Rejected"
        state = await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 0)
        assert not evse(state)["contactor_closed"]
        assert "running without storage" in agent.log()
    finally:
        await agent.stop()


async def test_damaged_database_is_set_aside_and_charging_works(tmp_path, sim, csms):
    data = tmp_path / "data"
    data.mkdir()
    (data / "evse-agent.db").write_bytes(b"\x00garbage" * 4096)
    config = tmp_path / "agent.toml"
    config.write_text(agent_config(modbus_port=sim.modbus_port, csms_port=csms.port, data_dir=data, card_reader=False))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await booted(csms)
        assert "moving it aside" in agent.log()
        assert any(p.name.startswith("evse-agent.db.corrupt-") for p in data.iterdir())
        sim.plug(1)
        cp = csms.charge_points["CP-TEST-1"]
        assert await cp.async_remote_start_transaction("TAG", connector_id=1) == "Accepted"
        await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    finally:
        await agent.stop()



async def test_disk_full_mid_session_stops_charging_and_keeps_the_stop(sim, csms, make_agent):
    import resource

    from ocpp_csms import TransactionStoppedEvent

    from tests.integration.test_outages import start_charging

    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    # The disk is full: no file of the agent may grow (SQLite gets "database or disk is full").
    limits = resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE, (1, limits[1]))
    try:
        await csms.recorder.wait_for(faulted_storage, timeout=20)
        final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0)
    finally:
        resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE, limits)  # space again
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=30)
    assert stopped.transaction.transaction_id == tx.transaction_id
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
