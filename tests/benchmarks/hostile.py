"""7. What a backend can ask for that costs the agent the most: GetCompositeSchedule over the
longest duration and the most profiles, and a flood of TriggerMessages.

Composite: MaxChargingProfilesInstalled (20) daily Recurring TxDefaultProfiles of
ChargingScheduleMaxPeriods (48) periods each, on connectors 0, 1 and 2, their breakpoints
apart; then GetCompositeSchedule of connector 0, 1 and 2 for 2^31-1 s (68 years, the longest
32-bit duration). Value: the slowest answer; floor: a GetConfiguration round trip in the same
run. The agent's event loop does nothing else meanwhile.

Trigger flood: N TriggerMessages (Heartbeat, DiagnosticsStatusNotification,
FirmwareStatusNotification, MeterValues of connector 1), at most 100 unanswered; value: the
agent's VmRSS growth from before the flood to after its last answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import statistics
import time

from tests.benchmarks.harness import Rig, rss_kb
from tests.benchmarks.report import Row, limit_row

LONGEST_S = 2**31 - 1
PROFILES = 20  # MaxChargingProfilesInstalled
PERIODS = 48  # ChargingScheduleMaxPeriods


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


async def hostile_backend(rig: Rig, *, triggers: int) -> list[Row]:
    agent = rig.agent("hostile")
    await rig.booted(agent)
    path = next(iter(rig.csms.connections))
    anchor = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    for n in range(PROFILES):
        wire = {
            "chargingProfileId": n + 1, "stackLevel": n // 3, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
            "chargingSchedule": {
                "chargingRateUnit": "A", "startSchedule": _iso(anchor + dt.timedelta(seconds=37 * n)),
                "chargingSchedulePeriod": [{"startPeriod": i * 1800, "limit": 6.0 + (i * 7 + n) % 10} for i in range(PERIODS)],
            },
        }
        reply = await rig.csms.call(path, "SetChargingProfile", {"connectorId": n % 3, "csChargingProfiles": wire})
        assert reply[2] == {"status": "Accepted"}, reply

    floor_s = []
    for _ in range(5):
        t0 = time.perf_counter()
        await rig.csms.call(path, "GetConfiguration", {"key": ["HeartbeatInterval"]})
        floor_s.append(time.perf_counter() - t0)
    composite_s, periods = [], []
    for connector in (0, 1, 2):
        t0 = time.perf_counter()
        reply = await rig.csms.call(path, "GetCompositeSchedule", {"connectorId": connector, "duration": LONGEST_S}, timeout=120)
        composite_s.append(time.perf_counter() - t0)
        assert reply[2]["status"] == "Accepted", reply
        periods.append(len(reply[2]["chargingSchedule"]["chargingSchedulePeriod"]))

    pid = agent.proc.pid
    before_kb = rss_kb(pid)
    kinds = itertools.cycle([{"requestedMessage": m} for m in ("Heartbeat", "DiagnosticsStatusNotification",
                                                               "FirmwareStatusNotification")]
                            + [{"requestedMessage": "MeterValues", "connectorId": 1}])
    answers: list[str] = []
    flood_t0 = time.perf_counter()
    for start in range(0, triggers, 100):
        batch = [rig.csms.call(path, "TriggerMessage", next(kinds), timeout=60) for _ in range(min(100, triggers - start))]
        answers += [reply[2]["status"] for reply in await asyncio.gather(*batch)]
    flood_s = time.perf_counter() - flood_t0
    growth_mb = (rss_kb(pid) - before_kb) / 1024
    await agent.stop()
    floor_ms = statistics.median(floor_s) * 1000
    return [
        limit_row(
            "hostile.composite", f"GetCompositeSchedule for 2^31-1 s over {PROFILES} daily profiles of {PERIODS} "
            "periods: slowest answer (connector 0, 1, 2)", "ms", max(composite_s) * 1000, 1000, floor=floor_ms,
            notes=f"floor: a GetConfiguration round trip; answers: {', '.join(f'{s * 1000:.0f}' for s in composite_s)} ms "
                  f"with {', '.join(map(str, periods))} periods",
            details={"composite_ms": [s * 1000 for s in composite_s], "periods": periods, "floor_ms": floor_s},
        ),
        limit_row(
            "hostile.trigger_flood", f"RSS growth of the agent under {triggers} TriggerMessages", "MB", growth_mb, 5,
            notes=f"{answers.count('Accepted')} Accepted, {answers.count('Rejected')} Rejected in {flood_s:.1f} s; "
                  "at most 100 unanswered",
            details={"before_kb": before_kb, "growth_mb": growth_mb, "answers": len(answers), "flood_s": flood_s},
        ),
    ]
