"""OCTT module 01, Cold Boot: registration with BootNotification (OCPP 1.6 §4.2)."""

from __future__ import annotations

import time

from tests.conformance.strict_csms import now_iso


async def test_TC_001_cold_boot_charge_point(station, csms):
    # Step 2: Rejected with an interval; step 3: the next BootNotification comes after it.
    replies = iter(["Rejected", "Accepted"])
    sent_at: list[float] = []

    def boot(payload):
        sent_at.append(time.monotonic())
        status = next(replies, "Accepted")
        return {"status": status, "currentTime": now_iso(), "interval": 2}

    csms.answers["BootNotification"] = boot
    await station.start()
    await csms.wait_for(lambda: len(sent_at) == 2, timeout=20)
    assert sent_at[1] - sent_at[0] >= 1.9  # not before the interval of the Rejected answer
    first_two = csms.calls[: next(i for i, c in enumerate(csms.calls) if c.action == "BootNotification" and i > 0)]
    assert [c.action for c in first_two] == ["BootNotification"]  # nothing else while Rejected
    # Step 5: a StatusNotification per connector and for connector 0, Available.
    accepted = next(c.seq for c in csms.calls if c.action == "BootNotification" and c.seq > 0)
    await csms.wait_status("Available", connector=0, after=accepted)
    await csms.wait_status("Available", connector=1, after=accepted)
    # Step 7: a Heartbeat every `interval` (2 s) of the Accepted answer.
    first = await csms.wait_call("Heartbeat", after=accepted, timeout=5)
    mark = csms.mark()
    started = time.monotonic()
    await csms.wait_call("Heartbeat", after=mark, timeout=5)
    assert 1.5 <= time.monotonic() - started <= 3.5
    assert first == {}


async def test_TC_002_cold_boot_charge_point_pending(station, csms):
    csms.knows.boot_status = "Pending"
    csms.knows.heartbeat_interval = 3
    await station.start()
    await csms.wait_call("BootNotification", timeout=20)
    # While Pending, the backend reads and sets the configuration.
    config = await csms.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert [k["key"] for k in config["configurationKey"]] == ["HeartbeatInterval"]
    assert await csms.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}) == {"status": "Accepted"}
    assert not csms.calls_of("StatusNotification")  # nothing but BootNotification while Pending
    csms.knows.boot_status = "Accepted"
    csms.knows.heartbeat_interval = 2
    mark = csms.mark()
    await csms.wait_call("BootNotification", after=mark, timeout=10)  # after the Pending interval
    await csms.wait_status("Available", connector=0, after=mark)
    await csms.wait_status("Available", connector=1, after=mark)
    await csms.wait_call("Heartbeat", after=mark, timeout=5)
    config = await csms.call("GetConfiguration", {"key": ["MeterValueSampleInterval"]})
    assert config["configurationKey"][0]["value"] == "30"
