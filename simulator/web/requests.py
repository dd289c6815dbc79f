"""What every route of the simulator's HTTP API shares (simulator/web/http_api.py,
simulator/web/page_api.py): the simulator a request is for, its EVSE id and JSON body, and the
error contract (4xx with {"error": "..."})."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from simulator.app import Simulator

STATIC = Path(__file__).parent / "static"
SIM_KEY = web.AppKey("simulator", object)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _sim(request: web.Request) -> Simulator:
    return request.app[SIM_KEY]  # type: ignore[return-value]


def _evse_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    sim = _sim(request)
    if not raw.isdigit() or int(raw) not in sim.model.evses:
        raise web.HTTPNotFound(text=json.dumps({"error": f"unknown evse {raw}"}),
                               content_type="application/json")
    return int(raw)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be JSON"}),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return body
