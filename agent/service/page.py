"""Building and running the service page; ``evse-agent service-password``.

The page runs inside the agent process, on its event loop (why: agent/service/__init__.py).
``build_service_page`` is what the composition root calls: nothing when ``[service_page]
listen`` is unset; otherwise it installs the station's test hooks (agent/station/
service_actions.py) before the station runs, and returns the coroutine that serves HTTPS until
the agent stops. A port that cannot be bound is logged; charging goes on without the page.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from agent.app.config import AgentConfig, ConfigError, split_listen

log = logging.getLogger(__name__)

DIRECTORY = "service-page"
SHUTDOWN_S = 2.0  # a card test still waiting does not hold up a restart longer than this


def page_directory(config: AgentConfig) -> Path:
    return Path(config.storage.data_dir) / DIRECTORY


def build_service_page(config: AgentConfig, config_path: Path | None, *, station: Any, lifecycle: Any,
                       status: Callable[[], dict[str, Any]], diagnostics: Any = None, security_events: Any = None,
                       secrets: Callable[[], Iterable[str]] = tuple, user_info: Any = None,
                       language: Callable[[], str] = lambda: "en") -> list[Coroutine[Any, Any, None]]:
    """The page's work for the composition root ([] when it is off). ``user_info``: what the
    EV driver reads (agent/app/composition.py UserInfo): the display test is a message on it."""
    page = config.service_page
    if not page.listen:
        return []
    from agent.security.secret_files import private_directory
    from agent.service import logbuffer
    from agent.service.auth import PasswordFile, Sessions
    from agent.service.server import PageContext
    from agent.station.service_actions import StationServiceActions

    directory = page_directory(config)
    try:
        private_directory(directory)
    except OSError as exc:
        log.error("service page: %s: %s; the page is off", directory, exc.strerror)
        return []
    ctx = PageContext(
        config=config,
        config_path=Path(config_path).resolve() if config_path is not None else None,
        passwords=PasswordFile(directory / "passwords.json"),
        sessions=Sessions(directory / "sessions.json", page.session_lifetime_s),
        actions=StationServiceActions(station, display_text(user_info), {d.connector for d in config.displays}),
        status=status,
        logs=logbuffer.install(secrets),
        restart=lifecycle.request_restart,
        diagnostics=diagnostics,
        security_events=security_events,
        language=language,
        languages=list(config.ev_driver.supported_languages),
    )
    return [serve(ctx, directory)]


def display_text(user_info: Any) -> Callable[[int, str, float], None] | None:
    """A message on a connector's display in front of everything else (AlwaysFront), for a
    while: the way a backend's message gets there (agent/ui/notes.py)."""
    if user_info is None:
        return None
    from agent.station.clock import Clock
    from agent.ui.notes import DriverMessage, Priority

    def show(connector_id: int, text: str, seconds: float) -> None:
        user_info.messages.show(DriverMessage(None, connector_id, {"": text}, Priority.ALWAYS_FRONT,
                                              Clock.monotonic() + seconds))
        user_info.changed()

    return show


async def serve(ctx: Any, directory: Path) -> None:
    from aiohttp import web

    from agent.service.server import make_app
    from agent.service.tls import ensure_certificate, fingerprint, server_context

    page = ctx.config.service_page
    host, port = split_listen(page.listen)
    try:
        cert, key = (Path(page.cert), Path(page.key)) if page.cert else ensure_certificate(directory, host)
        context = server_context(cert, key)
    except (OSError, ValueError) as exc:
        log.error("service page: no usable certificate: %s; the page is off", exc)
        return
    runner = web.AppRunner(make_app(ctx), access_log=None, shutdown_timeout=SHUTDOWN_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            log.error("service page: cannot listen on %s: %s; the page is off", page.listen, exc.strerror or exc)
            return
        roles = ctx.passwords.roles()
        log.info("service page: https://%s/ (certificate SHA-256 %s); roles with a password: %s", page.listen,
                 fingerprint(cert.read_bytes()), ", ".join(roles) or "none")
        if not roles:
            log.warning("service page: no password is set, nobody can log in: run `evse-agent service-password`")
        await asyncio.Future()  # until cancelled (the agent stops)
    finally:
        await runner.cleanup()


# ---- evse-agent service-password --------------------------------------------------------------------


def add_password_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="/etc/evse-agent/agent.toml", help="the agent's configuration file")
    parser.add_argument("--data-dir", help="the agent's data directory (overrides the config)")
    parser.add_argument("--role", choices=("installer", "support"), default="installer",
                        help="installer: everything; support: may only look (default installer)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--remove", action="store_true", help="remove the role's password (nobody logs in with it)")


def password_command(args: argparse.Namespace) -> int:
    from agent.app.config import load_config
    from agent.security.secret_files import private_directory
    from agent.service.auth import PasswordError, PasswordFile, private_file_owner
    from agent.service.tls import ensure_certificate, fingerprint

    try:
        config = load_config(args.config, **({"storage.data_dir": args.data_dir} if args.data_dir else {}))
    except ConfigError as exc:
        print(f"evse-agent: config error: {exc}", file=sys.stderr)
        return 1
    data_dir = Path(config.storage.data_dir)
    directory = page_directory(config)
    try:
        private_directory(data_dir)  # as the agent keeps it (agent/app/composition.py make_private)
        private_directory(directory)
    except OSError as exc:
        print(f"evse-agent: {directory}: {exc.strerror} (run as the agent's user or root)", file=sys.stderr)
        return 2
    passwords = PasswordFile(directory / "passwords.json")
    if args.remove:
        removed = passwords.remove(args.role)
        print(f"service page: the {args.role} password {'was removed' if removed else 'was not set'}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"New {args.role} password for the service page: ")
        if getpass.getpass("Once more: ") != password:
            print("evse-agent: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    try:
        passwords.set(args.role, password, config.charge_point.id)
    except PasswordError as exc:
        print(f"evse-agent: {exc}; nothing changed", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"evse-agent: {passwords.path}: {exc.strerror}", file=sys.stderr)
        return 2
    page = config.service_page
    host = split_listen(page.listen)[0] if page.listen else ""
    cert = Path(page.cert) if page.cert else None
    if cert is None:
        try:
            cert, key = ensure_certificate(directory, host)
            private_file_owner(key, data_dir)
            private_file_owner(cert, data_dir)
        except OSError as exc:
            print(f"evse-agent: cannot make the page's certificate: {exc}", file=sys.stderr)
            cert = None
    for path in (directory, passwords.path):
        private_file_owner(path, data_dir)  # run as root: the agent's user must still read it
    print(f"service page: the {args.role} password is set (Argon2id); its sessions so far are over")
    if page.listen:
        print(f"service page: https://{page.listen}/ (use the station's address for 0.0.0.0)")
    else:
        print("service page: it is off: set [service_page] listen = \"0.0.0.0:8443\" in the config, then restart the agent")
    if cert is not None and cert.is_file():
        print(f"certificate SHA-256 fingerprint (compare it with the browser's): {fingerprint(cert.read_bytes())}")
    return 0
