"""Nothing lost: the network cut mid-session, and the agent killed mid-session."""

from __future__ import annotations

from ocpp_csms import MeterValuesEvent, TransactionStartedEvent, TransactionStoppedEvent

from tests.integration.test_session_flow import booted, evse, status_reached


async def start_charging(sim, csms, tag="TAG-1"):
    """A running session whose StartTransaction the agent has seen confirmed.

    (A MeterValues carrying the backend's transactionId proves the confirmation was
    stored. Killing the agent between the backend's answer and that store resends the
    StartTransaction with the same message id: OCPP 1.6 offers nothing better.)"""
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction(tag, connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
    tx = started.transaction
    await csms.recorder.wait_for(lambda e: isinstance(e, MeterValuesEvent) and e.transaction_id == tx.transaction_id)
    return tx


async def test_network_cut_mid_session_delivers_everything_after_reconnect(sim, csms, proxy, make_agent):
    await make_agent(proxy.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)

    proxy.cut()
    cut_at = len(csms.recorder.events)
    # Charging goes on without the backend: energy keeps flowing.
    energy = evse(sim.state())["energy_wh"]
    await sim.wait_for(lambda s: evse(s)["energy_wh"] > energy + 20 and evse(s)["contactor_closed"], timeout=20)
    sim.unplug(1)  # the session ends while offline
    final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    assert not csms.recorder.of(TransactionStoppedEvent)

    proxy.restore()
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=30, after=cut_at)
    assert stopped.transaction.transaction_id == tx.transaction_id
    assert stopped.transaction.stop_reason == "EVDisconnected"
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
    # Meter values taken offline arrived too, in order, before the stop.
    offline_values = [
        e for e in csms.recorder.events[cut_at:] if isinstance(e, MeterValuesEvent) and e.transaction_id == tx.transaction_id
    ]
    assert offline_values, "meter values sampled while offline were not delivered"
    stamps = [r.timestamp for e in offline_values for r in e.readings if r.measurand == "Energy.Active.Import.Register"]
    assert stamps == sorted(stamps)
    assert len(csms.recorder.of(TransactionStoppedEvent)) == 1
    assert len(csms.recorder.of(TransactionStartedEvent)) == 1


async def test_sigkill_mid_session_then_restart_resumes_the_transaction(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
    # Resumed, not restarted: still one StartTransaction; the backend's id still works.
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_remote_stop_transaction(tx.transaction_id) == "Accepted"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Remote"
    assert len(csms.recorder.of(TransactionStartedEvent)) == 1
    final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1


async def test_sigkill_then_ev_leaves_stops_with_power_loss(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    await agent.kill()
    sim.unplug(1)
    final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    await agent.start()
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=30)
    assert stopped.transaction.transaction_id == tx.transaction_id
    assert stopped.transaction.stop_reason == "PowerLoss"
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
    assert len(csms.recorder.of(TransactionStartedEvent)) == 1
