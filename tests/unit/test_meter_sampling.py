"""What the meter sampler keeps and queues for a running transaction (agent/station/meter_sampler.py):
OCPP 2.0.1 SampledDataCtrlr.TxEndedInterval / TxStartedMeasurands, AlignedDataCtrlr.SendDuringIdle
and TxEndedInterval, a transaction update now (TriggerMessage TransactionEvent), and that the 1.6
keys keep their meaning. A real store, time passed in, no running station."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agent.core.session import Session, TransactionRestored
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from agent.station.connector import Connector, ConnectorHardware
from agent.station.meter_sampler import MeterSampler
from drivers.interfaces import MeterReading, PilotState

UTC = dt.UTC


class Clock:
    """agent.station.clock.Clock as the sampler reads it: ``now`` and ``iso``."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)

    def now(self) -> dt.datetime:
        return self.at

    def iso(self) -> str:
        return self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Rig:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = Settings(store)
        self.clock = Clock()
        self.monotonic = 100.0
        hardware = ConnectorHardware(evse_id=1, board=None, meter=None, max_current_a=16.0)
        self.conn = Connector(hardware, Session(max_current_a=16.0))
        self.conn.reading = MeterReading(1000.0, 3680.0, current_a=(16.0,), voltage_v=(230.0,))
        self.meters = MeterSampler({1: self.conn}, settings=self.settings, store=store, clock=self.clock,
                                   monotonic=lambda: self.monotonic, dispatch=lambda conn, e: None, backend=lambda: None)

    def start(self) -> None:
        """A transaction runs on the connector (stored, its session charging)."""
        self.conn.session.handle(TransactionRestored("TAG", PilotState.C), 0.0)
        self.conn.transaction_local_id = self.store.begin_transaction(1, "TAG", 1000, self.clock.iso(), {})
        self.meters.transaction_started(self.conn)

    def polls(self, seconds: float, every: float = 0.5) -> None:
        for _ in range(round(seconds / every)):
            self.monotonic += every
            self.meters.periodic(self.conn)

    def queued(self) -> list[tuple[str, dict]]:
        """The outbox, oldest first (taken out)."""
        out = []
        while (message := self.store.outbox_head()) is not None:
            out.append((message.kind, message.body))
            self.store.delivered(message.seq)
        return out

    def kept(self) -> list[dict]:
        return json.loads(self.store.transaction(self.conn.transaction_local_id).stop_samples)


@pytest.fixture
def rig(tmp_path):
    store = Store(tmp_path / "agent.db")
    yield Rig(store)
    store.close()


def contexts(samples: list[dict]) -> set[str]:
    return {v["context"] for s in samples for v in s["values"]}


def test_tx_ended_interval_keeps_its_own_samples_for_the_end(rig):
    rig.settings.set("stop_txn_sampled_data", ["Energy.Active.Import.Register"])
    rig.settings.set("tx_ended_interval_s", 2)
    rig.settings.set("meter_sample_interval_s", 600)
    rig.start()
    rig.polls(5)
    kept = rig.kept()
    assert len(kept) == 2 and contexts(kept) == {"Sample.Periodic"}
    assert all([v["measurand"] for v in s["values"]] == ["Energy.Active.Import.Register"] for s in kept)
    assert [kind for kind, _ in rig.queued()] == ["tx_started"]  # nothing sent before the end


def test_without_tx_ended_interval_the_end_samples_follow_the_sample_interval_as_in_1_6(rig):
    rig.settings.set("stop_txn_sampled_data", ["Energy.Active.Import.Register"])
    rig.settings.set("meter_sample_interval_s", 2)
    rig.start()
    rig.polls(5)
    assert len(rig.kept()) == 2
    assert [kind for kind, _ in rig.queued()] == ["tx_started", "tx_updated", "tx_updated"]


def test_an_update_now_is_queued_with_the_updated_measurands_and_its_trigger(rig):
    assert not rig.meters.update_now(rig.conn, "Trigger")  # no transaction
    rig.settings.set("meter_sampled_data", ["Power.Active.Import"])
    rig.start()
    assert rig.meters.update_now(rig.conn, "Trigger")
    (_, started), (kind, update) = rig.queued()
    assert kind == "tx_updated" and update["trigger"] == "Trigger" and update["seq_no"] == started["seq_no"] + 1
    assert update["samples"][0]["values"] == [{"measurand": "Power.Active.Import", "value": 3680.0, "unit": "W",
                                               "context": "Trigger"}]


def test_the_started_samples_are_the_tx_started_measurands(rig):
    rig.settings.set("tx_started_measurands", ["Energy.Active.Import.Register", "Voltage"])
    (sample,) = rig.meters.started_samples(rig.conn)
    assert [(v["measurand"], v["context"]) for v in sample["values"]] == [
        ("Energy.Active.Import.Register", "Transaction.Begin"), ("Voltage", "Transaction.Begin")]
    rig.conn.reading = None
    rig.settings.set("tx_started_measurands", ["Voltage"])
    assert rig.meters.started_samples(rig.conn) == []


def test_clock_aligned_values_during_a_transaction_unless_send_during_idle(rig):
    rig.settings.set("stop_txn_aligned_data", ["Energy.Active.Import.Register"])
    rig.start()
    rig.queued()
    rig.meters._aligned(rig.conn, "2026-12-05T10:00:02.000Z")
    ((_, update),) = rig.queued()
    assert update["trigger"] == "MeterValueClock" and len(rig.kept()) == 1
    rig.meters._aligned(rig.conn, "2026-12-05T10:00:04.000Z", send=False)  # SendDuringIdle, a transaction runs
    assert rig.queued() == [] and len(rig.kept()) == 2
    rig.meters._aligned(rig.conn, "2026-12-05T10:00:06.000Z", send=False, keep_ended=False)
    assert rig.queued() == [] and len(rig.kept()) == 2


def test_sampled_data_disabled_takes_no_transaction_samples(rig):
    rig.settings.set("sampled_data_enabled", False)
    rig.settings.set("meter_sample_interval_s", 1)
    rig.start()
    rig.polls(3)
    assert [kind for kind, _ in rig.queued()] == ["tx_started"]
