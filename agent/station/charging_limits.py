"""Charging profiles applied to the connectors: the station's side of smart charging.

Owns the ``SmartCharging`` profiles (``agent/core/smart_charging.py``) for the station: keeps
them in the store, tells them which transaction runs where, and applies each
connector's limit to its session with ``LimitChanged`` at every period start and
whenever profiles change, at once: the session paces the offer (IEC 61851-1: the PWM
changes at most every 5 s), one clock per connector over every source of limits
(agent/core/offer_pacing.py). Version-neutral: the OCPP adapter calls ``install``,
``clear``, ``composite`` and ``add_pending``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.core.session import LimitChanged
from agent.core.smart_charging import (
    NOMINAL_VOLTAGE_V,
    Composite,
    Limits,
    Profile,
    RateUnit,
    SmartCharging,
    from_dict,
    to_dict,
)

if TYPE_CHECKING:
    from agent.persistence.store import Store
    from agent.station.station import Station
    from agent.station.view import ConnectorView

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often transactions starting / ending are looked for
VOLTAGE_HYSTERESIS_V = 5.0  # the meter's voltage is taken over when it moved this far
PENDING_GRACE_S = 60.0  # a remote start's profile waits ConnectionTimeOut + this for its transaction
LIMITS = Limits()
RECHECK = dt.timedelta(hours=1)  # a cached next change is recomputed at least this often


class ChargingLimits:
    def __init__(self, station: Station, store: Store, monotonic: Callable[[], float], limits: Limits = LIMITS) -> None:
        """``station``: its connectors are read through ``view`` and told through ``dispatch``;
        ``store``: the profiles (table ``charging_profiles``) and the transactions' starts."""
        self.station = station
        self._monotonic = monotonic
        self.store = store
        stored = self._load()
        self.smart = SmartCharging(
            {evse_id: station.view(evse_id).max_current_a for evse_id in station.evses()}, limits, stored
        )
        self._saved: dict[int, Profile] = {p.id: p for p in stored}
        self._tx: dict[int, int | None] = {}  # connector → transaction key last seen
        self._applied: dict[int, float | None] = {}  # connector → limit last dispatched
        self._voltage: dict[int, float] = {}
        self._wakeup = asyncio.Event()
        self._generation = 0  # counts changes of profiles and transactions
        self._next: dict[int, tuple[tuple, dt.datetime, dt.datetime | None]] = {}

    # ---- what the backend asks -----------------------------------------------------

    def install(self, profile: Profile, *, same_level_replaces: bool = True) -> None:
        """Raises ``ProfileRejected``; a TxProfile binds to the connector's running transaction.
        ``same_level_replaces``: see ``SmartCharging.install`` (False in OCPP 2.0.1)."""
        self._sync_transactions()
        self.smart.install(profile, same_level_replaces=same_level_replaces)
        self._changed()

    def profiles(self) -> list[Profile]:
        """The installed profiles, oldest first (a TxProfile only while its transaction runs)."""
        self._sync_transactions()
        return list(self.smart.profiles)

    def count(self) -> int:
        """How many profiles are installed (OCPP 2.0.1 SmartChargingCtrlr.Entries)."""
        return len(self.smart.profiles)

    def clear(self, **criteria) -> bool:
        """Remove the matching profiles (see ``SmartCharging.clear``); whether any matched."""
        self._sync_transactions()  # a TxProfile whose transaction just ended is gone already
        removed = self.smart.clear(**criteria)
        self._changed()
        return bool(removed)

    def add_pending(self, profile: Profile, connector_id: int | None, id_tag: str) -> None:
        """A remote start's TxProfile: in force on the connector at once (before the
        transaction starts), bound to the transaction the id tag starts."""
        grace = self.station.settings["connection_timeout_s"] + PENDING_GRACE_S
        self.smart.add_pending(profile, connector_id, id_tag, self._now() + dt.timedelta(seconds=grace))
        self._changed()
        if connector_id in self.station.evses():
            view = self.station.view(connector_id)
            if view.transaction_id_tag is None:
                self._apply(view, self._now())  # now: a plugged EV starts at once on a remote start

    def drop_pending(self, id_tag: str) -> None:
        self.smart.drop_pending(id_tag)
        self._changed()

    def composite(self, connector_id: int, duration_s: int, unit: RateUnit) -> tuple[dt.datetime, Composite]:
        self._sync_transactions()
        now = self._now()
        voltage = self._voltage_for(connector_id) if connector_id else NOMINAL_VOLTAGE_V
        engine = self.smart if self.enabled else SmartCharging(self.smart.connector_max_a, self.smart.limits)
        return now, engine.composite(connector_id, now, duration_s, unit, voltage)

    @property
    def enabled(self) -> bool:
        """Whether the profiles limit the connectors (OCPP 2.0.1 SmartChargingCtrlr.Enabled; the
        profiles stay installed while not)."""
        return bool(self.station.settings["smart_charging_enabled"])

    # ---- the task ------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                wait = self.step()
            except Exception:  # a bug here must not stop charging; the limits are tried again
                log.exception("charging limits: step failed")
                wait = POLL_S
            try:  # asyncio.timeout: wait_for (3.11) may swallow a cancellation that meets the event
                async with asyncio.timeout(max(0.05, wait)):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def step(self) -> float:
        """One pass over the connectors; the seconds until the next one is due."""
        self._sync_transactions()
        now = self._now()
        if self.smart.pending:
            before = len(self.smart.pending)
            self.smart.expire_pending(now)
            if len(self.smart.pending) != before:
                self._generation += 1
                log.info("charging limits: a remote start's profile expired unused")
        wait = POLL_S
        for evse_id in self.station.evses():
            wait = min(wait, self._apply(self.station.view(evse_id), now))
        return wait

    def _apply(self, view: ConnectorView, now: dt.datetime) -> float:
        """Dispatch the connector's limit if it changed and may change now; the seconds
        until this connector wants to be looked at again."""
        cid = view.evse_id
        voltage = self._voltage_for(cid, view)
        want = self.smart.limit_at(cid, now, voltage) if self.enabled else None
        wait = POLL_S
        nxt = self._next_change(cid, now, voltage)
        if nxt is not None:
            wait = min(wait, (nxt - now).total_seconds())
        if want == self._applied.get(cid):
            return wait
        log.info("connector %d: charging limit %s", cid, "none" if want is None else f"{want:.1f} A")
        self._applied[cid] = want
        self.station.dispatch(cid, LimitChanged(view.max_current_a if want is None else want))
        return wait

    def _next_change(self, connector_id: int, now: dt.datetime, voltage: float) -> dt.datetime | None:
        """``next_change_after``, kept until it passes or anything it depends on changes
        (it looks a week ahead, too much work for every second)."""
        basis = (self._generation, voltage, self.smart.transaction_key(connector_id))
        cached = self._next.get(connector_id)
        if cached is not None:
            was_basis, computed_at, nxt = cached
            fresh = computed_at <= now and (nxt is None or now < nxt) and now - computed_at < RECHECK
            if was_basis == basis and fresh:
                return nxt
        nxt = self.smart.next_change_after(connector_id, now, voltage)
        self._next[connector_id] = (basis, now, nxt)
        return nxt

    # ---- bookkeeping ---------------------------------------------------------------

    def _sync_transactions(self) -> None:
        """Follow the station's transactions: a new one takes its remote start's profile;
        an ended one takes its TxProfiles along (OCPP 1.6 §3.13.1)."""
        changed = False
        for cid in self.station.evses():
            key = self.station.view(cid).transaction_local_id
            if cid in self._tx and self._tx[cid] == key:
                continue
            self._tx[cid] = key
            changed = True
            if key is None:
                self.smart.transaction_ended(cid)
                continue
            record = self.store.transaction(key)
            if record is None:
                continue
            start = _parse_time(record.started_at) or self._now()
            for profile in self.smart.transaction_started(cid, key, start, record.id_tag):
                log.info("connector %d: remote start's TxProfile %d applies to transaction %d", cid, profile.id, key)
        if changed:
            self._generation += 1
            self._save()

    def _changed(self) -> None:
        self._generation += 1
        self._save()
        self._wakeup.set()

    def _save(self) -> None:
        now = {p.id: p for p in self.smart.profiles}
        put = [to_dict(p) for pid, p in now.items() if self._saved.get(pid) != p]
        gone = [pid for pid in self._saved if pid not in now]
        if put or gone:
            with self.store.atomic():
                for body in put:
                    self.store.execute(
                        "INSERT OR REPLACE INTO charging_profiles(profile_id, body) VALUES (?, ?)",
                        (body["id"], json.dumps(body)),
                    )
                for pid in gone:
                    self.store.execute("DELETE FROM charging_profiles WHERE profile_id=?", (pid,))
            self._saved = now

    def _load(self) -> list[Profile]:
        profiles = []
        for (body,) in self.store.execute("SELECT body FROM charging_profiles ORDER BY rowid"):
            try:
                profiles.append(from_dict(json.loads(body)))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("charging profiles: skipping a stored profile that does not read back: %r", exc)
        return profiles

    def _voltage_for(self, connector_id: int, view: ConnectorView | None = None) -> float:
        """The meter's mean phase voltage, taken over only when it moved VOLTAGE_HYSTERESIS_V,
        so that W limits do not flicker with the grid."""
        used = self._voltage.get(connector_id, NOMINAL_VOLTAGE_V)
        if view is None and connector_id in self.station.evses():
            view = self.station.view(connector_id)
        reading = view.reading if view is not None else None
        phases = view.phases if view is not None else 0
        volts = [v for v in (reading.voltage_v[:phases] if reading else []) if 100.0 <= v <= 300.0]
        if volts:
            measured = sum(volts) / len(volts)
            if abs(measured - used) >= VOLTAGE_HYSTERESIS_V:
                used = round(measured)
        self._voltage[connector_id] = used
        return used

    def _now(self) -> dt.datetime:
        return self.station.clock.now()


def _parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


__all__ = ["ChargingLimits", "LIMITS"]
