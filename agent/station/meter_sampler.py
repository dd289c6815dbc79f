"""The meter of each connector: the one path that reads it, and the meter values sampled from it.

``MeterSampler.read`` is the only place a meter is read: by the device poller about once a
second, and for meterStart / meterStop (``energy_wh``). It counts failed reads (the meter is
lost after ``LOST_AFTER_FAILURES`` in a row: Fault.METER_COMM, cleared at its next answer)
and rounds the energy register to whole Wh (``in_whole_wh``), once, for every use.

Sampling (OCPP 1.6 §7.43 SampledValue names; version-neutral ``Sample`` values): periodic
samples during a transaction (MeterValueSampleInterval, from the poll loop), clock-aligned
samples (ClockAlignedDataInterval, its own task) and a sample now (``sample``: a trigger, the
transaction's end). Samples of a transaction are queued in the store's outbox with it, with
what StopTxnSampledData / StopTxnAlignedData keep for its stop.

OCPP 2.0.1 (the same settings under SampledDataCtrlr / AlignedDataCtrlr names, plus its own):
the values of a transaction's start (TxStartedMeasurands), the samples kept for its end at their
own intervals when TxEndedInterval / AlignedDataCtrlr.TxEndedInterval are set (else as in 1.6),
no clock-aligned values while a transaction runs with SendDuringIdle, nothing while Enabled is
false, and a transaction update now (TriggerMessage TransactionEvent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from agent.backend.ports import BackendPort, Sample, SampledValue, sample_to_json
from agent.core.session import Event, Fault, FaultCleared, FaultRaised
from agent.persistence.settings import Settings
from agent.persistence.store import StorageError, Store
from agent.station.clock import Clock
from drivers.interfaces import DeviceError, DeviceUnavailable, MeterReading

if TYPE_CHECKING:
    from agent.station.connector import Connector

log = logging.getLogger("agent.station.station")


class MeterSampler:
    def __init__(
        self,
        connectors: Mapping[int, Connector],
        *,
        settings: Settings,
        store: Store,
        clock: Clock,
        monotonic: Callable[[], float],
        dispatch: Callable[[Connector, Event], None],
        backend: Callable[[], BackendPort | None],
        temperature: Callable[[], float | None] = lambda: None,
    ) -> None:
        """``dispatch`` feeds a connector's session; ``backend`` is the backend now (None before
        one is attached); ``temperature`` the station sensor's last reading (Temperature)."""
        self._connectors = connectors
        self._settings = settings
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._dispatch = dispatch
        self._backend = backend
        self._temperature = temperature
        self._next_sample: dict[int, float] = {}  # EVSE -> when its next periodic sample is due (0: start)
        self._next_ended_sample: dict[int, float] = {}  # EVSE -> when its next TxEndedInterval sample is due

    # ---- reading the meter ---------------------------------------------------------------

    async def read(self, conn: Connector) -> MeterReading | None:
        """Read the connector's meter now: its reading (also kept as ``conn.reading``), None
        when it has no meter or the read failed."""
        meter = conn.hardware.meter
        if meter is None:
            return None
        try:
            reading = in_whole_wh(await meter.read())
        except (DeviceUnavailable, DeviceError) as exc:
            if conn.meter_health.failed(exc):
                log.error("connector %d: meter lost: %s", conn.id, exc)
                self._dispatch(conn, FaultRaised(Fault.METER_COMM))
            else:
                log.debug("connector %d: meter read failed: %s", conn.id, exc)
            return None
        if conn.meter_health.succeeded():
            log.info("connector %d: meter answers again", conn.id)
            self._dispatch(conn, FaultCleared(Fault.METER_COMM))
        conn.reading = reading
        return reading

    async def energy_wh(self, conn: Connector) -> int:
        """The energy register now, in whole Wh (meterStart / meterStop): read afresh, else the
        last reading (0 without one)."""
        reading = await self.read(conn)
        if reading is None and conn.hardware.meter is not None:
            log.warning("connector %d: meter read failed, using the last reading: %s", conn.id, conn.meter_health.last_error)
        reading = reading or conn.reading
        return int(reading.energy_wh) if reading is not None else 0

    # ---- sampling ------------------------------------------------------------------------

    def transaction_started(self, conn: Connector) -> None:
        """A transaction started: its first periodic sample is one interval from the next poll."""
        self._next_sample[conn.id] = 0.0
        self._next_ended_sample[conn.id] = 0.0

    def periodic(self, conn: Connector) -> None:
        """OCPP 1.6 §9.1.30 MeterValueSampleInterval: a sample of the running transaction when one
        is due (after each poll). 2.0.1 SampledDataCtrlr.Enabled false: none (Part 2 §2.7.1)."""
        if not self._settings["sampled_data_enabled"]:
            return
        self._ended_periodic(conn)
        interval = self._settings["meter_sample_interval_s"]
        if conn.transaction_local_id is None or conn.session.transaction is None or interval <= 0 or conn.reading is None:
            return
        now = self._monotonic()
        due = self._next_sample.get(conn.id, 0.0)
        if now < due:
            return
        if due:
            sample = self.sample(conn, "Sample.Periodic")
            # OCPP 1.6 §9.1.31 StopTxnSampledData: every MeterValueSampleInterval of the transaction
            # (unless the 2.0.1 SampledDataCtrlr.TxEndedInterval gives the Ended samples their own).
            keep = self._settings["stop_txn_sampled_data"] if self._settings["tx_ended_interval_s"] <= 0 else []
            try:
                self._store.queue_meter_values(
                    conn.transaction_local_id,
                    {"timestamp": sample.timestamp, "evse_id": conn.id, "connector_id": 1, "trigger": "MeterValuePeriodic",
                     "samples": [sample_to_json(sample)], "offline": not self._online()},
                    stop_samples=[sample_to_json(self.sample(conn, "Sample.Periodic", keep))] if keep else None,
                )
            except StorageError as exc:
                log.critical("connector %d: meter values not stored: %s; stopping the session", conn.id, exc)
                self._dispatch(conn, FaultRaised(Fault.STORAGE))
                return
            self._outbox_changed()
        self._next_sample[conn.id] = now + interval

    def started_samples(self, conn: Connector) -> list[dict]:
        """2.0.1 SampledDataCtrlr.TxStartedMeasurands (Part 2 §2.7.6, J02): the values of the transaction's
        start (context Transaction.Begin), of the reading just taken for meterStart."""
        sample = self.sample(conn, "Transaction.Begin", self._settings["tx_started_measurands"])
        return [sample_to_json(sample)] if sample.values else []

    def _ended_periodic(self, conn: Connector) -> None:
        """OCPP 2.0.1 SampledDataCtrlr.TxEndedInterval (Part 2 §2.7.5, J02): every interval of the
        transaction, a sample of the TxEndedMeasurands, kept (stored) for its TransactionEvent Ended."""
        interval = self._settings["tx_ended_interval_s"]
        keep = self._settings["stop_txn_sampled_data"]
        local_id = conn.transaction_local_id
        if interval <= 0 or not keep or local_id is None or conn.session.transaction is None or conn.reading is None:
            return
        now = self._monotonic()
        due = self._next_ended_sample.get(conn.id, 0.0)
        if now < due:
            return
        if due:
            try:
                self._store.keep_stop_samples(local_id, [sample_to_json(self.sample(conn, "Sample.Periodic", keep))])
            except StorageError as exc:
                log.warning("connector %d: sample for the transaction's end not stored: %s", conn.id, exc)
        self._next_ended_sample[conn.id] = now + interval

    def update_now(self, conn: Connector, trigger: str, context: str = "Trigger") -> bool:
        """A transaction update now (2.0.1 TriggerMessage TransactionEvent, F06): the
        updated measurands of the last reading, queued with the transaction's other events; False
        when no transaction runs."""
        local_id = conn.transaction_local_id
        if local_id is None or conn.session.transaction is None:
            return False
        sample = self.sample(conn, context)
        if not sample.values:
            log.warning("connector %d: no reading for a transaction update", conn.id)
            return False
        try:
            self._store.queue_meter_values(
                local_id,
                {"timestamp": sample.timestamp, "evse_id": conn.id, "connector_id": 1, "trigger": trigger,
                 "samples": [sample_to_json(sample)], "offline": not self._online()})
        except StorageError as exc:
            log.warning("connector %d: transaction update not stored: %s", conn.id, exc)
            return False
        self._outbox_changed()
        return True

    def sample(self, conn: Connector, context: str, measurands: list[str] | None = None,
               timestamp: str | None = None) -> Sample:
        """One sampled reading, numbers with their units (OCPP measurand names), of the last
        reading (or for ``timestamp``: a clock-aligned time); ``measurands`` None:
        MeterValuesSampledData."""
        wanted = measurands if measurands is not None else self._settings["meter_sampled_data"]
        reading = conn.reading
        phases = conn.hardware.phases
        values: list[SampledValue] = []
        for measurand in wanted:
            if measurand == "Energy.Active.Import.Register" and reading:
                values.append(_value(measurand, reading.energy_wh, "Wh", context))
            elif measurand == "Power.Active.Import" and reading:
                values.append(_value(measurand, reading.power_w, "W", context))
            elif measurand == "Current.Import" and reading:
                for i, amps in enumerate(reading.current_a[:phases]):
                    values.append(_value(measurand, amps, "A", context, f"L{i + 1}"))
            elif measurand == "Voltage" and reading:
                for i, volts in enumerate(reading.voltage_v[:phases]):
                    values.append(_value(measurand, volts, "V", context, f"L{i + 1}-N"))
            elif measurand == "Current.Offered":
                values.append(_value(measurand, conn.session.offered_a or 0.0, "A", context))
            elif measurand == "Temperature" and (celsius := self._temperature()) is not None:
                values.append(_value(measurand, celsius, "Celsius", context))
        return Sample(timestamp or self._clock.iso(), tuple(values))

    async def run(self) -> None:
        """OCPP 1.6 §9.1.3 ClockAlignedDataInterval (2.0.1 AlignedDataCtrlr.Interval, J01): samples
        at whole multiples of the interval since midnight (backend time), MeterValuesAlignedData
        measurands, each stamped with the aligned time it stands for and taken once per aligned
        time. 2.0.1 AlignedDataCtrlr.TxEndedInterval (Part 2 §2.7.16, J01): the samples kept for a
        transaction's end are taken at its own aligned times (at the first one's when 0, as in 1.6)."""
        last: dict[str, dt.datetime] = {}
        while True:
            intervals = {"send": self._settings["clock_aligned_interval_s"],
                         "ended": self._settings["aligned_tx_ended_interval_s"]}
            # 2.0.1 AlignedDataCtrlr.Enabled false: no clock-aligned data at all (Part 2 §2.7.9).
            enabled = self._settings["aligned_data_enabled"]
            active = {kind: interval for kind, interval in intervals.items() if interval > 0 and enabled}
            if not active:
                await asyncio.sleep(1)
                continue
            now = self._clock.now()
            dues = {kind: next_clock_aligned(now, interval, last.get(kind)) for kind, interval in active.items()}
            due = min(dues.values())
            await asyncio.sleep(max(0.0, (due - self._clock.now()).total_seconds()))
            if not self._settings["aligned_data_enabled"] or any(self._settings[name] != intervals[kind] for kind, name in
                   (("send", "clock_aligned_interval_s"), ("ended", "aligned_tx_ended_interval_s"))):
                continue  # changed meanwhile: align to the new interval
            kinds = {kind for kind, when in dues.items() if when == due}
            for kind in kinds:
                last[kind] = due
            keep_ended = "ended" in kinds or ("send" in kinds and "ended" not in active)
            timestamp = due.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            # 2.0.1 AlignedDataCtrlr.SendDuringIdle (J01.FR.20): while any transaction runs no
            # clock-aligned values are sent (those kept for a transaction's end are kept all the same).
            send = "send" in kinds and not (self._settings["aligned_send_during_idle"] and any(
                c.transaction_local_id is not None and c.session.transaction is not None
                for c in self._connectors.values()))
            for conn in self._connectors.values():
                if conn.reading is None:
                    continue
                try:
                    self._aligned(conn, timestamp, send=send, keep_ended=keep_ended)
                except StorageError as exc:
                    log.warning("connector %d: clock-aligned sample not stored: %s", conn.id, exc)

    def _aligned(self, conn: Connector, timestamp: str, *, send: bool = True, keep_ended: bool = True) -> None:
        backend = self._backend()
        local_id = conn.transaction_local_id if conn.session.transaction is not None else None
        keep = self._settings["stop_txn_aligned_data"] if keep_ended and local_id is not None else []
        stop_samples = [sample_to_json(self.sample(conn, "Sample.Clock", keep, timestamp))] if keep else None
        if not send:
            if stop_samples and local_id is not None:
                self._store.keep_stop_samples(local_id, stop_samples)
            return
        sample = self.sample(conn, "Sample.Clock", self._settings["meter_aligned_data"], timestamp)
        if local_id is not None:
            self._store.queue_meter_values(
                local_id,
                {"timestamp": timestamp, "evse_id": conn.id, "connector_id": 1, "trigger": "MeterValueClock",
                 "samples": [sample_to_json(sample)], "offline": not self._online()},
                stop_samples=stop_samples,
            )
            self._outbox_changed()
        elif backend is not None:
            backend.meter_values(conn.id, sample)

    def _online(self) -> bool:
        backend = self._backend()
        return backend is not None and backend.online

    def _outbox_changed(self) -> None:
        backend = self._backend()
        if backend is not None:
            backend.outbox_changed()


def next_clock_aligned(now: dt.datetime, interval_s: int, after: dt.datetime | None = None) -> dt.datetime:
    """The next whole multiple of ``interval_s`` since midnight (of ``now``'s day) later than
    both ``now`` and ``after`` (the last one sampled: a sleep that wakes a little early must
    not sample the same aligned time twice)."""
    start = now if after is None or now > after else after
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (start - midnight).total_seconds()
    return midnight + dt.timedelta(seconds=(elapsed // interval_s + 1) * interval_s)


def in_whole_wh(reading: MeterReading) -> MeterReading:
    """The reading with its energy register in whole Wh: the one place energy is rounded, so
    meterStart / meterStop (integers, OCPP 1.6 §6.41), the samples and the displays agree."""
    return dataclasses.replace(reading, energy_wh=float(round(reading.energy_wh)))


def _value(measurand: str, value: float, unit: str, context: str, phase: str | None = None) -> SampledValue:
    return SampledValue(measurand, round(value, 3), unit, context, phase)
