"""The HTTP API contract, with aiohttp's client against a running simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest


@pytest.fixture
async def http(sim):
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{sim.http_port}") as s:
        yield s


async def test_state_shape(http):
    async with http.get("/api/state") as r:
        assert r.status == 200
        body = await r.json()
    assert body["card"] is None
    assert [e["id"] for e in body["evses"]] == [1, 2]
    e = body["evses"][0]
    assert {"id", "plugged", "ev_state", "contactor_closed", "current_limit_a", "energy_wh",
            "power_w", "fault"} <= e.keys()
    assert e["plugged"] is False and e["ev_state"] == "A" and e["fault"] is None


async def test_plug_ev_pause_resume_unplug(http, sim):
    async with http.post("/api/evses/1/plug") as r:
        assert r.status == 200 and (await r.json())["ev_state"] == "C"
    async with http.post("/api/evses/1/ev", json={"state": "B"}) as r:
        body = await r.json()
        assert body["ev_state"] == "B" and body["contactor_closed"] is False
    async with http.post("/api/evses/1/ev", json={"state": "C"}) as r:
        assert (await r.json())["contactor_closed"] is True
    async with http.post("/api/evses/1/unplug-ev") as r:  # at the EV: the cable stays in the socket
        body = await r.json()
        assert body["ev_state"] == "A" and body["cable_in_socket"] is True
    async with http.post("/api/evses/1/unplug") as r:
        body = await r.json()
        assert body["ev_state"] == "A" and body["cable_in_socket"] is False
    assert sim.evse_state(1)["plugged"] is False


async def test_fault_inject_and_clear(http):
    await http.post("/api/evses/2/plug")
    async with http.post("/api/evses/2/fault", json={"kind": "rcd"}) as r:
        body = await r.json()
        assert body["fault"] == "rcd" and body["contactor_closed"] is False
    async with http.delete("/api/evses/2/fault") as r:
        body = await r.json()
        assert body["fault"] is None and body["contactor_closed"] is True


@pytest.mark.parametrize("method,path,body,status", [
    ("POST", "/api/evses/9/plug", None, 404),
    ("POST", "/api/evses/x/unplug", None, 404),
    ("POST", "/api/evses/1/ev", "not json", 400),
    ("POST", "/api/evses/1/ev", {"state": "D"}, 400),
    ("POST", "/api/evses/1/ev", {"state": "C"}, 409),  # nothing plugged in
    ("POST", "/api/evses/1/fault", {"kind": "fire"}, 400),
    ("POST", "/api/evses/1/fault", [1, 2], 400),
    ("DELETE", "/api/evses/3/fault", None, 404),
    ("POST", "/api/card", {"uid": "04A1B2"}, 400),
    ("POST", "/api/card", {"uid": "zz"}, 400),
    ("POST", "/api/card", {}, 400),
    ("POST", "/api/card", "{", 400),
])
async def test_bad_requests(http, method, path, body, status):
    kwargs = {"data": body} if isinstance(body, str) else {"json": body} if body is not None else {}
    async with http.request(method, path, **kwargs) as r:
        assert r.status == status
        assert "error" in await r.json()


async def test_card_tap_without_reader_is_503(http, sim):
    sim.config = dataclasses.replace(sim.config, vpcd=dataclasses.replace(sim.config.vpcd, port=1))
    async with http.post("/api/card", json={"uid": "04A1B2C3"}) as r:
        assert r.status == 503
        assert "error" in await r.json()


async def test_events_stream_pushes_changes(http, sim):
    async with http.get("/api/events") as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")

        async def next_state():
            while True:
                line = (await r.content.readline()).decode().strip()
                if line.startswith("data: "):
                    return json.loads(line[6:])

        first = await asyncio.wait_for(next_state(), 10)
        assert first["evses"][0]["plugged"] is False
        sim.plug(1)
        pushed = await asyncio.wait_for(next_state(), 10)
        assert pushed["evses"][0]["plugged"] is True


async def test_index_page(http):
    texts = []
    for path in ("/", "/static/page.js", "/static/page.css"):
        async with http.get(path) as r:
            assert r.status == 200, path
            texts.append(await r.text())
    assert 'src="/static/page.js"' in texts[0] and 'href="/static/page.css"' in texts[0]
    assert "EventSource" in texts[1] and "/api/events" in texts[1]
    for text in texts:
        assert "http://" not in text and "https://" not in text  # nothing fetched from outside


async def test_gpio_states_are_set_and_shown(http):
    async with http.post("/api/evses/1/gpio", json={"what": "estop_pressed", "value": True}) as r:
        assert r.status == 200 and (await r.json())["estop_pressed"] is True
    async with http.get("/api/state") as r:
        gpio = (await r.json())["gpio"]["1"]
    assert gpio["estop_pressed"] is True and gpio["leds"] == {"led_green": False, "led_blue": False, "led_red": False}
    async with http.post("/api/evses/1/gpio", json={"what": "melted", "value": True}) as r:
        assert r.status == 400 and "welded" in (await r.json())["error"]


# ---- a web page the developer's browser opens must not drive the simulator (issue 17, item 12) ---


async def test_a_cross_site_request_is_refused(http, sim):
    async with http.post("/api/evses/1/plug", headers={"Origin": "http://evil.example"}) as r:
        assert r.status == 403 and "cross-site" in (await r.json())["error"]
    async with http.post("/api/evses/1/plug", headers={"Origin": "null"}) as r:  # a sandboxed frame, file://
        assert r.status == 403
    assert sim.evse_state(1)["plugged"] is False
    async with http.post("/api/evses/1/plug", headers={"Origin": f"http://127.0.0.1:{sim.http_port}"}) as r:
        assert r.status == 200  # the simulator's own page
    assert sim.evse_state(1)["plugged"] is True


async def test_dns_rebinding_is_refused(http, sim):
    rebound = {"Host": f"evil.example:{sim.http_port}"}  # a name of the attacker's, resolved to 127.0.0.1
    async with http.get("/api/state", headers=rebound) as r:
        assert r.status == 403 and "DNS rebinding" in (await r.json())["error"]
    async with http.post("/api/evses/1/plug", headers={**rebound, "Origin": f"http://evil.example:{sim.http_port}"}) as r:
        assert r.status == 403
    assert sim.evse_state(1)["plugged"] is False
    for host in (f"localhost:{sim.http_port}", f"127.0.0.1:{sim.http_port}", f"[::1]:{sim.http_port}"):
        async with http.get("/api/state", headers={"Host": host}) as r:
            assert r.status == 200, host
    async with http.get("/", headers={"Host": f"localhost:{sim.http_port}"}) as r:
        assert r.status == 200 and "<html" in (await r.text()).lower()


async def test_reboot_power_cycles_the_board(http, sim, client):
    """A brown-out: the EVSE-DIN comes back with 1000 := 2000 (its default current), whatever
    it was told before."""
    await http.post("/api/evses/1/plug")
    assert not (await client.write_registers(1000, [10], device_id=1)).isError()
    assert sim.evse_state(1)["current_limit_a"] == 10
    async with http.post("/api/evses/1/reboot") as r:
        body = await r.json()
    assert r.status == 200 and body["current_limit_a"] == 16 and body["configured_current_raw"] == 16
    assert (await client.read_holding_registers(1000, count=1, device_id=1)).registers == [16]
    assert [(e.evse_id, e.kind, e.value) for e in sim.events if e.kind == "board"] == [(1, "board", "rebooted")]
    async with http.post("/api/evses/7/reboot") as r:
        assert r.status == 404 and "unknown evse" in (await r.json())["error"]


async def test_the_page_has_a_reboot_button(http):
    async with http.get("/") as r:
        page = await r.text()
    async with http.get("/static/page.js") as r:
        script = await r.text()
    assert 'data-act="reboot"' in page and "`${base}/reboot`" in script
