"""The service page's HTTPS server (aiohttp, inside the agent's event loop).

Requests pass three middlewares before a handler:

1. ``headers``: every answer carries a strict Content-Security-Policy (only this server's own
   scripts and styles, no inline code, no framing), nosniff, no referrer, no caching of the API.
2. ``authenticate``: without a valid session only the login page, its script, style and
   translations answer; any other page redirects to /login, any other API call gets 401.
3. ``guard_changes``: every POST except the login needs a JSON body (a cross-site form cannot
   send one without a CORS preflight, which this server never grants), the session's CSRF token
   in ``X-CSRF-Token``, a same-origin ``Origin`` when the browser sends one, and the installer
   role; support staff may only read.

Each change and hardware test is written to the security log (``audit``), with who did it and
from where; a change of the link's security settings is also a
ReconfigurationOfSecurityParameters security event (OCPP 1.6 Security Whitepaper, Appendix 1).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import html
import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.app.config import AgentConfig, ConfigError
from agent.service import config_edit
from agent.service.auth import ROLES, LoginThrottle, PasswordFile, Session, Sessions, csrf_ok
from agent.service.logbuffer import LogBuffer, LogLine
from agent.service.ports import ServiceActions, TestRefused

log = logging.getLogger(__name__)
# Below agent.security.events: lines here go to the security log (agent/security/security_log.py).
audit_log = logging.getLogger("agent.security.events.service_page")

STATIC = Path(__file__).with_name("static")
COOKIE = "evse_service_session"
PUBLIC_STATIC = {"style.css", "login.js", "i18n.js"}
RESTART_DELAY_S = 0.5  # the answer reaches the browser before the agent restarts
CARD_TEST_TIMEOUT_S = 30.0
DISPLAY_TEST_S = 10.0
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
OWN_LOGGERS = ("agent.station.service_actions", "agent.security.events.service_page")
# Where a device's last error is found in the log (agent/service/logbuffer.py).
DEVICE_LOGGERS = {"card_reader": ("drivers.readers",), "temperature": ("agent.station.thermal", "drivers.i2c.temperature"),
                  "display": ("agent.ui.displays", "drivers.i2c.ssd1306")}


@dataclass
class PageContext:
    """Everything the handlers use; built by agent/service/page.py."""

    config: AgentConfig
    config_path: Path | None
    passwords: PasswordFile
    sessions: Sessions
    actions: ServiceActions
    status: Callable[[], dict[str, Any]]
    logs: LogBuffer
    restart: Callable[[str], None]
    diagnostics: Any = None  # agent/maintenance/diagnostics.py DiagnosticsCollector
    security_events: Any = None  # agent/security/events.py SecurityEvents
    language: Callable[[], str] = lambda: "en"
    languages: list[str] = field(default_factory=lambda: ["en"])
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    monotonic: Callable[[], float] = time.monotonic
    card_test_timeout_s: float = CARD_TEST_TIMEOUT_S


class Refused(web.HTTPException):
    """A JSON error answer: ``{"error": message, "code": code}``."""

    def __init__(self, status: int, code: str, message: str, **more: Any) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message, "code": code, **more}), content_type="application/json")


def _source(request: web.Request) -> str:
    return request.remote or "unknown"


def audit(request: web.Request, what: str, ok: bool = True) -> None:
    session: Session | None = request.get("session")
    who = f"{session.role}" if session else "(not logged in)"
    audit_log.log(logging.INFO if ok else logging.WARNING, "service page: %s from %s: %s", who, _source(request), what)


# ---- middlewares ---------------------------------------------------------------------------------


@web.middleware
async def headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _public(request: web.Request) -> bool:
    path = request.path
    if path in ("/login", "/api/login"):
        return True
    if path.startswith("/static/"):
        name = path[len("/static/"):]
        return name in PUBLIC_STATIC or (name.startswith("i18n/") and name.endswith(".json") and "/" not in name[5:])
    return False


@web.middleware
async def authenticate(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    ctx: PageContext = request.app["ctx"]
    session, expired = ctx.sessions.get(request.cookies.get(COOKIE), ctx.passwords.ids())
    request["session"] = session
    if session is not None or _public(request):
        return await handler(request)
    if request.path.startswith("/api/"):
        if expired:
            raise Refused(401, "expired", "your session has expired: log in again")
        raise Refused(401, "login", "log in first")
    raise web.HTTPSeeOther("/login?expired=1" if expired else "/login")


@web.middleware
async def guard_changes(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if request.method in ("GET", "HEAD"):
        return await handler(request)
    if request.content_type != "application/json":
        raise Refused(415, "content_type", "send JSON (Content-Type: application/json)")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        audit(request, f"{request.path} refused: request from another origin ({origin})", ok=False)
        raise Refused(403, "origin", "a request from another site is refused")
    if request.path == "/api/login":
        return await handler(request)
    session: Session = request["session"]
    if not csrf_ok(session, request.headers.get("X-CSRF-Token")):
        audit(request, f"{request.path} refused: no valid CSRF token", ok=False)
        raise Refused(403, "csrf", "the request has no valid CSRF token: reload the page")
    if request.path != "/api/logout" and not session.may_change:
        audit(request, f"{request.path} refused: the {session.role} role may only read", ok=False)
        raise Refused(403, "role", f"the {session.role} role may only look, not change or test")
    return await handler(request)


# ---- pages ------------------------------------------------------------------------------------


def _languages(ctx: PageContext) -> list[str]:
    have = {p.stem for p in (STATIC / "i18n").glob("*.json")}
    wanted = [lang.lower() for lang in [ctx.language(), *ctx.languages, "en"]]
    return [lang for lang in dict.fromkeys(wanted) if lang in have]


def _page(name: str, ctx: PageContext) -> web.Response:
    text = (STATIC / name).read_text(encoding="utf-8")
    languages = _languages(ctx)
    text = text.replace("{{languages}}", html.escape(",".join(languages))).replace(
        "{{charge_point_id}}", html.escape(ctx.config.charge_point.id))
    return web.Response(text=text, content_type="text/html", charset="utf-8")


async def login_page(request: web.Request) -> web.Response:
    return _page("login.html", request.app["ctx"])


async def index_page(request: web.Request) -> web.Response:
    return _page("index.html", request.app["ctx"])


async def static_file(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file() or path.suffix == ".html":
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = "no-cache"
    return response


# ---- login ------------------------------------------------------------------------------------


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "bad_request", "the request is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", "expected a JSON object")
    return body


async def login(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    role, password = body.get("role"), body.get("password")
    if role not in ROLES or not isinstance(password, str) or not password:
        raise Refused(400, "bad_request", f"give a role ({' or '.join(ROLES)}) and a password")
    source = _source(request)
    wait = ctx.throttle.wait_s(source, ctx.monotonic())
    if wait > 0:
        audit(request, f"login as {role} refused: too many failed attempts", ok=False)
        raise Refused(429, "rate_limited", f"too many failed attempts: try again in {wait:.0f} s", retry_after_s=round(wait))
    if not await ctx.passwords.verify_async(role, password):
        lock = ctx.throttle.failed(source, ctx.monotonic())
        audit(request, f"login as {role} failed" + (f"; locked out for {lock:.0f} s" if lock else ""), ok=False)
        if lock:
            raise Refused(429, "rate_limited", f"too many failed attempts: try again in {lock:.0f} s", retry_after_s=round(lock))
        raise Refused(401, "wrong_password", "wrong role or password")
    ctx.throttle.succeeded(source)
    token, session = ctx.sessions.create(role, source, ctx.passwords.ids().get(role, ""))
    request["session"] = session
    audit(request, "logged in")
    response = web.json_response({"role": role, "csrf": session.csrf})
    # No max_age: the server ends the session and says so ("expired"); a cookie the browser
    # dropped by itself would only give "log in first".
    response.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="Strict", path="/")
    return response


async def logout(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    audit(request, "logged out")
    ctx.sessions.end(request.cookies.get(COOKIE))
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def session_info(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    session: Session = request["session"]
    return web.json_response({
        "role": session.role, "csrf": session.csrf, "may_change": session.may_change,
        "expires_in_s": round(session.expires - time.time()), "charge_point_id": ctx.config.charge_point.id,
        "languages": _languages(ctx), "language": ctx.language(),
    })


# ---- status, history, logs ----------------------------------------------------------------------


def _last_error(ctx: PageContext, device: dict[str, Any]) -> dict[str, Any] | None:
    kind, connector = device["kind"], device.get("connector")
    loggers = DEVICE_LOGGERS.get(kind)

    def matches(line: LogLine) -> bool:
        if line.logger.startswith(OWN_LOGGERS):  # the tests' own lines are not the device's errors
            return False
        if loggers is not None:
            return line.logger.startswith(loggers)
        return line.connector == connector and kind in line.message.lower()

    found = ctx.logs.last_problem(matches)
    return found.as_json() if found else None


async def status(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    state = ctx.status()
    for device in state.get("hardware", []):
        device["last_error"] = _last_error(ctx, device)
    for connector in state.get("connectors", []):
        cid = connector["id"]
        connector["tests"] = ctx.actions.capabilities(cid)
        if connector["tests"].get("contactor"):
            connector["contactor_test"] = asdict(ctx.actions.contactor_state(cid))
    return web.json_response(state, dumps=lambda v: json.dumps(v, default=str))


async def history(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _int(request.query.get("connector"), "connector", allow_none=True)
    limit = min(_int(request.query.get("limit", "200"), "limit"), 1000)
    entries = ctx.actions.history(1000)
    if connector is not None:
        entries = [e for e in entries if e.get("connector_id") == connector]
    return web.json_response(entries[-limit:])


async def logs(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _int(request.query.get("connector"), "connector", allow_none=True)
    limit = min(_int(request.query.get("limit", "200"), "limit"), 2000)
    level = logging.getLevelName((request.query.get("level") or "DEBUG").upper())
    if not isinstance(level, int):
        raise Refused(400, "bad_request", "level: one of DEBUG, INFO, WARNING, ERROR")
    lines = ctx.logs.recent(limit, connector, level, request.query.get("contains", "")[:100])
    return web.json_response([line.as_json() for line in lines])


def _int(value: Any, name: str, allow_none: bool = False) -> Any:
    if value in (None, "") and allow_none:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refused(400, "bad_request", f"{name}: expected a whole number") from None


async def diagnostics(request: web.Request) -> web.StreamResponse:
    """The archive GetDiagnostics uploads (agent/maintenance/diagnostics.py), secrets removed;
    with the log lines kept here when the agent writes no log file of its own."""
    from agent.maintenance.diagnostics import rotated_log_files, write_archive

    ctx: PageContext = request.app["ctx"]
    if ctx.diagnostics is None:
        raise Refused(503, "unavailable", "diagnostics are not available")
    state = ctx.diagnostics.snapshot()  # on the event loop: the store is not shared with threads
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"diagnostics-{_safe(ctx.config.charge_point.id)}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="evse-agent-diagnostics-") as directory:
        log_files = rotated_log_files(ctx.config.log.file) if ctx.config.log.file else []
        if not log_files:
            kept = Path(directory) / "agent.log"
            kept.write_text("".join(f"{line.as_json()['at']} {line.level} {line.logger}: {line.message}\n"
                                    for line in ctx.logs.recent(len(ctx.logs.lines))), encoding="utf-8")
            log_files = [kept]
        path = Path(directory) / name
        await asyncio.to_thread(write_archive, path, state, log_files, None, None)
        data = path.read_bytes()
    audit(request, f"diagnostics archive {name} downloaded")
    return web.Response(body=data, content_type="application/gzip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


# ---- commissioning --------------------------------------------------------------------------


def _config_path(ctx: PageContext) -> Path:
    if ctx.config_path is None:
        raise Refused(409, "no_file", "the agent was not started from a configuration file")
    return ctx.config_path


def _overridden(ctx: PageContext, from_file: AgentConfig | None) -> list[str]:
    """Keys the command line sets over the file (``evse-agent run --csms-url`` ...): a change
    in the file does not reach them."""
    if from_file is None:
        return []
    running = ctx.config
    pairs = {"ocpp.csms_url": (running.ocpp.csms_url, from_file.ocpp.csms_url),
             "charge_point.id": (running.charge_point.id, from_file.charge_point.id),
             "storage.data_dir": (running.storage.data_dir, from_file.storage.data_dir),
             "ocpp.versions": (running.ocpp.versions, from_file.ocpp.versions)}
    return [key for key, (now, filed) in pairs.items() if now != filed]


async def config_view(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    path = _config_path(ctx)
    problem, from_file = None, None
    try:
        from_file = config_edit.check_text(path.read_text(encoding="utf-8"))
    except (ConfigError, OSError) as exc:
        problem = str(exc)
    shown = from_file or ctx.config
    key_file = Path(shown.ocpp.authorization_key_file or Path(shown.storage.data_dir) / "authorization-key")
    return web.json_response({
        "path": str(path), "problem": problem, "schema": config_edit.form_schema(),
        "values": config_edit.form_values(shown, key_file.is_file()),
        "previous": path.with_name(path.name + config_edit.PREVIOUS_SUFFIX).is_file(),
        "overridden": _overridden(ctx, from_file),
        "may_change": request["session"].may_change,
    })


async def config_check(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    form = body.get("form")
    if not isinstance(form, dict):
        raise Refused(400, "bad_request", "expected {\"form\": {...}}")
    proposal = config_edit.propose(_config_path(ctx), form)
    return web.json_response(proposal.summary())


async def config_apply(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    form, expected = body.get("form"), body.get("digest")
    if not isinstance(form, dict) or not isinstance(expected, str):
        raise Refused(400, "bad_request", "expected {\"form\": {...}, \"digest\": \"...\"}")
    path = _config_path(ctx)
    proposal = config_edit.propose(path, form)
    return _apply(request, path, proposal, expected, "configuration applied")


async def restore_check(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    return web.json_response(config_edit.propose_restore(_config_path(ctx)).summary())


async def restore_apply(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    expected = body.get("digest")
    if not isinstance(expected, str):
        raise Refused(400, "bad_request", "expected {\"digest\": \"...\"}")
    path = _config_path(ctx)
    return _apply(request, path, config_edit.propose_restore(path), expected, "previous configuration restored")


def _apply(request: web.Request, path: Path, proposal: config_edit.Proposal, expected: str, what: str) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    if proposal.error is not None:
        audit(request, f"{what}: refused: {proposal.error}", ok=False)
        raise Refused(422, "invalid", proposal.error, error_key=proposal.error_key)
    if not proposal.changed:
        raise Refused(409, "unchanged", "nothing to apply: the form is what the file says")
    try:
        config_edit.apply(path, proposal, expected)
        if proposal.authorization_key is not None:
            config_edit.store_authorization_key(proposal.config, proposal.authorization_key)
    except config_edit.ConfigConflict as exc:
        raise Refused(409, "conflict", str(exc)) from None
    except OSError as exc:
        audit(request, f"{what}: could not write {path}: {exc.strerror}", ok=False)
        hint = ""
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            hint = (f"; the service may not write {path.parent}: install it with systemd/install.sh --service-page "
                    "(the drop-in ReadWritePaths and a group-writable directory)")
        raise Refused(500, "write_failed", f"cannot write {path}: {exc.strerror}{hint}") from None
    changes = [line[1:].strip() for line in proposal.diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    audit(request, f"{what} in {path} ({len(changes)} line(s) changed"
                   + ("; AuthorizationKey replaced" if proposal.authorization_key else "") + "); restarting")
    security_change = _security_change(ctx.config, proposal.config, proposal.authorization_key is not None)
    if security_change and ctx.security_events is not None:
        from agent.security.events import SecurityEvent

        session: Session = request["session"]
        ctx.security_events.record(SecurityEvent.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                   f"service page ({session.role} from {_source(request)}): {security_change}")
    asyncio.get_running_loop().call_later(RESTART_DELAY_S, ctx.restart, f"service page: {what}")
    return web.json_response({"ok": True, "restarting": True})


def _security_change(before: AgentConfig, after: AgentConfig | None, new_key: bool) -> str:
    if after is None:
        return ""
    changes = []
    for key in ("security_profile", "ca_bundle", "client_cert", "client_key", "authorization_key_file", "allow_unencrypted"):
        old, new = getattr(before.ocpp, key), getattr(after.ocpp, key)
        if old != new:
            changes.append(f"ocpp.{key} {old!r} -> {new!r}")
    if new_key:
        changes.append("AuthorizationKey replaced")
    return "; ".join(changes)


# ---- hardware tests ------------------------------------------------------------------------------


def _connector(body: dict[str, Any], ctx: PageContext) -> int:
    connector = body.get("connector")
    if not isinstance(connector, int) or isinstance(connector, bool) or connector not in ctx.actions.connector_ids():
        raise Refused(400, "bad_request", f"connector: one of {ctx.actions.connector_ids()}")
    return connector


async def _test(request: web.Request, what: str, run: Callable[[], Awaitable[Any]]) -> web.Response:
    try:
        result = await run()
    except TestRefused as exc:
        audit(request, f"{what}: refused: {exc}", ok=False)
        raise Refused(409, exc.code, str(exc)) from None
    audit(request, f"{what}: {_describe(result)}")
    return web.json_response(asdict(result) if hasattr(result, "__dataclass_fields__") else {"result": result})


def _describe(result: Any) -> str:
    if hasattr(result, "__dataclass_fields__"):
        return ", ".join(f"{k}={v}" for k, v in asdict(result).items())
    return str(result)


async def test_meter(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _connector(await _json(request), ctx)
    return await _test(request, f"meter test, connector {connector}", lambda: ctx.actions.read_meter(connector))


async def test_card(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    await _json(request)
    return await _test(request, "card test", lambda: ctx.actions.next_card(ctx.card_test_timeout_s))


async def test_lights(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _connector(await _json(request), ctx)
    return await _test(request, f"LED test, connector {connector}", lambda: ctx.actions.test_lights(connector))


async def test_display(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    connector = _connector(body, ctx)
    text = str(body.get("text") or "Display test")[:60]

    async def run() -> str:
        ctx.actions.test_display(connector, text, DISPLAY_TEST_S)
        return text

    return await _test(request, f"display test, connector {connector}", run)


async def test_rcd(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _connector(await _json(request), ctx)
    return await _test(request, f"RCD self-test, connector {connector}", lambda: ctx.actions.rcd_self_test(connector))


async def contactor_hold(request: web.Request) -> web.Response:
    """Pressed or still held: the browser repeats it while the button is down."""
    ctx: PageContext = request.app["ctx"]
    body = await _json(request)
    connector = _connector(body, ctx)
    try:
        state = ctx.actions.contactor_hold(connector)
    except TestRefused as exc:
        audit(request, f"contactor test, connector {connector}: refused: {exc}", ok=False)
        raise Refused(409, exc.code, str(exc)) from None
    if body.get("first"):
        audit(request, f"contactor test, connector {connector}: contactor closed (held)")
    return web.json_response(asdict(state))


async def contactor_release(request: web.Request) -> web.Response:
    ctx: PageContext = request.app["ctx"]
    connector = _connector(await _json(request), ctx)
    state = ctx.actions.contactor_release(connector)
    audit(request, f"contactor test, connector {connector}: released ({state.ended or 'open'})")
    return web.json_response(asdict(state))


# ---- the application ------------------------------------------------------------------------------


def make_app(ctx: PageContext) -> web.Application:
    app = web.Application(middlewares=[headers, authenticate, guard_changes], client_max_size=256 * 1024)
    app["ctx"] = ctx
    app.router.add_get("/login", login_page)
    app.router.add_get("/", index_page)
    app.router.add_get("/static/{name:.+}", static_file)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/session", session_info)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/history", history)
    app.router.add_get("/api/logs", logs)
    app.router.add_get("/api/diagnostics", diagnostics)
    app.router.add_get("/api/config", config_view)
    app.router.add_post("/api/config/check", config_check)
    app.router.add_post("/api/config/apply", config_apply)
    app.router.add_post("/api/config/restore/check", restore_check)
    app.router.add_post("/api/config/restore/apply", restore_apply)
    app.router.add_post("/api/test/meter", test_meter)
    app.router.add_post("/api/test/card", test_card)
    app.router.add_post("/api/test/lights", test_lights)
    app.router.add_post("/api/test/display", test_display)
    app.router.add_post("/api/test/rcd", test_rcd)
    app.router.add_post("/api/test/contactor/hold", contactor_hold)
    app.router.add_post("/api/test/contactor/release", contactor_release)
    return app


__all__ = ["PageContext", "make_app"]
