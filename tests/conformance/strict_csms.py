"""The strict backend as a test sees it: a central system this project did not write.

``strict_csms.mjs`` runs ocpp-rpc's RPCServer in strictMode (each message checked against the
official JSON schemas of the subprotocol agreed on, OCPP 1.6 or OCPP 2.0.1, in both
directions). This class drives it over its control websocket: it answers every CALL the
charging station makes (answers below, overridable per test by action with a function or a
canned payload), sends requests on the backend's behalf, drops or refuses connections, and
records every CALL, every frame and every schema violation.

    csms = StrictCsms(shared_control_url())
    await csms.start(version="2.0.1")        # or "1.6" (the default), or ("2.0.1", "1.6")
    csms.answers["Authorize"] = {"idTokenInfo": {"status": "Blocked"}}
    boot = await csms.wait_call("BootNotification")
    result = await csms.call("GetVariables", {...})
    await csms.stop(); assert violations_report(csms) is None   # what the fixtures check

One ``node strict_csms.mjs`` serves the whole test run (:func:`shared_control_url`); each
``StrictCsms`` is one control connection with its own endpoints.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import itertools
import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent


class CallErrorReply(Exception):
    """The charge point answered a CALL with a CALLERROR (or it could not be sent)."""

    def __init__(self, code: str, description: str = "", details: Any = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details


@dataclass(frozen=True)
class Error:
    """An answer: a CALLERROR with this code."""

    code: str
    description: str = ""


HOLD = object()  # an answer: never reply

# The versions a test names, as websocket subprotocols.
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


@dataclass(frozen=True)
class Call:
    """A CALL the charge point made."""

    seq: int
    connection: int
    unique_id: str
    action: str
    payload: dict
    protocol: str = "ocpp1.6"  # the subprotocol of its connection


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Backend:
    """What the backend knows: idTags (1.6) and idTokens (2.0.1), the boot answer, transaction ids."""

    # idTagInfo by idTag; an idTag not listed is Invalid.
    id_tags: dict[str, dict] = field(default_factory=dict)
    # OCPP 2.0.1: idTokenInfo by the idToken's value (any type); one not listed is Unknown.
    id_tokens: dict[str, dict] = field(default_factory=dict)
    boot_status: str = "Accepted"
    heartbeat_interval: int = 300
    transaction_ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def id_tag_info(self, id_tag: str) -> dict:
        return dict(self.id_tags.get(id_tag, {"status": "Invalid"}))

    def id_token_info(self, id_token: dict) -> dict:
        return dict(self.id_tokens.get(id_token["idToken"], {"status": "Unknown"}))


def subprotocols(version: str | Sequence[str]) -> list[str]:
    """``"2.0.1"`` or ``("2.0.1", "1.6")`` (the backend's order of preference) as subprotocols."""
    versions = [version] if isinstance(version, str) else list(version)
    unknown = [v for v in versions if v not in SUBPROTOCOL]
    if unknown or not versions:
        raise ValueError(f"OCPP versions are some of {sorted(SUBPROTOCOL)}, not {versions}")
    return [SUBPROTOCOL[v] for v in versions]


class StrictCsms:
    def __init__(self, control_url: str, frames_log: Path | None = None) -> None:
        self._control_url = control_url
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._replies: set[int] = set()  # control commands that answer a CALL (nobody waits for them)
        self._changed = asyncio.Event()
        self._frames_log = frames_log.open("a") if frames_log else None
        self.port = 0
        self.knows = Backend()
        # action -> the answer: a payload (dict), Error, HOLD, or function(payload) -> one of those;
        # overrides the defaults below, whatever the version
        self.answers: dict[str, Any] = {}
        self.protocols: dict[int, str] = {}  # connection -> the subprotocol agreed on
        self.calls: list[Call] = []
        self.replies: dict[int, Any] = {}  # Call.seq -> the answer given to it
        self.frames: list[dict] = []  # {connection, direction: "from_cp" | "to_cp", text}, as sent
        self.events: list[dict] = []  # connected, disconnected, refused, tls_error
        self.violations: list[dict] = []

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self, *, version: str | Sequence[str] = "1.6") -> None:
        """Connect to the backend process and open a ws:// endpoint for ``version``."""
        self._ws = await connect(self._control_url, max_size=None)
        self._reader = asyncio.create_task(self._read(), name="strict-csms-control")
        await self.listen(version=version)

    async def listen(self, *, version: str | Sequence[str] = "1.6", tls: dict | None = None,
                     passwords: list[bytes] | None = None, require_client_cert: bool = False) -> None:
        """A new endpoint (``port``) speaking ``version``: "1.6", "2.0.1", or several in the backend's
        order of preference (("2.0.1", "1.6"): it picks the first the station also offers; a station
        offering none of them is refused). ws://, or wss:// with ``tls`` ({cert, key, ca?}; with ca
        the client's certificate is asked for); with ``passwords``, HTTP Basic authentication with
        one of them is required."""
        reply = await self._command("listen", protocols=subprotocols(version), tls=tls,
                                    passwords=_hex(passwords), require_client_cert=require_client_cert)
        self.port = reply["port"]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._frames_log:
            self._frames_log.close()

    def url(self, scheme: str = "ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    # ---- the control channel --------------------------------------------------------------

    async def _command(self, op: str, **args: Any) -> dict:
        command_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        await self._ws.send(json.dumps({"op": op, "id": command_id, **args}))
        reply = await future
        if not reply["ok"]:
            error = reply["error"]
            raise CallErrorReply(error["code"], error["description"], error.get("details"))
        return reply

    async def _read(self) -> None:
        async for text in self._ws:
            message = json.loads(text)
            if "re" in message:
                if message["re"] in self._replies:
                    self._replies.discard(message["re"])
                    if not message["ok"]:  # the answer a test wrote could not be sent
                        self.violations.append({"by": "test", "error": message["error"]})
                    continue
                future = self._waiting.pop(message["re"], None)
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            kind = message.pop("event")
            if kind == "connected":
                self.protocols[message["connection"]] = message["protocol"]
            if kind == "call":
                call = Call(len(self.calls), message["connection"], message["unique_id"], message["action"],
                            message["params"], self.protocols.get(message["connection"], "ocpp1.6"))
                self.calls.append(call)
                await self._answer(call)
            elif kind == "frame":
                self.frames.append(message)
                if self._frames_log:
                    arrow = "->" if message["direction"] == "from_cp" else "<-"
                    self._frames_log.write(f"{now_iso()} #{message['connection']} {arrow} {message['text']}\n")
                    self._frames_log.flush()
            elif kind == "violation":
                self.violations.append(message)
            else:
                self.events.append({"kind": kind, **message})
            self._changed.set()

    def answer_for(self, call: Call) -> Any:
        """The answer to ``call``: the test's (``answers``), else this backend's default for its version."""
        given = self.answers.get(call.action)
        if given is None:
            prefix = "_answer201_" if call.protocol == "ocpp2.0.1" else "_answer_"
            given = getattr(self, prefix + call.action, None) or {}
        answer = given(call.payload) if callable(given) else given
        return json.loads(json.dumps(answer)) if isinstance(answer, dict) else answer  # a canned payload, copied

    async def _answer(self, call: Call) -> None:
        answer = self.answer_for(call)
        reply: dict[str, Any] = {"connection": call.connection, "unique_id": call.unique_id}
        if answer is HOLD:
            reply["hold"] = True
        elif isinstance(answer, Error):
            reply["error"] = {"code": answer.code, "description": answer.description}
        else:
            reply["result"] = answer
        command_id = next(self._ids)
        self._replies.add(command_id)
        self.replies[call.seq] = answer
        await self._ws.send(json.dumps({"op": "reply", "id": command_id, **reply}))

    # ---- the default answers (a backend that knows ``self.knows``) -----------------------------

    def _answer_BootNotification(self, payload: dict) -> dict:
        return {"status": self.knows.boot_status, "currentTime": now_iso(), "interval": self.knows.heartbeat_interval}

    def _answer_Heartbeat(self, payload: dict) -> dict:
        return {"currentTime": now_iso()}

    def _answer_Authorize(self, payload: dict) -> dict:
        return {"idTagInfo": self.knows.id_tag_info(payload["idTag"])}

    def _answer_StartTransaction(self, payload: dict) -> dict:
        return {"transactionId": next(self.knows.transaction_ids), "idTagInfo": self.knows.id_tag_info(payload["idTag"])}

    def _answer_StopTransaction(self, payload: dict) -> dict:
        return {"idTagInfo": self.knows.id_tag_info(payload["idTag"])} if "idTag" in payload else {}

    def _answer_DataTransfer(self, payload: dict) -> dict:
        return {"status": "UnknownVendorId"}

    def _answer_SignCertificate(self, payload: dict) -> dict:
        return {"status": "Accepted"}

    # OCPP 2.0.1: what a CSMS answers a charging station; an action not here gets {} (valid for the
    # notifications, whose responses have no required field).

    def _answer201_BootNotification(self, payload: dict) -> dict:
        return {"status": self.knows.boot_status, "currentTime": now_iso(), "interval": self.knows.heartbeat_interval}

    def _answer201_Heartbeat(self, payload: dict) -> dict:
        return {"currentTime": now_iso()}

    def _answer201_Authorize(self, payload: dict) -> dict:
        return {"idTokenInfo": self.knows.id_token_info(payload["idToken"])}

    def _answer201_TransactionEvent(self, payload: dict) -> dict:
        # OCPP 2.0.1 Part 2 §1.60.2: idTokenInfo is required when the request contained an idToken.
        return {"idTokenInfo": self.knows.id_token_info(payload["idToken"])} if "idToken" in payload else {}

    def _answer201_DataTransfer(self, payload: dict) -> dict:
        return {"status": "UnknownVendorId"}

    def _answer201_SignCertificate(self, payload: dict) -> dict:
        return {"status": "Accepted"}

    def _answer201_Get15118EVCertificate(self, payload: dict) -> dict:
        return {"status": "Failed", "exiResponse": ""}

    def _answer201_GetCertificateStatus(self, payload: dict) -> dict:
        return {"status": "Failed"}

    def _answer201_NotifyEVChargingNeeds(self, payload: dict) -> dict:
        return {"status": "Rejected"}

    def _answer201_NotifyEVChargingSchedule(self, payload: dict) -> dict:
        return {"status": "Accepted"}

    # ---- what the charge point sent -------------------------------------------------------------

    def mark(self) -> int:
        """A position in the list of CALLs: wait for what comes after it."""
        return len(self.calls)

    def last(self, action: str, *, after: int = 0) -> Call | None:
        return next((c for c in reversed(self.calls[after:]) if c.action == action), None)

    def transaction_id(self, *, after: int = 0) -> int:
        """The transactionId the backend gave the last StartTransaction from ``after`` on."""
        call = self.last("StartTransaction", after=after)
        assert call is not None, "no StartTransaction"
        return self.replies[call.seq]["transactionId"]

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

    async def wait_call(self, action: str, where: Callable[[dict], bool] = lambda p: True, *,
                        after: int = 0, timeout: float = 15.0) -> dict:
        """The payload of the first ``action`` CALL from position ``after`` on that ``where`` accepts."""
        return (await self.wait_for_call(action, where, after=after, timeout=timeout)).payload

    async def wait_for_call(self, action: str, where: Callable[[dict], bool] = lambda p: True, *,
                            after: int = 0, timeout: float = 15.0) -> Call:
        """As ``wait_call``, the whole Call (its ``seq + 1`` is the position after it)."""
        def found():
            return next((c for c in self.calls[after:] if c.action == action and where(c.payload)), None)
        try:
            return await self.wait_for(found, timeout)
        except TimeoutError:
            seen = [f"{c.action} {json.dumps(c.payload)}" for c in self.calls[after:]][-15:]
            raise AssertionError(f"no {action} came within {timeout} s; the charge point sent:\n  "
                                 + "\n  ".join(seen)) from None

    async def wait_status(self, status: str, connector: int = 1, *, after: int = 0, timeout: float = 15.0,
                          error_code: str = "NoError") -> dict:
        return await self.wait_call(
            "StatusNotification",
            lambda p: p["connectorId"] == connector and p["status"] == status and p["errorCode"] == error_code,
            after=after, timeout=timeout)

    def statuses(self, connector: int = 1, *, after: int = 0) -> list[str]:
        return [p["status"] for p in self.calls_of("StatusNotification", after=after) if p["connectorId"] == connector]

    # ---- OCPP 2.0.1 ----------------------------------------------------------------------------

    async def wait_connector_status(self, status: str, evse: int = 1, connector: int = 1, *, after: int = 0,
                                    timeout: float = 15.0) -> dict:
        """The first 2.0.1 StatusNotification of (evse, connector) with connectorStatus ``status``."""
        return await self.wait_call(
            "StatusNotification",
            lambda p: p["evseId"] == evse and p["connectorId"] == connector and p["connectorStatus"] == status,
            after=after, timeout=timeout)

    def connector_statuses(self, evse: int = 1, connector: int = 1, *, after: int = 0) -> list[str]:
        return [p["connectorStatus"] for p in self.calls_of("StatusNotification", after=after)
                if p["evseId"] == evse and p["connectorId"] == connector]

    async def wait_transaction_event(self, event_type: str | None = None,
                                     where: Callable[[dict], bool] = lambda p: True, *, after: int = 0,
                                     timeout: float = 15.0) -> dict:
        """The first TransactionEvent (of ``event_type``: Started, Updated, Ended) that ``where`` accepts."""
        return await self.wait_call(
            "TransactionEvent", lambda p: (event_type is None or p["eventType"] == event_type) and where(p),
            after=after, timeout=timeout)

    def transaction_events(self, transaction_id: str | None = None, *, after: int = 0) -> list[dict]:
        """The TransactionEvents (of one transaction) in the order they came."""
        return [p for p in self.calls_of("TransactionEvent", after=after)
                if transaction_id is None or p["transactionInfo"]["transactionId"] == transaction_id]

    def started_transaction_id(self, *, after: int = 0) -> str:
        """The transactionId of the last TransactionEvent Started from ``after`` on (2.0.1: the station's)."""
        call = next((c for c in reversed(self.calls[after:])
                     if c.action == "TransactionEvent" and c.payload["eventType"] == "Started"), None)
        assert call is not None, "no TransactionEvent Started"
        return call.payload["transactionInfo"]["transactionId"]

    def protocol(self) -> str | None:
        """The subprotocol of the latest connection."""
        return self.protocols[max(self.protocols)] if self.protocols else None

    def events_of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]

    async def wait_event(self, kind: str, where: Callable[[dict], bool] = lambda e: True, *, after: int = 0,
                         timeout: float = 15.0) -> dict:
        return await self.wait_for(lambda: next((e for e in self.events[after:] if e["kind"] == kind and where(e)), None),
                                   timeout)

    async def connected(self, *, after: int = 0, timeout: float = 20.0) -> dict:
        return await self.wait_event("connected", after=after, timeout=timeout)

    # ---- what the backend does ------------------------------------------------------------------

    async def call(self, action: str, payload: dict, *, timeout: float = 15.0) -> dict:
        """Send ``action`` to the charge point; its CALLRESULT payload, or CallErrorReply."""
        reply = await self._command("call", action=action, params=payload, timeout_ms=int(timeout * 1000))
        return reply["result"]

    async def barrier(self) -> None:
        """A round trip through the station's queue of CALLs: a Heartbeat it is asked for now comes
        after what it had decided to send before (one CALL at a time, OCPP-J §4.1.1; the same
        TriggerMessage payload in 1.6 and 2.0.1). Use before checking that something was NOT sent."""
        mark = self.mark()
        result = await self.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert result["status"] == "Accepted", result
        await self.wait_call("Heartbeat", after=mark)

    async def send_raw(self, text: str) -> None:
        await self._command("raw", text=text)

    async def drop_connection(self) -> None:
        """Close the charge point's connection at once, as a lost network does."""
        await self._command("close")

    async def refuse_connections(self, refuse: bool) -> None:
        """While True, every new connection is refused (HTTP 503): the backend is unreachable."""
        await self._command("refuse", value=refuse)

    async def go_offline(self) -> None:
        mark = len(self.events)
        await self.refuse_connections(True)
        await self.drop_connection()
        await self.wait_event("disconnected", after=mark)

    async def go_online(self) -> dict:
        mark = len(self.events)
        await self.refuse_connections(False)
        return await self.connected(after=mark, timeout=30)

    async def expect_passwords(self, passwords: list[bytes] | None) -> None:
        await self._command("passwords", passwords=_hex(passwords))

    async def require_client_cert(self, value: bool) -> None:
        await self._command("require_client_cert", value=value)

    async def present_server_cert(self, cert: str, key: str) -> None:
        await self._command("server_cert", cert=cert, key=key)

    async def tls_versions(self, minimum: str, maximum: str) -> None:
        """The TLS versions the TLS endpoints speak from the next handshake on ("TLSv1" .. "TLSv1.3")."""
        await self._command("tls_versions", min=minimum, max=maximum)


def _hex(passwords: list[bytes] | None) -> list[str] | None:
    return None if passwords is None else [p.hex() for p in passwords]


def violations_report(backend: StrictCsms) -> str | None:
    """None, or what a test's teardown fails with: every schema (or OCPP-J) violation it saw."""
    if not backend.violations:
        return None
    shown = "\n".join(json.dumps(v) for v in backend.violations[:10])
    return f"the strict backend saw {len(backend.violations)} schema violation(s):\n{shown}"


_shared: tuple[subprocess.Popen, str] | None = None


def shared_control_url() -> str:
    """The control URL of the one ``node strict_csms.mjs`` of this test run (started on first use,
    stopped when the run's interpreter exits): the 1.6 and 2.0.1 suites share it."""
    global _shared
    if _shared is None or _shared[0].poll() is not None:
        _shared = start_backend_process()
        atexit.register(_stop_process, _shared[0])
    return _shared[1]


def _stop_process(proc: subprocess.Popen) -> None:
    with contextlib.suppress(Exception):
        proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_backend_process() -> tuple[subprocess.Popen, str]:
    """``node strict_csms.mjs``; (process, control URL). Its stdin is kept open: closing it stops it."""
    if not (HERE / "node_modules" / "ocpp-rpc").is_dir():
        raise RuntimeError(f"{HERE / 'node_modules'} is missing: run `.ci/dev setup` (or `npm ci` in {HERE})")
    proc = subprocess.Popen(["node", str(HERE / "strict_csms.mjs")], cwd=HERE, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise RuntimeError(f"strict_csms.mjs exited with {proc.returncode} before listening")
    return proc, f"ws://127.0.0.1:{json.loads(line)['control_port']}"
