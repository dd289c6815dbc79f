"""Long runs: a crash loop (in OCPP 1.6 and 2.0.1), and many sessions with frequent meter values.

Quick in CI; SOAK_SESSIONS / CRASH_LOOPS make them long. They print what they measured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ocpp_csms import MeterValuesEvent, TransactionStartedEvent, TransactionStoppedEvent

from tests.faults.ledger201 import Ledger201
from tests.integration.test_session_flow import booted, evse, status_reached

SESSIONS = int(os.environ.get("SOAK_SESSIONS", "15"))
CRASH_LOOPS = int(os.environ.get("CRASH_LOOPS", "10"))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def storage_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("evse-agent.db*"))


@pytest.mark.timeout(120 + CRASH_LOOPS * 10)
async def test_crash_loop_loses_nothing_and_storage_stays_bounded(sim, csms, make_agent, tmp_path):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("LOOP", connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    # ocpp-csms does not recognise a resent StartTransaction by its message id (the ledger
    # of test_fault_rounds does): kill only once the confirmation is stored, which a
    # MeterValues carrying the backend's transactionId proves.
    await csms.recorder.wait_for(
        lambda e: isinstance(e, MeterValuesEvent) and e.transaction_id == started.transaction.transaction_id)
    sizes = []
    for _ in range(CRASH_LOOPS):
        await agent.kill()
        mark = len(csms.recorder.events)
        await agent.start()
        await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
        sizes.append(storage_bytes(tmp_path / "data"))
    sim.unplug(1)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=30)
    final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    assert stopped.transaction.transaction_id == started.transaction.transaction_id
    assert len(csms.recorder.of(TransactionStartedEvent)) == 1
    assert abs(stopped.transaction.meter_stop - evse(final)["energy_wh"]) <= 1
    print(f"\ncrash loop: {CRASH_LOOPS} kills, storage {sizes[0]} -> {sizes[-1]} bytes")
    # WAL checkpoints keep the files from growing with each restart (no more than a
    # checkpoint's worth, 1000 pages of 4 KiB, over the first size).
    assert sizes[-1] <= sizes[0] + 4_200_000


@pytest.mark.timeout(120 + CRASH_LOOPS * 10)
async def test_crash_loop_loses_nothing_and_storage_stays_bounded_in_201(sim, make_agent, tmp_path):
    ledger = Ledger201()  # the ``ocpp`` library's 2.0.1 CSMS, keeping TransactionEvents by message id
    await ledger.start()
    try:
        agent = await make_agent(ledger.port, card_reader=False, extra_ocpp='versions = ["ocpp2.0.1"]')
        await ledger.wait_call("StatusNotification", timeout=30)  # registered
        ledger.knows.id_tokens["LOOP"] = {"status": "Accepted"}
        sim.plug(1)
        answer = await ledger.request("RequestStartTransaction",
                                      {"idToken": {"idToken": "LOOP", "type": "Central"}, "remoteStartId": 1})
        assert answer["status"] == "Accepted"
        await ledger.wait_for(lambda: ledger.transaction_of("LOOP"))
        sizes = []
        for _ in range(CRASH_LOOPS):
            seen = len(ledger.transaction_of("LOOP").events)
            await agent.kill()
            mark = ledger.mark()
            await agent.start()
            await ledger.wait_call("StatusNotification", lambda p: p["connectorStatus"] == "Occupied", after=mark,
                                   timeout=20)
            await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=20)  # the session resumed
            # and goes on with new events (TxUpdatedInterval 1 s): their seqNo must continue across the kill
            await ledger.wait_for(lambda seen=seen: len(ledger.transaction_of("LOOP").events) > seen, timeout=20)
            sizes.append(storage_bytes(tmp_path / "data"))
        sim.unplug(1)
        final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
        tx = await ledger.wait_for(lambda: (t := ledger.transaction_of("LOOP")) and "Ended" in t.event_types and t,
                                   timeout=30)
        assert list(ledger.transactions) == [tx.transaction_id]  # one transaction across all the kills
        assert tx.problems() == []  # each event once, seqNo 0, 1, 2, ..., Started first, Ended last
        assert ledger.duplicates == 0
        assert abs(tx.register("Transaction.End") - evse(final)["energy_wh"]) <= 1
        print(f"\ncrash loop (OCPP 2.0.1): {CRASH_LOOPS} kills, {len(tx.events)} TransactionEvents, "
              f"{ledger.resends} resends, storage {sizes[0]} -> {sizes[-1]} bytes")
        assert sizes[-1] <= sizes[0] + 4_200_000
    finally:
        await ledger.stop()


@pytest.mark.timeout(120 + SESSIONS * 10)
async def test_many_sessions_keep_memory_and_storage_flat(sim, csms, make_agent, tmp_path):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    samples = []
    for n in range(SESSIONS):
        mark = len(csms.recorder.events)
        sim.plug(1)
        await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark)
        assert await cp.async_remote_start_transaction(f"SOAK{n}", connector_id=1) == "Accepted"
        await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent), after=mark)
        energy = evse(sim.state())["energy_wh"]
        await sim.wait_for(lambda s: evse(s)["energy_wh"] > energy + 30, timeout=20)
        sim.unplug(1)
        await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), after=mark, timeout=30)
        await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)
        samples.append((rss_kb(agent.proc.pid), storage_bytes(tmp_path / "data")))
    first, last = samples[min(2, len(samples) - 1)], samples[-1]
    print(f"\nsoak: {SESSIONS} sessions, RSS {first[0]} -> {last[0]} kB ({last[0] - first[0]:+d} kB), "
          f"storage {first[1]} -> {last[1]} bytes")
    assert len(csms.recorder.of(TransactionStoppedEvent)) == SESSIONS
    assert last[0] - first[0] < 8_000  # kB: no growth per session worth the name
