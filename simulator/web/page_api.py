"""The HTTP API the simulator page adds to simulator/web/http_api.py (same error contract).

GET  /static/...                 page.css, page.js (index.html is served at /)
GET  /api/meta                   {"faults": [...], "gpio": [...], "speed": {"min": x, "max": y}}
                                 (faults: POST /api/evses/{id}/fault kinds; gpio: its /gpio "what"s)
POST /api/speed                  {"speed": 60}   simulated seconds per real second
POST /api/evses/{id}/battery     {"capacity_kwh": 40, "soc": 0.2}   either or both; soc 0-1
GET  /api/evses/{id}/session     the current or last plug session with its power samples
                                 {"started_s", "ended_s", "energy_wh", "peak_w", "samples": [[t, W], ...]}
                                 (404 before the first plug)
GET  /api/ocpp-log?since=N       {"entries": [...]} (simulator/web/ocpp_log.py), after seq N
POST /api/ocpp-log               {"cp": "CP-1", "direction": "cp->csms"|"csms->cp", "frame": [...] | "raw text"}
"""

from __future__ import annotations

from aiohttp import web

from simulator.config import MAX_SPEED, MIN_SPEED
from simulator.twins.gpio import SETTABLE
from simulator.web.requests import STATIC, _error, _evse_id, _json_body, _sim
from simulator.model import Fault
from simulator.web.ocpp_log import OcppLogError


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


async def meta(_request: web.Request) -> web.Response:
    return web.json_response({"faults": [f.value for f in Fault], "gpio": list(SETTABLE),
                              "speed": {"min": MIN_SPEED, "max": MAX_SPEED}})


async def set_speed(request: web.Request) -> web.Response:
    speed = (await _json_body(request)).get("speed")
    if not _number(speed) or not MIN_SPEED <= speed <= MAX_SPEED:
        return _error(400, f"speed must be a number from {MIN_SPEED:g} to {MAX_SPEED:g}")
    _sim(request).set_speed(speed)
    return web.json_response({"speed": _sim(request).speed})


async def set_battery(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    body = await _json_body(request)
    capacity, soc = body.get("capacity_kwh"), body.get("soc")
    if capacity is None and soc is None:
        return _error(400, "give capacity_kwh, soc or both")
    if capacity is not None and (not _number(capacity) or not 0 < capacity <= 1000):
        return _error(400, "capacity_kwh must be a number above 0 and at most 1000")
    if soc is not None and (not _number(soc) or not 0 <= soc <= 1):
        return _error(400, "soc must be a number from 0 to 1")
    _sim(request).set_battery(evse_id, capacity, soc)
    return web.json_response(_sim(request).evse_state(evse_id))


async def session(request: web.Request) -> web.Response:
    evse_id = _evse_id(request)
    history = _sim(request).sessions.history(evse_id)
    if history is None:
        return _error(404, f"evse {evse_id} has not been plugged in yet")
    return web.json_response(history)


async def get_ocpp_log(request: web.Request) -> web.Response:
    since = request.query.get("since", "0")
    if not since.isdigit():
        return _error(400, "since must be a message number (0 or more)")
    return web.json_response({"entries": _sim(request).ocpp_log.since(int(since))})


async def post_ocpp_log(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if "frame" not in body:
        return _error(400, "frame is missing (the OCPP-J array, or the text as received)")
    try:
        entry = _sim(request).ocpp_log.add(body.get("cp"), body.get("direction"), body["frame"])
    except OcppLogError as exc:
        return _error(400, str(exc))
    return web.json_response(entry, status=201)


def add_page_routes(app: web.Application) -> None:
    app.router.add_static("/static/", STATIC)  # the page's CSS and JS
    app.router.add_get("/api/meta", meta)
    app.router.add_post("/api/speed", set_speed)
    app.router.add_post("/api/evses/{id}/battery", set_battery)
    app.router.add_get("/api/evses/{id}/session", session)
    app.router.add_get("/api/ocpp-log", get_ocpp_log)
    app.router.add_post("/api/ocpp-log", post_ocpp_log)
