"""Meter values: periodic samples during a transaction, clock-aligned samples, and the
sampled values themselves (OCPP 1.6 §7.43 SampledValue names, version-neutral dicts).

``Station`` inherits this; it provides ``settings``, ``clock``, ``store``, ``backend``,
``dispatch`` and ``_outbox_changed``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from agent.backend.ports import Sample, SampledValue, sample_to_json
from agent.core.session import Fault, FaultRaised
from agent.persistence.store import StorageError

if TYPE_CHECKING:
    from agent.station.connector import Connector

log = logging.getLogger("agent.station.station")


class MeterSampling:
    def _sample_meter_values(self, conn: Connector) -> None:
        interval = self.settings["meter_sample_interval_s"]
        if conn.transaction_local_id is None or conn.session.transaction is None or interval <= 0 or conn.reading is None:
            return
        now = self._monotonic()
        if now < conn.next_sample:
            return
        if conn.next_sample:
            sample = self._sample(conn, "Sample.Periodic")
            # OCPP 1.6 §9.1.31 StopTxnSampledData: every MeterValueSampleInterval of the transaction.
            keep = self.settings["stop_txn_sampled_data"]
            try:
                self.store.queue_meter_values(
                    conn.transaction_local_id,
                    {"timestamp": sample.timestamp, "evse_id": conn.id, "connector_id": 1, "trigger": "MeterValuePeriodic",
                     "samples": [sample_to_json(sample)], "offline": not self._online()},
                    stop_samples=[sample_to_json(self._sample(conn, "Sample.Periodic", keep))] if keep else None,
                )
            except StorageError as exc:
                log.critical("connector %d: meter values not stored: %s; stopping the session", conn.id, exc)
                self._dispatch(conn, FaultRaised(Fault.STORAGE))
                return
            self._outbox_changed()
        conn.next_sample = now + interval

    def _sample(self, conn: Connector, context: str, measurands: list[str] | None = None,
                timestamp: str | None = None) -> Sample:
        """One sampled reading, numbers with their units (OCPP measurand names), taken now (or
        for ``timestamp``: a clock-aligned time)."""
        wanted = measurands if measurands is not None else self.settings["meter_sampled_data"]
        reading = conn.reading
        values: list[SampledValue] = []
        for measurand in wanted:
            if measurand == "Energy.Active.Import.Register" and reading:
                values.append(_value(measurand, reading.energy_wh, "Wh", context))
            elif measurand == "Power.Active.Import" and reading:
                values.append(_value(measurand, reading.power_w, "W", context))
            elif measurand == "Current.Import" and reading:
                for i, amps in enumerate(reading.current_a[: conn.hardware.phases]):
                    values.append(_value(measurand, amps, "A", context, f"L{i + 1}"))
            elif measurand == "Voltage" and reading:
                for i, volts in enumerate(reading.voltage_v[: conn.hardware.phases]):
                    values.append(_value(measurand, volts, "V", context, f"L{i + 1}-N"))
            elif measurand == "Current.Offered":
                values.append(_value(measurand, conn.session.offered_a or 0.0, "A", context))
            elif measurand == "Temperature" and self.temperature_c is not None:
                values.append(_value(measurand, self.temperature_c, "Celsius", context))
        return Sample(timestamp or self.clock.iso(), tuple(values))

    async def _clock_aligned_samples(self) -> None:
        """OCPP 1.6 §9.1.3 ClockAlignedDataInterval: samples at whole multiples of the
        interval since midnight (backend time), MeterValuesAlignedData measurands, each stamped
        with the aligned time it stands for and taken once per aligned time."""
        last: dt.datetime | None = None
        while True:
            interval = self.settings["clock_aligned_interval_s"]
            if interval <= 0:
                await asyncio.sleep(5)
                continue
            due = next_clock_aligned(self.clock.now(), interval, last)
            await asyncio.sleep(max(0.0, (due - self.clock.now()).total_seconds()))
            if self.settings["clock_aligned_interval_s"] != interval:
                continue  # changed meanwhile: align to the new interval
            last = due
            timestamp = due.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for conn in self.connectors.values():
                if conn.reading is None:
                    continue
                try:
                    self._aligned_sample(conn, timestamp)
                except StorageError as exc:
                    log.warning("connector %d: clock-aligned sample not stored: %s", conn.id, exc)

    def _aligned_sample(self, conn: Connector, timestamp: str) -> None:
        sample = self._sample(conn, "Sample.Clock", self.settings["meter_aligned_data"], timestamp)
        if conn.transaction_local_id is not None and conn.session.transaction is not None:
            keep = self.settings["stop_txn_aligned_data"]
            self.store.queue_meter_values(
                conn.transaction_local_id,
                {"timestamp": timestamp, "evse_id": conn.id, "connector_id": 1, "trigger": "MeterValueClock",
                 "samples": [sample_to_json(sample)], "offline": not self._online()},
                stop_samples=[sample_to_json(self._sample(conn, "Sample.Clock", keep, timestamp))] if keep else None,
            )
            self._outbox_changed()
        elif self.backend is not None:
            self.backend.meter_values(conn.id, sample)

    def _online(self) -> bool:
        return self.backend is not None and self.backend.online


def next_clock_aligned(now: dt.datetime, interval_s: int, after: dt.datetime | None = None) -> dt.datetime:
    """The next whole multiple of ``interval_s`` since midnight (of ``now``'s day) later than
    both ``now`` and ``after`` (the last one sampled: a sleep that wakes a little early must
    not sample the same aligned time twice)."""
    start = now if after is None or now > after else after
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (start - midnight).total_seconds()
    return midnight + dt.timedelta(seconds=(elapsed // interval_s + 1) * interval_s)


def _value(measurand: str, value: float, unit: str, context: str, phase: str | None = None) -> SampledValue:
    # Energy registers are whole Wh (meterStart / meterStop are integers; OCPP 1.6 §6.41).
    return SampledValue(measurand, float(round(value)) if unit == "Wh" else round(value, 3), unit, context, phase)
