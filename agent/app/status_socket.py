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
    if status.get("storage", "ok") != "ok":
        lines.append(f"storage       {status['storage']}")
    for c in status.get("connectors", []):
        fault = f" [{c['fault']}]" if c.get("fault") else ""
        lines.append(
            f"connector {c['id']}   {c['status']}{fault}   pilot {c['pilot']}   offer {c['offered_a']:.0f} A   "
            f"{c['power_w']:.0f} W   meter {c['energy_wh']:.0f} Wh"
        )
        if c.get("transaction"):
            t = c["transaction"]
            lines.append(
                f"              transaction {t.get('remote_id') or '(not confirmed yet)'} by {t['id_tag']} since "
                f"{t['started_at']}, {t['energy_wh']:.0f} Wh"
            )
    return "\n".join(lines)


def snapshot(charge_point_id: str, version: str, station, backend, link, store, storage_problem: str | None = None) -> dict[str, Any]:
    """What ``evse-agent status`` shows: connectors, transactions, the link, the queue."""
    connectors = []
    for conn in station.connectors.values():
        session, reading = conn.session, conn.reading
        fault = session.fault
        transaction = None
        if conn.tx_local_id is not None and session.transaction is not None:
            record = store.transaction(conn.tx_local_id)
            if record is not None:
                transaction = {
                    "local_id": record.local_id,
                    "remote_id": record.remote_id,
                    "id_tag": record.id_tag,
                    "started_at": record.started_at,
                    "energy_wh": (reading.energy_wh - record.meter_start_wh) if reading else 0.0,
                }
        connectors.append(
            {
                "id": conn.id,
                "status": session.status().value,
                "fault": fault.value if fault else None,
                "pilot": session.pilot.value,
                "offered_a": session.offered_a or 0.0,
                "power_w": reading.power_w if reading else 0.0,
                "energy_wh": reading.energy_wh if reading else 0.0,
                "transaction": transaction,
            }
        )
    return {
        "charge_point_id": charge_point_id,
        "version": version,
        "link": {
            "url": link.url,
            "connected": link.connected,
            "registration": backend.registration(),
            "last_error": link.last_error,
        },
        "queued_messages": store.outbox_length(),
        "storage": storage_problem or (
            f"schema {store.newer_schema} from a newer release, usable by this one" if store.newer_schema else "ok"
        ),
        "last_card": (card := station.last_card()) and card.value,
        "connectors": connectors,
    }
