"""The API the simulator page adds: speed of time, battery, plug sessions, the OCPP log, and the
"ocpp" server-sent events; each with its 4xx errors."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest


@pytest.fixture
async def http(sim):
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{sim.http_port}") as s:
        yield s


def evse(state, evse_id=1):
    return next(e for e in state["evses"] if e["id"] == evse_id)


async def test_meta_lists_every_fault_kind_and_the_speed_range(http):
    from simulator.model import Fault

    async with http.get("/api/meta") as r:
        body = await r.json()
    assert body["faults"] == [f.value for f in Fault]
    assert body["speed"]["min"] > 0 and body["speed"]["max"] >= 600


async def test_speed_changes_at_run_time(http, sim):
    async with http.post("/api/evses/1/battery", json={"soc": 0.5}) as r:
        assert r.status == 200
    sim.plug(1)
    async with http.post("/api/speed", json={"speed": 600}) as r:
        assert r.status == 200 and (await r.json()) == {"speed": 600}
    async with http.get("/api/state") as r:
        assert (await r.json())["speed"] == 600
    # 11 kW into 60 kWh: a percent is ~200 simulated seconds, a third of a second at x600
    # (over three minutes at the x1 the fixture started with).
    await sim.wait_for(lambda s: evse(s)["soc"] >= 0.51, timeout=5)


@pytest.mark.parametrize("body", [{"speed": 0}, {"speed": -1}, {"speed": 1e6}, {"speed": "fast"},
                                  {"speed": True}, {}, "x"])
async def test_bad_speed_is_400_and_keeps_the_speed(http, sim, body):
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    async with http.post("/api/speed", **kwargs) as r:
        assert r.status == 400 and "error" in await r.json()
    assert sim.speed == 1.0


async def test_battery_size_and_level(http, sim):
    async with http.post("/api/evses/2/battery", json={"capacity_kwh": 77, "soc": 0.2}) as r:
        assert r.status == 200
        body = await r.json()
    assert body["battery_kwh"] == 77 and body["soc"] == 0.2
    async with http.post("/api/evses/2/battery", json={"soc": 0.9}) as r:
        assert (await r.json())["battery_kwh"] == 77  # the size stays when only the level is given
    async with http.get("/api/state") as r:
        assert evse(await r.json(), 2)["soc"] == 0.9


async def test_a_full_battery_makes_the_ev_stop_asking(http, sim):
    sim.plug(1)
    assert sim.evse_state(1)["ev_state"] == "C"
    async with http.post("/api/evses/1/battery", json={"soc": 1}) as r:
        body = await r.json()
    assert body["ev_state"] == "B" and body["contactor_closed"] is False


@pytest.mark.parametrize("path,body,status", [
    ("/api/evses/1/battery", {}, 400),
    ("/api/evses/1/battery", {"capacity_kwh": 0}, 400),
    ("/api/evses/1/battery", {"capacity_kwh": -5}, 400),
    ("/api/evses/1/battery", {"capacity_kwh": "big"}, 400),
    ("/api/evses/1/battery", {"soc": 1.5}, 400),
    ("/api/evses/1/battery", {"soc": -0.1}, 400),
    ("/api/evses/1/battery", {"soc": None, "capacity_kwh": None}, 400),
    ("/api/evses/1/battery", [1], 400),
    ("/api/evses/9/battery", {"soc": 0.5}, 404),
])
async def test_bad_battery_requests(http, sim, path, body, status):
    before = sim.evse_state(1)
    async with http.post(path, json=body) as r:
        assert r.status == status and "error" in await r.json()
    after = sim.evse_state(1)
    assert (after["soc"], after["battery_kwh"]) == (before["soc"], before["battery_kwh"])


async def test_plug_session_energy_time_and_power_samples(http, sim):
    async with http.get("/api/evses/1/session") as r:
        assert r.status == 404 and "error" in await r.json()
    assert evse(sim.state())["session"] is None
    sim.set_speed(600)
    sim.plug(1)
    state = await sim.wait_for(lambda s: evse(s)["session"]["energy_wh"] > 100, timeout=5)
    session = evse(state)["session"]
    assert session["ended_s"] is None and session["peak_w"] == pytest.approx(11040, rel=0.01)
    sim.unplug(1)
    async with http.get("/api/evses/1/session") as r:
        history = await r.json()
    assert history["ended_s"] > history["started_s"]
    assert history["energy_wh"] >= session["energy_wh"]
    powers = [w for _, w in history["samples"]]
    assert max(powers) == pytest.approx(11040, rel=0.01) and powers[-1] == 0
    times = [t for t, _ in history["samples"]]
    assert times == sorted(times)
    # The next plug starts a new session from zero.
    sim.plug(1)
    async with http.get("/api/evses/1/session") as r:
        fresh = await r.json()
    assert fresh["started_s"] >= history["ended_s"] and fresh["energy_wh"] == 0


async def test_ocpp_log_names_the_action_of_results_and_errors(http):
    frames = [
        ("cp->csms", [2, "a1", "BootNotification", {"chargePointVendor": "v", "chargePointModel": "m"}]),
        ("csms->cp", json.dumps([3, "a1", {"status": "Accepted", "interval": 300, "currentTime": "x"}])),
        ("csms->cp", [2, "b1", "GetConfiguration", {}]),
        ("cp->csms", [4, "b1", "NotSupported", "no", {}]),
        ("cp->csms", "[2, not json"),
        ("cp->csms", [9, "c1"]),
    ]
    for direction, frame in frames:
        async with http.post("/api/ocpp-log", json={"cp": "CP-1", "direction": direction, "frame": frame}) as r:
            assert r.status == 201
    async with http.get("/api/ocpp-log") as r:
        entries = (await r.json())["entries"]
    assert [(e["type"], e["action"], e["direction"]) for e in entries] == [
        ("CALL", "BootNotification", "cp->csms"),
        ("CALLRESULT", "BootNotification", "csms->cp"),
        ("CALL", "GetConfiguration", "csms->cp"),
        ("CALLERROR", "GetConfiguration", "cp->csms"),
        ("malformed", None, "cp->csms"),
        ("malformed", None, "cp->csms"),
    ]
    assert entries[1]["payload"]["status"] == "Accepted"
    assert entries[3]["payload"]["errorCode"] == "NotSupported"
    assert entries[4]["payload"] == "[2, not json"
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    async with http.get("/api/ocpp-log?since=4") as r:
        assert [e["seq"] for e in (await r.json())["entries"]] == [5, 6]


@pytest.mark.parametrize("body", [
    {"direction": "cp->csms", "frame": [2, "a", "Heartbeat", {}]},
    {"cp": "", "direction": "cp->csms", "frame": [2, "a", "Heartbeat", {}]},
    {"cp": "CP-1", "direction": "up", "frame": [2, "a", "Heartbeat", {}]},
    {"cp": "CP-1", "direction": "cp->csms"},
    [1, 2],
])
async def test_bad_ocpp_log_posts_are_400_and_log_nothing(http, sim, body):
    async with http.post("/api/ocpp-log", json=body) as r:
        assert r.status == 400 and "error" in await r.json()
    assert sim.ocpp_log.last_seq == 0
    async with http.get("/api/ocpp-log?since=x") as r:
        assert r.status == 400


async def test_ocpp_log_keeps_the_recent_past(sim):
    from simulator.web.ocpp_log import MAX_ENTRIES

    for n in range(MAX_ENTRIES + 10):
        sim.ocpp_log.add("CP-1", "cp->csms", [2, str(n), "Heartbeat", {}])
    assert len(sim.ocpp_log.entries) == MAX_ENTRIES
    assert sim.ocpp_log.entries[0]["seq"] == 11


async def test_events_stream_sends_ocpp_entries_as_named_events(http, sim):
    sim.ocpp_log.add("CP-1", "cp->csms", [2, "h1", "Heartbeat", {}])  # before: part of the backlog
    async with http.get("/api/events") as r:

        async def next_event():
            name = "message"
            while True:
                line = (await r.content.readline()).decode().strip()
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    return name, json.loads(line[6:])

        first = await asyncio.wait_for(next_event(), 10)
        assert first[0] == "message" and "evses" in first[1]  # the state comes unnamed, as before
        backlog = await asyncio.wait_for(next_event(), 10)
        assert backlog[0] == "ocpp" and backlog[1]["id"] == "h1"
        sim.ocpp_log.add("CP-1", "csms->cp", [3, "h1", {"currentTime": "x"}])
        pushed = await asyncio.wait_for(next_event(), 10)
        assert pushed[0] == "ocpp" and pushed[1]["type"] == "CALLRESULT" and pushed[1]["action"] == "Heartbeat"
