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


async def agent_status(tmp_path) -> dict:
    """``evse-agent status --json``: the running agent's own account (its local socket)."""
    import asyncio
    import json
    import sys

    from tests.integration.conftest import ROOT

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", "status", "--config", str(tmp_path / "agent.toml"), "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def until_status(tmp_path, predicate, timeout: float = 30.0) -> dict:
    """Ask ``evse-agent status`` until ``predicate(state)`` holds (nothing announces it)."""
    import asyncio

    async with asyncio.timeout(timeout):
        while True:
            state = await agent_status(tmp_path)
            if predicate(state):
                return state
            await asyncio.sleep(0.1)


async def test_disk_full_keeps_the_stop_in_memory_and_stores_it_when_the_disk_takes_writes(
        tmp_path, sim, csms, proxy, make_agent):
    """README, Reliability: the StopTransaction of a session ended by a full disk is kept in
    memory and stored once the disk takes writes again. Told apart from "sent straight from
    memory": the backend is away the whole time, and the agent is killed (memory gone) once
    the disk is writable again; the StopTransaction still arrives after its restart, so it
    was stored."""
    import resource

    from ocpp_csms import TransactionStoppedEvent

    from tests.integration.test_outages import start_charging

    agent = await make_agent(proxy.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    proxy.cut()  # nothing can be sent from memory from here on
    limits = resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE, (1, limits[1]))  # the disk is full
    try:
        final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0,
                                   timeout=20)
        state = await until_status(tmp_path, lambda st: st["connectors"][0]["fault"] == "storage")
        assert state["connectors"][0]["transaction"] is None  # the session ended
    finally:
        resource.prlimit(agent.proc.pid, resource.RLIMIT_FSIZE, limits)  # space again
    # The storage fault clears only once the kept stop is written; it then waits in the queue.
    state = await until_status(tmp_path, lambda st: st["connectors"][0]["fault"] is None)
    assert state["queued_messages"] >= 1
    await agent.kill()  # memory gone: only what was stored is left
    assert not csms.recorder.of(TransactionStoppedEvent)
    proxy.restore()
    await agent.start()
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=30)
    assert stopped.transaction.transaction_id == tx.transaction_id
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
    assert len(csms.recorder.of(TransactionStoppedEvent)) == 1
