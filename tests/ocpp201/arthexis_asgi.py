"""Arthexis's ASGI application as daphne serves it in the tests (tests/ocpp201/arthexis_csms.py),
run inside Arthexis's own virtual environment.

The one change is the path rewrite a reverse proxy in front of it would do: Arthexis routes
``/ws/ocpp/<station id>/`` only, while a station connects to ``<csms url>/<station id>`` (OCPP-J
2.0.1 §3.1.1: the id is the last path segment, with no slash after it); without the slash
Arthexis answers HTTP 500.
"""

from arthexis.asgi import application as arthexis_application


async def application(scope, receive, send):
    if scope["type"] == "websocket" and not scope["path"].endswith("/"):
        scope = dict(scope, path=scope["path"] + "/")
        if scope.get("raw_path"):
            scope["raw_path"] += b"/"
    await arthexis_application(scope, receive, send)
