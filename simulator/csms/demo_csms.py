"""A tiny demo central system (OCPP 1.6-J and 2.0.1 server side) that accepts everything.

``python -m simulator.csms.demo_csms [--host 127.0.0.1] [--port 9000] [--sim-url URL]
[--ocpp-version 1.6|2.0.1]``; charge points connect to ``ws://HOST:PORT/<charge point id>``.
Without ``--ocpp-version`` it serves both subprotocols and speaks the first one the charge point
offers (its preference, as ``[ocpp] versions`` orders them); with it, only that one. One readable line is printed per message
received. With ``--sim-url`` (the simulator's page, e.g. http://127.0.0.1:8765) every frame in
both directions also goes to the page's OCPP log (simulator/web/ocpp_feed.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
from collections.abc import Callable
from datetime import datetime, timezone

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import NegotiationError
from websockets.typing import Subprotocol

from simulator.csms.demo_csms201 import DemoChargingStation201

from simulator.web.ocpp_feed import FrameListener, SimLogFeed, TappedConnection

HEARTBEAT_INTERVAL = 300
SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")  # what the demo backend can speak


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class DemoChargePoint(ChargePoint):
    """Server-side view of one connected charge point."""

    def __init__(self, cp_id: str, ws, csms: DemoCsms):
        super().__init__(cp_id, ws)
        self.csms = csms

    def _log(self, text: str) -> None:
        self.csms.log(f"CSMS <- {self.id} {text}")

    def _accepted(self) -> IdTagInfo:
        return IdTagInfo(status=AuthorizationStatus.accepted)

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor, charge_point_model, **kw):
        self._log(f"BootNotification vendor={charge_point_vendor} model={charge_point_model}"
                  + (f" fw={kw['firmware_version']}" if "firmware_version" in kw else ""))
        return call_result.BootNotification(current_time=_now(), interval=HEARTBEAT_INTERVAL,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self):
        self._log("Heartbeat")
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, connector_id, error_code, status, **kw):
        info = f" info={kw['info']}" if "info" in kw else ""
        self._log(f"StatusNotification connector={connector_id} {status} error={error_code}{info}")
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag):
        self._log(f"Authorize idTag={id_tag}")
        return call_result.Authorize(id_tag_info=self._accepted())

    @on(Action.start_transaction)
    def on_start(self, connector_id, id_tag, meter_start, timestamp, **kw):
        tx = next(self.csms.tx_ids)
        self._log(f"StartTransaction connector={connector_id} idTag={id_tag} "
                  f"meterStart={meter_start} Wh -> transactionId={tx}")
        return call_result.StartTransaction(transaction_id=tx, id_tag_info=self._accepted())

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop, timestamp, transaction_id, **kw):
        reason = kw.get("reason", "Local")
        self._log(f"StopTransaction transactionId={transaction_id} meterStop={meter_stop} Wh "
                  f"reason={reason}")
        return call_result.StopTransaction(
            id_tag_info=self._accepted() if kw.get("id_tag") else None)

    @on(Action.meter_values)
    def on_meter_values(self, connector_id, meter_value, **kw):
        parts = []
        for mv in meter_value:
            for sv in mv.get("sampled_value", []):
                measurand = sv.get("measurand", "Energy.Active.Import.Register")
                parts.append(f"{measurand}={sv.get('value')}{sv.get('unit', '')}")
        tx = f" tx={kw['transaction_id']}" if "transaction_id" in kw else ""
        self._log(f"MeterValues connector={connector_id}{tx} " + " ".join(parts))
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, **kw):
        self._log(f"DataTransfer vendor={vendor_id} messageId={kw.get('message_id')}")
        return call_result.DataTransfer(status="Accepted")

    @on(Action.firmware_status_notification)
    def on_fw_status(self, status):
        self._log(f"FirmwareStatusNotification {status}")
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diag_status(self, status):
        self._log(f"DiagnosticsStatusNotification {status}")
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)  # OCPP 1.6 Security Whitepaper §4.8
    def on_security_event(self, type, timestamp, **kw):  # noqa: A002 - the payload's name
        self._log(f"SecurityEventNotification {type}")
        return call_result.SecurityEventNotification()


class DemoCsms:
    """Start/stop the demo server; ``lines`` keeps what was printed (for tests)."""

    def __init__(self, printer: Callable[[str], None] | None = print, on_frame: FrameListener | None = None,
                 subprotocols: tuple[str, ...] = SUBPROTOCOLS):
        self.printer = printer
        self.subprotocols = subprotocols  # served; the charge point's first offered one is spoken
        self.on_frame = on_frame  # every frame, both ways (SimLogFeed)
        self.lines: list[str] = []
        self.tx_ids = itertools.count(1)
        self.charge_points: dict[str, DemoChargePoint | DemoChargingStation201] = {}
        self._server = None
        self.port: int | None = None

    def log(self, line: str) -> None:
        self.lines.append(line)
        if self.printer:
            self.printer(line)

    async def _handler(self, ws: ServerConnection) -> None:
        if ws.subprotocol not in self.subprotocols:  # websockets refuses it already: kept for safety
            await ws.close(1002, f"subprotocol {' or '.join(self.subprotocols)} required")
            return
        cp_id = ws.request.path.strip("/").split("/")[-1] or "unknown"
        side = DemoChargingStation201 if ws.subprotocol == "ocpp2.0.1" else DemoChargePoint
        cp = side(cp_id, TappedConnection(ws, cp_id, self.on_frame) if self.on_frame else ws, self)
        self.charge_points[cp_id] = cp
        self.log(f"CSMS: {cp_id} connected ({ws.subprotocol})")
        try:
            await cp.start()
        except Exception:  # noqa: BLE001 - a closed connection ends the session
            pass
        finally:
            self.charge_points.pop(cp_id, None)
            self.log(f"CSMS: {cp_id} disconnected")

    async def start(self, host: str = "127.0.0.1", port: int = 9000) -> int:
        self._server = await serve(self._handler, host, port, subprotocols=[Subprotocol(p) for p in self.subprotocols],
                                   select_subprotocol=self._select_subprotocol)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def _select_subprotocol(self, _connection: ServerConnection, offered: list[str]) -> Subprotocol:
        """The first subprotocol the charge point offers that is served (websockets' own choice
        would follow the server's order instead)."""
        for subprotocol in offered:
            if subprotocol in self.subprotocols:
                return Subprotocol(subprotocol)
        raise NegotiationError(f"no common subprotocol; expected one of {', '.join(self.subprotocols)}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


async def _run(host: str, port: int, sim_url: str | None = None,
               subprotocols: tuple[str, ...] = SUBPROTOCOLS) -> None:
    feed = SimLogFeed(sim_url) if sim_url else None
    if feed is not None:
        await feed.start()
    csms = DemoCsms(printer=lambda line: print(line, flush=True), on_frame=feed, subprotocols=subprotocols)
    bound = await csms.start(host, port)
    print(f"demo-csms: listening on ws://{host}:{bound}/<charge point id> ({', '.join(subprotocols)})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await csms.stop()
    if feed is not None:
        await feed.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="demo-csms", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--sim-url", help="the simulator page (http://HOST:PORT): feed its OCPP log")
    p.add_argument("--ocpp-version", choices=["1.6", "2.0.1"],
                   help="speak only this version (default: both, the charge point's first offered one)")
    args = p.parse_args(argv)
    subprotocols = (f"ocpp{args.ocpp_version}",) if args.ocpp_version else SUBPROTOCOLS
    try:
        asyncio.run(_run(args.host, args.port, args.sim_url, subprotocols))
    except OSError as exc:  # the port is taken, most often
        print(f"demo-csms: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
              " (stop the program holding it, or choose another --port)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
