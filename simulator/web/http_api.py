"""HTTP API (aiohttp) and the web page of the simulator.

GET  /api/state                  {"evses": [...], "card": uid|null, "card_next": uid|null, ...}
                                 (card_next: a tap waiting for the reader to be seen empty)
POST /api/evses/{id}/plug        POST /api/evses/{id}/unplug
POST /api/evses/{id}/unplug-ev   unplugged at the EV only: the cable stays in the socket
POST /api/evses/{id}/ev          {"state": "B"|"C"}
POST /api/card                   {"uid": "04A1B2C3D4E5F6"}   (4, 7 or 10 bytes hex); a card still on
                                 the reader is taken away first, and this one put on once the
                                 reader was seen empty (Simulator.tap_card)
POST /api/evses/{id}/fault       {"kind": "rcd"|"overcurrent"|"pilot"|"comm"|"meter_comm"}
DELETE /api/evses/{id}/fault
POST /api/evses/{id}/reboot      the board power-cycles (a brown-out): its registers go back to
                                 their power-up values (Simulator.reboot_board)
POST /api/evses/{id}/gpio        {"what": "welded"|"stuck_open"|"rcd_tripped"|"rcm_broken"|"estop_pressed"|
                                 "button_pressed"|"lock_jammed", "value": bool}  (simulator.twins.gpio; the
                                 GPIO lines, LEDs and lock are in /api/state "gpio")
GET  /api/evses/{id}/display     the OLED as seen: {"width":128,"height":64,"on":bool,"contrast":n,
                                 "frames":n,"rows":["0101…" × 64]} (1 = lit), 404 without a display
POST /api/temperature            {"celsius": 71.5}  what the I²C temperature sensor measures
POST /api/i2c/{addr}/fault       {"kind": "comm"}   the chip at addr (36 or 0x24) stops answering
DELETE /api/i2c/{addr}/fault
GET  /api/events                 server-sent events: the state on every change (unnamed events),
                                 and each OCPP log entry as an "ocpp" event (the last
                                 OCPP_BACKLOG of them first)
GET  /                           static/index.html
Routes for the page (speed, battery, plug sessions, OCPP log): simulator/web/page_api.py.
Errors: 4xx (503 if the card reader is unreachable) with {"error": "..."}.

A development tool on a laptop, reachable by any web page its browser opens: a request is
refused (403) when its Host names the server by a DNS name other than ``localhost`` or the
configured ``[http] host`` (DNS rebinding: a page of the attacker's name resolved to 127.0.0.1),
or when it carries an Origin other than the server's own (a cross-site request; browsers send
Origin with every POST and DELETE). Clients that are not browsers send no Origin.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from urllib.parse import urlsplit
from typing import TYPE_CHECKING

from aiohttp import web

from simulator.twins.gpio import SETTABLE
from simulator.model import Fault
from simulator.twins.readers.vpcd_card import SEEN_EMPTY_WAIT_S
from simulator.web.requests import SIM_KEY, STATIC, _error, _evse_id, _json_body, _sim
from simulator.web.page_api import add_page_routes

if TYPE_CHECKING:
    from simulator.app import Simulator

OCPP_BACKLOG = 200  # OCPP log entries a new event stream starts with


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).state())


async def plug(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    _sim(request).plug(evse_id)
    return web.json_response(_sim(request).evse_state(evse_id))


async def unplug(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    _sim(request).unplug(evse_id)
    return web.json_response(_sim(request).evse_state(evse_id))


async def unplug_ev(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    _sim(request).unplug_ev(evse_id)
    return web.json_response(_sim(request).evse_state(evse_id))


async def set_ev(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    body = await _json_body(request)
    state = body.get("state")
    if state not in ("B", "C"):
        return _error(400, 'state must be "B" (pause) or "C" (charge)')
    try:
        _sim(request).set_ev_state(evse_id, state)
    except ValueError as exc:
        return _error(409, str(exc))
    return web.json_response(_sim(request).evse_state(evse_id))


async def inject_fault(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    body = await _json_body(request)
    kind = body.get("kind")
    kinds = [f.value for f in Fault]
    if kind not in kinds:
        return _error(400, f"kind must be one of {kinds}")
    _sim(request).inject_fault(evse_id, kind)
    return web.json_response(_sim(request).evse_state(evse_id))


async def reboot_board(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    _sim(request).reboot_board(evse_id)
    return web.json_response(_sim(request).evse_state(evse_id))


async def set_gpio(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    body = await _json_body(request)
    what, value = body.get("what"), body.get("value")
    if what not in SETTABLE or not isinstance(value, bool):
        return _error(400, f"what must be one of {list(SETTABLE)} and value true or false")
    if evse_id not in _sim(request).gpio.points:
        return _error(404, f"evse {evse_id} has no GPIO wiring")
    _sim(request).gpio.set(evse_id, what, value)
    return web.json_response(_sim(request).gpio.state()[evse_id])


async def clear_fault(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    _sim(request).clear_fault(evse_id)
    return web.json_response(_sim(request).evse_state(evse_id))


async def tap_card(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = await _json_body(request)
    uid = body.get("uid")
    try:
        task = sim.tap_card(uid)  # type: ignore[arg-type]
    except ValueError as exc:
        return _error(400, str(exc))
    want = uid.upper()
    try:  # answer once the card is on the reader (or the reader is unreachable); a card it
        # replaces must be seen gone first (Simulator.tap_card)
        await sim.wait_for(lambda s: (s["card"] == want and s["card_next"] is None) or task.done(),
                           timeout=2 * SEEN_EMPTY_WAIT_S + 3.0)
    except TimeoutError:
        return _error(504, "card reader did not take the card")
    if task.done() and not task.cancelled() and task.exception() is not None:
        return _error(503, f"card reader unavailable: {sim.card_error}")
    return web.json_response({"uid": want, "hold_s": sim.config.vpcd.hold_s})


async def display(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    try:
        return web.json_response(_sim(request).display(evse_id))
    except LookupError as exc:
        return _error(404, str(exc))


async def set_temperature(request: web.Request) -> web.Response:
    body = await _json_body(request)
    celsius = body.get("celsius")
    if isinstance(celsius, bool) or not isinstance(celsius, (int, float)) or not -55 <= celsius <= 150:
        return _error(400, "celsius must be a number from -55 to 150")
    try:
        _sim(request).set_temperature(celsius)
    except ValueError as exc:
        return _error(409, str(exc))
    return web.json_response(_sim(request).i2c.state())


def _i2c_address(request: web.Request) -> int:
    raw = request.match_info["addr"]
    try:
        return int(raw, 0)
    except ValueError:
        raise web.HTTPNotFound(text=json.dumps({"error": f"bad I2C address {raw}"}),
                               content_type="application/json") from None


async def i2c_fault(request: web.Request) -> web.Response:
    address = _i2c_address(request)
    if request.method == "POST" and (await _json_body(request)).get("kind") != "comm":
        return _error(400, 'kind must be "comm"')
    try:
        _sim(request).i2c.set_silent(address, request.method == "POST")
    except ValueError as exc:
        return _error(404, str(exc))
    return web.json_response(_sim(request).i2c.state())


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one ``data:`` line with the state JSON per change."""
    sim = _sim(request)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    last = None
    logged = max(0, sim.ocpp_log.last_seq - OCPP_BACKLOG)
    try:
        while sim.running:
            change = sim.change_event()
            state = sim.state()
            key = {k: v for k, v in state.items() if k != "sim_time_s"}
            if key != last:
                last = key
                await resp.write(f"data: {json.dumps(state)}\n\n".encode())
            for entry in sim.ocpp_log.since(logged):
                await resp.write(f"event: ocpp\ndata: {json.dumps(entry)}\n\n".encode())
                logged = entry["seq"]
            await change.wait()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def _own_name(hostname: str | None, configured: str) -> bool:
    """An IP address (no DNS to rebind), localhost, or the host the server was configured with."""
    if not hostname:
        return False
    if hostname.lower() in ("localhost", configured.lower()):
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def same_origin_only(configured_host: str):
    @web.middleware
    async def check(request: web.Request, handler):
        host = request.headers.get("Host", "")
        if host and not _own_name(urlsplit(f"//{host}").hostname, configured_host):
            return _error(403, f"Host {host!r} is not this simulator (DNS rebinding?)")
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() != f"{request.scheme}://{host}".lower():
            return _error(403, f"cross-site request from {origin!r} refused")
        return await handler(request)

    return check


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[same_origin_only(sim.config.http.host)])
    app[SIM_KEY] = sim
    app.router.add_get("/", index)
    app.router.add_get("/api/state", get_state)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/evses/{id}/plug", plug)
    app.router.add_post("/api/evses/{id}/unplug", unplug)
    app.router.add_post("/api/evses/{id}/unplug-ev", unplug_ev)
    app.router.add_post("/api/evses/{id}/ev", set_ev)
    app.router.add_post("/api/evses/{id}/fault", inject_fault)
    app.router.add_delete("/api/evses/{id}/fault", clear_fault)
    app.router.add_post("/api/evses/{id}/reboot", reboot_board)
    app.router.add_post("/api/evses/{id}/gpio", set_gpio)
    app.router.add_post("/api/card", tap_card)
    app.router.add_get("/api/evses/{id}/display", display)
    app.router.add_post("/api/temperature", set_temperature)
    app.router.add_post("/api/i2c/{addr}/fault", i2c_fault)
    app.router.add_delete("/api/i2c/{addr}/fault", i2c_fault)
    add_page_routes(app)
    return app


async def start_http(sim: Simulator, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(build_app(sim), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, bound
