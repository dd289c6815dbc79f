"""A second OCPP 2.0.1 backend for the tests: the ``ocpp`` library's own central-system side.

``ocpp.v201.ChargePoint`` used as the CSMS, one per connected station, on a websockets server
that speaks only ``ocpp2.0.1``. It has an ``@on`` handler for every message a charging station
sends (OCPP 2.0.1 Part 2: the 21 station-to-CSMS actions), so the library validates each with
its own schemas (jsonschema; ``date-time`` formats are not checked, which is what the strict
ocpp-rpc backend adds) and answers as a backend that knows ``knows`` (idTokens, boot status).
It records every frame in both directions and every CALL, and sends any request:

    csms = LibraryCsms(); await csms.start()          # or the ``library_csms`` fixture
    ... the station connects to csms.url() ...
    boot = await csms.wait_call("BootNotification")  # the camelCase payload, as on the wire
    result = await csms.call(call.GetVariables(get_variable_data=[...]))      # a library object
    result = await csms.request("GetVariables", {"getVariableData": [...]})   # camelCase dicts
    csms.answers["Authorize"] = {"idTokenInfo": {"status": "Blocked"}}        # or a function

Payloads given and recorded are camelCase as on the wire; ``call`` takes the library's own
request objects and returns its result objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocpp import exceptions
from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from tests.conformance.strict_csms import HOLD, Backend, Error, now_iso

# OCPP 2.0.1 Part 2: every request a charging station sends to the CSMS.
STATION_ACTIONS = (
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer", "FirmwareStatusNotification",
    "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues",
    "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
)


@dataclass(frozen=True)
class Frame:
    """One websocket message, as sent."""

    identity: str
    direction: str  # "from_station" | "to_station"
    text: str

    @property
    def message(self) -> Any:
        return json.loads(self.text)


@dataclass(frozen=True)
class Call:
    """A CALL a station made."""

    seq: int
    identity: str
    unique_id: str
    action: str
    payload: dict  # camelCase, as on the wire


class _RecordingSocket:
    """The websocket as the library's ChargePoint uses it (recv / send), every frame recorded."""

    def __init__(self, ws: ServerConnection, identity: str, backend: LibraryCsms) -> None:
        self._ws = ws
        self._identity = identity
        self._backend = backend

    async def recv(self) -> str:
        text = await self._ws.recv()
        self._backend._record(Frame(self._identity, "from_station", text))
        return text

    async def send(self, text: str) -> None:
        self._backend._record(Frame(self._identity, "to_station", text))
        await self._ws.send(text)


class _CentralSystem(ChargePoint):
    """The library's 2.0.1 ChargePoint as the CSMS of one connected station."""

    def __init__(self, identity: str, connection: _RecordingSocket, backend: LibraryCsms, timeout: float) -> None:
        super().__init__(identity, connection, response_timeout=timeout)
        self.backend = backend


def _handler(action: str):
    async def handle(self: _CentralSystem, call_unique_id: str, **_: Any) -> Any:
        answer = self.backend._answer(self.id, action, call_unique_id)
        return await answer if inspect.isawaitable(answer) else answer

    handle.__name__ = f"on_{action}"
    return on(action)(handle)


for _action in STATION_ACTIONS:
    setattr(_CentralSystem, f"on_{_action}", _handler(_action))

_ERRORS = {cls.code: cls for cls in vars(exceptions).values()
           if isinstance(cls, type) and issubclass(cls, exceptions.OCPPError) and hasattr(cls, "code")}


class LibraryCsms:
    def __init__(self, *, response_timeout: float = 15.0) -> None:
        self.port = 0
        self.response_timeout = response_timeout
        self.knows = Backend()
        # action -> the answer: a camelCase payload, a call_result object, Error, HOLD, or
        # function(payload) -> one of those; overrides the defaults. HOLD never answers, and (the
        # library awaits its handlers one by one) holds every later message of that station too.
        self.answers: dict[str, Any] = {}
        self.frames: list[Frame] = []
        self.calls: list[Call] = []
        self.stations: dict[str, _CentralSystem] = {}
        self.subprotocols: dict[str, str | None] = {}  # identity -> the subprotocol agreed on
        self._sockets: dict[str, ServerConnection] = {}
        self._server = None
        self._changed = asyncio.Event()

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp2.0.1")])
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def _serve(self, ws: ServerConnection) -> None:
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        self.subprotocols[identity] = ws.subprotocol
        if ws.subprotocol != "ocpp2.0.1":
            # OCPP-J 2.0.1 §3.2: no agreed subprotocol, no OCPP: close at once. (websockets already
            # refuses such a handshake with HTTP 400; kept should it ever let one through.)
            await ws.close(1002, "no common subprotocol")
            return
        station = _CentralSystem(identity, _RecordingSocket(ws, identity, self), self, self.response_timeout)
        self.stations[identity] = station
        self._sockets[identity] = ws
        self._changed.set()
        with contextlib.suppress(Exception):  # the connection closing ends the receive loop
            await station.start()

    # ---- what the station sent ------------------------------------------------------------

    def _record(self, frame: Frame) -> None:
        self.frames.append(frame)
        if frame.direction == "from_station":
            with contextlib.suppress(ValueError, IndexError, TypeError):
                message = frame.message
                if message[0] == 2:
                    self.calls.append(Call(len(self.calls), frame.identity, message[1], message[2], message[3]))
        self._changed.set()

    def _answer(self, identity: str, action: str, unique_id: str) -> Any:
        payload = next(c.payload for c in reversed(self.calls) if c.unique_id == unique_id and c.identity == identity)
        given = self.answers.get(action)
        if given is None:
            given = getattr(self, f"_default_{action}", None) or {}
        answer = given(payload) if callable(given) else given
        if answer is HOLD:
            return self._hold()
        if isinstance(answer, Error):
            raise _ERRORS.get(answer.code, exceptions.GenericError)(answer.description)
        if isinstance(answer, dict):
            return getattr(call_result, action)(**camel_to_snake_case(json.loads(json.dumps(answer))))
        return answer

    async def _hold(self) -> Any:
        await asyncio.Event().wait()  # never answered: the station's receive loop waits with it

    def _default_BootNotification(self, payload: dict) -> dict:
        return {"currentTime": now_iso(), "interval": self.knows.heartbeat_interval, "status": self.knows.boot_status}

    def _default_Heartbeat(self, payload: dict) -> dict:
        return {"currentTime": now_iso()}

    def _default_Authorize(self, payload: dict) -> dict:
        return {"idTokenInfo": self.knows.id_token_info(payload["idToken"])}

    def _default_TransactionEvent(self, payload: dict) -> dict:
        return {"idTokenInfo": self.knows.id_token_info(payload["idToken"])} if "idToken" in payload else {}

    def _default_DataTransfer(self, payload: dict) -> dict:
        return {"status": "UnknownVendorId"}

    def _default_SignCertificate(self, payload: dict) -> dict:
        return {"status": "Accepted"}

    def _default_Get15118EVCertificate(self, payload: dict) -> dict:
        return {"status": "Failed", "exiResponse": ""}

    def _default_GetCertificateStatus(self, payload: dict) -> dict:
        return {"status": "Failed"}

    def _default_NotifyEVChargingNeeds(self, payload: dict) -> dict:
        return {"status": "Rejected"}

    def _default_NotifyEVChargingSchedule(self, payload: dict) -> dict:
        return {"status": "Accepted"}

    def mark(self) -> int:
        return len(self.calls)

    def calls_of(self, action: str, *, after: int = 0) -> list[dict]:
        return [c.payload for c in self.calls[after:] if c.action == action]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """The first truthy value of ``predicate()``, re-evaluated whenever something arrives."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                value = predicate()
                if value:
                    return value
                await self._changed.wait()

    async def wait_call(self, action: str, where: Callable[[dict], bool] = lambda p: True, *, after: int = 0,
                        timeout: float = 15.0) -> dict:
        """The camelCase payload of the first ``action`` CALL from position ``after`` on that ``where`` accepts."""
        def found():
            return next((c for c in self.calls[after:] if c.action == action and where(c.payload)), None)
        try:
            return (await self.wait_for(found, timeout)).payload
        except TimeoutError:
            seen = [f"{c.action} {json.dumps(c.payload)}" for c in self.calls[after:]][-15:]
            raise AssertionError(f"no {action} came within {timeout} s; the station sent:\n  "
                                 + "\n  ".join(seen)) from None

    async def connected(self, identity: str | None = None, *, timeout: float = 20.0) -> _CentralSystem:
        return await self.wait_for(
            lambda: self.stations.get(identity) if identity else next(reversed(self.stations.values()), None),
            timeout)

    # ---- what the backend does ------------------------------------------------------------

    def _station(self, identity: str | None) -> _CentralSystem:
        if identity is None:
            if not self.stations:
                raise RuntimeError("no station is connected")
            return next(reversed(self.stations.values()))
        return self.stations[identity]

    async def call(self, request: Any, *, identity: str | None = None, timeout: float | None = None) -> Any:
        """Send a library request object (``ocpp.v201.call.GetVariables(...)``); its result object.
        A CALLERROR raises the library's exception for its code; a lost connection or no answer
        raises TimeoutError (the library does not wake a pending call when the socket drops)."""
        station = self._station(identity)
        async with asyncio.timeout(timeout or self.response_timeout):
            return await station.call(request, suppress=False)

    async def request(self, action: str, payload: dict, *, identity: str | None = None,
                      timeout: float | None = None) -> dict:
        """Send ``action`` with a camelCase payload; the camelCase result as on the wire."""
        request = getattr(call, action)(**camel_to_snake_case(payload))
        mark = len(self.frames)
        await self.call(request, identity=identity, timeout=timeout)
        # The result as the station sent it, not as the library rebuilt it.
        sent = [f.message for f in self.frames[mark:] if f.direction == "from_station"]
        frame_id = next(f.message[1] for f in self.frames[mark:] if f.direction == "to_station"
                        and f.message[0] == 2 and f.message[2] == action)
        return next(m[2] for m in sent if m[0] == 3 and m[1] == frame_id)

    async def drop_connection(self, identity: str | None = None) -> None:
        """Close the station's connection at once, as a lost network does."""
        station = self._station(identity)
        await self._sockets[station.id].close(1001, "going away")
