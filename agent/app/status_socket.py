"""``evse-agent status``: the live state of a running agent, over a local socket.

The agent listens on a Unix socket in its data directory (owner-only, like the data),
answers one JSON document per connection and closes. Useful to an installer on site
and to support over a remote shell, without the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "evse-agent.sock"


class StatusServer:
    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left over from a process that did not end cleanly
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old_umask)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            body = json.dumps(self._snapshot(), default=str).encode()
        except Exception as exc:  # the status of a sick agent is still worth an answer
            log.exception("status snapshot failed")
            body = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
        writer.write(body + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


def query(path: Path, timeout_s: float = 5.0) -> dict[str, Any]:
    """Ask a running agent (blocking; for the CLI)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))


def render(status: dict[str, Any]) -> str:
    """The snapshot as an installer reads it."""
    link = status.get("link", {})
    lines = [
        f"charge point  {status.get('charge_point_id')}   evse-agent {status.get('version')}",
        f"backend       {link.get('url')}  "
        + ("connected" if link.get("connected") else "NOT connected")
        + (f", {link.get('registration')}" if link.get("registration") else "")
        + (f"  (last error: {link['last_error']})" if link.get("last_error") else ""),
        f"queue         {status.get('queued_messages')} transaction message(s) waiting",
    ]
    if link.get("security_profile") is not None or status.get("uptime_s") is not None:
        lines.append(f"security      profile {link.get('security_profile')}"
                     + (f", connected since {link['connected_since']}" if link.get("connected_since") else "")
                     + (f"   up {_duration(status['uptime_s'])}" if status.get("uptime_s") is not None else ""))
    if status.get("storage", "ok") != "ok":
        lines.append(f"storage       {status['storage']}")
    for c in status.get("connectors", []):
        fault = f" [{c['fault']}]" if c.get("fault") else ""
        lines.append(
            f"connector {c['id']}   {c['status']}{fault}   pilot {c['pilot']}   offer {c['offered_a']:.0f} A   "
            f"{c['power_w']:.0f} W   meter {c['energy_wh']:.0f} Wh"
        )
        if c.get("current_a") or c.get("contactor_closed") is not None:
            currents = "/".join(f"{a:.1f}" for a in c.get("current_a", [])) or "-"
            lines.append(f"              drawn {currents} A"
                         + (f"   contactor {'closed' if c['contactor_closed'] else 'open'}"
                            if c.get("contactor_closed") is not None else "")
                         + "".join(f"   {f['error_code']}/{f['vendor_error_code']}" for f in c.get("faults", [])))
        if c.get("transaction"):
            t = c["transaction"]
            lines.append(
                f"              transaction {t.get('remote_id') or '(not confirmed yet)'} by {t['id_tag']} since "
                f"{t['started_at']}, {t['energy_wh']:.0f} Wh"
            )
    for d in status.get("hardware", []):
        where = f" (connector {d['connector']})" if d.get("connector") else ""
        answer = {True: "answers", False: "NOT answering", None: "-"}[d.get("answering")]
        lines.append(f"hardware      {d['kind']}{where}: {d.get('driver') or '-'}, {answer}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    return (f"{days} d " if days else "") + time.strftime("%H:%M:%S", time.gmtime(rest))


# What each connector fault means (OCPP 1.6 §7.6 ChargePointErrorCode, and the vendorErrorCode
# support sees in the backend: agent/ocpp16/adapter.py ERROR_CODES).
def error_codes(fault) -> dict[str, str | None]:
    from agent.ocpp16.adapter import ERROR_CODES

    code, vendor = ERROR_CODES.get(fault, ("OtherError", None))
    return {"fault": fault.value if fault else None, "error_code": code, "vendor_error_code": vendor}


def _device(kind: str, connector_id: int | None, driver: str, answering: bool | None, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "connector": connector_id, "driver": driver, "answering": answering, **more}


def hardware(config, station) -> list[dict[str, Any]]:
    """Each board, meter, reader, sensor and display, and whether it answers (None: not known)."""
    from agent.core.session import Fault

    devices = []
    sections = {c.id: c for c in config.connectors} if config is not None else {}
    views = [station.view(evse_id) for evse_id in station.evses()]
    for view in views:
        section = sections.get(view.evse_id)
        devices.append(_device("board", view.evse_id, section.board.driver if section else "",
                               view.board.answering, failed_reads=view.board.failed_reads))
        if view.meter is not None:
            devices.append(_device("meter", view.evse_id, section.meter.driver if section and section.meter else "",
                                   view.meter.answering, failed_reads=view.meter.failed_reads))
        contactor = view.contactor
        if contactor is not None:
            feedback = contactor.feedback_closed
            devices.append(_device("contactor", view.evse_id, "gpio", None if feedback is None else
                                   feedback == contactor.commanded_closed))
    if config is not None:
        if config.card_reader.driver != "none":
            devices.append(_device("card_reader", None, config.card_reader.driver, station.card_reader is not None))
        if config.temperature.driver != "none":
            faulted = any(Fault.TEMP_SENSOR in view.faults for view in views)
            devices.append(_device("temperature", None, config.temperature.driver,
                                   None if station.temperature_c is None and not faulted else not faulted,
                                   celsius=station.temperature_c))
        for display in config.displays:
            devices.append(_device("display", display.connector, display.driver, None))
    return devices


def snapshot(charge_point_id: str, version: str, station, backend, link, store, storage_problem: str | None = None,
             *, config=None, security=None, started_at: float | None = None) -> dict[str, Any]:
    """What ``evse-agent status`` shows: connectors, transactions, the link, the queue, the hardware."""
    connectors = []
    for evse_id in station.evses():
        view = station.view(evse_id)
        t = view.transaction
        transaction = None
        if t is not None:
            transaction = {
                "local_id": view.transaction_local_id,
                "remote_id": _backend_id(t.backend_id),
                "id_tag": t.id_token.value,
                "started_at": t.started_at,
                "energy_wh": view.session_energy_wh or 0.0,
            }
        board, reading, contactor = view.board_status, view.reading, view.contactor
        connectors.append(
            {
                "id": view.evse_id,
                "status": view.status.value,
                "fault": view.fault.value if view.fault else None,
                "faults": [error_codes(f) for f in sorted(view.faults, key=lambda f: list(type(f)).index(f))],
                "pilot": view.pilot.value,
                "offered_a": view.offered_a or 0.0,
                "board_offers_a": board.offered_current_a if board else None,
                "relay_closed": board.relay_closed if board else None,
                "contactor_closed": None if contactor is None else contactor.commanded_closed,
                "current_a": list(reading.current_a) if reading else [],
                "power_w": view.power_w or 0.0,
                "energy_wh": reading.energy_wh if reading else 0.0,
                "transaction": transaction,
            }
        )
    connected_since = getattr(link, "connected_since", None)
    return {
        "charge_point_id": charge_point_id,
        "version": version,
        "started_at": _iso(started_at),
        "uptime_s": None if started_at is None else round(time.time() - started_at),
        "link": {
            "url": link.url,
            "connected": link.connected,
            "connected_since": _iso(connected_since) if link.connected else None,
            "ocpp_version": getattr(link, "subprotocol", None),
            "security_profile": getattr(security, "profile", None),
            "registration": backend.registration(),
            "last_error": link.last_error,
        },
        "queued_messages": store.outbox_length(),
        "storage": storage_problem or (
            f"schema {store.newer_schema} from a newer release, usable by this one" if store.newer_schema else "ok"
        ),
        "last_card": (card := station.last_card()) and card.value,
        "connectors": connectors,
        "hardware": hardware(config, station),
    }


def _iso(when: float | None) -> str | None:
    return None if when is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _backend_id(backend_id: str | None) -> int | str | None:
    """The backend's transaction id as it sent it: an integer in OCPP 1.6."""
    if backend_id is not None and backend_id.lstrip("-").isdigit():
        return int(backend_id)
    return backend_id
