"""Rounds of charging sessions under injected faults, with the books checked at the end, in
OCPP 1.6 and in OCPP 2.0.1.

Each round charges one session (its own idTag / idToken) and, at a random point, does one of:
SIGKILL of the agent (restarted at once, or after the EV left), a network cut, a silent
meter or board, a burst of bad frames from the backend, or nothing. At the end every
session must have reached the backend exactly once, started and stopped, with the meter at its
stop equal to the simulated meter. In 2.0.1 (the ``ocpp`` library's central-system side,
tests/faults/ledger201.py) every transaction's TransactionEvents arrive once each, seqNo
0, 1, 2, ..., Started first and Ended last, and the energy the simulator delivered is all
between a transaction's Transaction.Begin and Transaction.End registers (no energy offered
without a stored transaction). The figures are printed, e.g.

    faults: 4 kills, 3 network cuts, 2 device faults, 40 bad frames, 12 sessions,
    0 transactions lost, 0 duplicated, 0 crashes (2 resends recognised by message id)

Quick by default (FAULT_ROUNDS=12 in each version); set FAULT_ROUNDS=500 FAULT_SEED=n for the
long run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import Counter
from typing import ClassVar

import pytest

from tests.faults.ledger import LedgerCsms
from tests.faults.ledger201 import Ledger201
from tests.integration.proxy import CuttableProxy
from tests.integration.test_session_flow import evse

ROUNDS = int(os.environ.get("FAULT_ROUNDS", "12"))
SEED = int(os.environ.get("FAULT_SEED", "20261125"))

BAD_FRAMES = [
    "not json at all",
    "[]",
    "[2]",
    '[2,"x"]',
    '[2,"b1","Heartbeat"]',
    '[2,"b2","NoSuchAction",{}]',
    '[2,"b3","RemoteStopTransaction",{}]',
    '[2,"b4","RemoteStopTransaction",{"transactionId":"NaN"}]',
    '[2,"b5","ChangeConfiguration",{"key":"HeartbeatInterval","value":"-1"}]',
    '[2,"b6","ChangeAvailability",{"connectorId":99,"type":"Inoperative"}]',
    '[3,"never-sent",{}]',
    '[4,"never-sent","InternalError","",{}]',
    '[2,"b7","GetConfiguration",{"key":' + json.dumps(["K" * 60] * 200) + "}]",
    '[2,"b8","DataTransfer",{"vendorId":"' + "v" * 300 + '"}]',
    '{"not": "an array"}',
    '[2,"b9","RemoteStartTransaction",{"idTag":"' + "X" * 21 + '"}]',
]

# The same faults in OCPP 2.0.1 (none of them may end the session).
BAD_FRAMES_201 = [
    "not json at all",
    "[]",
    "[2]",
    '[2,"x"]',
    '[2,"b1","Heartbeat"]',
    '[2,"b2","NoSuchAction",{}]',
    '[2,"b3","RequestStopTransaction",{}]',
    '[2,"b4","RequestStopTransaction",{"transactionId":5}]',
    ('[2,"b5","SetVariables",{"setVariableData":[{"component":{"name":"OCPPCommCtrlr"},'
     '"variable":{"name":"HeartbeatInterval"},"attributeValue":"-1"}]}]'),
    '[2,"b6","ChangeAvailability",{"operationalStatus":"Inoperative","evse":{"id":99}}]',
    '[3,"never-sent",{}]',
    '[4,"never-sent","InternalError","",{}]',
    '[2,"b7","GetVariables",{"getVariableData":'
    + json.dumps([{"component": {"name": "K" * 50}, "variable": {"name": "K" * 50}}] * 200) + "}]",
    '[2,"b8","DataTransfer",{"vendorId":"' + "v" * 300 + '"}]',
    '{"not": "an array"}',
    '[2,"b9","RequestStartTransaction",{"idToken":{"idToken":"' + "X" * 37 + '","type":"Central"},"remoteStartId":1}]',
]

# OCPP-J 2.0.1 §4.3 RPC framework error codes (1.6's FormationViolation is FormatViolation here).
ERROR_CODES_201 = {"FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
                   "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation",
                   "ProtocolError", "RpcFrameworkError", "SecurityError", "TypeConstraintViolation"}


async def _try(coro):
    try:
        return await coro
    except Exception:  # noqa: BLE001  (a link that is down fails in many ways; the caller tries again)
        return None


class Books16:
    """OCPP 1.6: the raw ledger backend (tests/faults/ledger.py)."""

    version = "1.6"
    rounds = ROUNDS
    agent_options: ClassVar[dict] = {}

    def __init__(self) -> None:
        self.backend = LedgerCsms()

    async def online(self, timeout: float = 30.0) -> None:
        """Until the agent has a working connection (it answered something on the current one)."""
        ledger = self.backend
        async with asyncio.timeout(timeout):
            while True:
                uid = await _try(ledger.call("GetConfiguration", {"key": ["HeartbeatInterval"]}))
                if uid is not None and await _try(ledger.response_to(uid, timeout=2)) is not None:
                    return
                await ledger.wait_for(lambda f: True, timeout=timeout, after=len(ledger.received))

    async def remote_start(self, tag: str) -> None:
        ledger = self.backend
        async with asyncio.timeout(30):
            while True:
                uid = await ledger.call("RemoteStartTransaction", {"idTag": tag, "connectorId": 1})
                reply = await ledger.response_to(uid)
                if reply[0] == 3 and reply[2]["status"] == "Accepted":
                    return
                await ledger.wait_for(lambda f: True, after=len(ledger.received))  # the unplug not seen yet

    def mark(self) -> int:
        return len(self.backend.received)

    async def device_fault_reported(self, kind: str, mark: int) -> None:
        # The agent reports it (an EVSE-DIN that cannot be reached keeps its relay as it
        # was: it has no fail-safe of its own; a silent meter makes the agent stop the offer).
        code = "E-METER-COMM" if kind == "meter" else "E-BOARD-COMM"
        await self.backend.wait_for(
            lambda f: f[0] == 2 and f[2] == "StatusNotification" and f[3].get("vendorErrorCode") == code,
            timeout=20, after=mark)

    async def bad_frames(self, rng: random.Random) -> int:
        for text in rng.sample(BAD_FRAMES, 6):
            await self.backend.send(text)
        return 6

    async def stopped(self, tag: str) -> None:
        """The stop must arrive before the next EV plugs in (the agent sees every unplug)."""
        ledger = self.backend
        await ledger.wait_for(
            lambda f: f[0] == 2 and f[2] == "StopTransaction"
            and ledger.session_of(tag) is not None and ledger.session_of(tag).stops,
            timeout=60, after=0)

    def check(self, expected: dict[str, tuple[float, float]]) -> tuple[str, list]:
        ledger = self.backend
        lost = [t for t in expected if (s := ledger.session_of(t)) is None or not s.stops]
        duplicated = ledger.duplicates + sum(len(s.stops) - 1 for s in ledger.sessions.values() if len(s.stops) > 1)
        wrong_meter = [
            (t, end, ledger.session_of(t).stops[0]["meterStop"]) for t, (_, end) in expected.items()
            if t not in lost and abs(ledger.session_of(t).stops[0]["meterStop"] - end) > 1
        ]
        figures = (f"{len(lost)} transactions lost, {duplicated} duplicated",
                   (f"{ledger.resends} resends recognised by message id, "
                    f"{ledger.unknown_transaction} messages for unknown transactions"))
        problems = [("lost", lost)] * bool(lost) + [("duplicated", duplicated)] * bool(duplicated) \
            + [("wrong meter", wrong_meter)] * bool(wrong_meter) \
            + [("unknown transaction", ledger.unknown_transaction)] * bool(ledger.unknown_transaction)
        return figures, problems


class Books201:
    """OCPP 2.0.1: the ``ocpp`` library's CSMS keeping TransactionEvents by message id."""

    version = "2.0.1"
    rounds = ROUNDS
    agent_options: ClassVar[dict] = {"extra_ocpp": 'versions = ["ocpp2.0.1"]'}

    def __init__(self) -> None:
        self.backend = Ledger201()
        self._remote_start_ids = iter(range(1, 1_000_000))

    async def online(self, timeout: float = 30.0) -> None:
        ledger = self.backend
        request = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                        "variable": {"name": "HeartbeatInterval"}}]}
        async with asyncio.timeout(timeout):
            while True:
                mark = len(ledger.frames)
                if ledger.stations and await _try(ledger.request("GetVariables", request, timeout=2)) is not None:
                    return
                await ledger.wait_for(lambda seen=mark: len(ledger.frames) > seen + 1, timeout=timeout)  # more than our request

    async def remote_start(self, tag: str) -> None:
        ledger = self.backend
        ledger.knows.id_tokens[tag] = {"status": "Accepted"}
        request = {"idToken": {"idToken": tag, "type": "Central"}, "remoteStartId": next(self._remote_start_ids),
                   "evseId": 1}
        async with asyncio.timeout(30):
            while (await ledger.request("RequestStartTransaction", request))["status"] != "Accepted":
                mark = len(ledger.frames)  # the unplug not seen yet: until the station says more
                await ledger.wait_for(lambda seen=mark: len(ledger.frames) > seen)

    def mark(self) -> int:
        return len(self.backend.calls)

    async def device_fault_reported(self, kind: str, mark: int) -> None:
        # 2.0.1 reports a failing part as its Problem (NotifyEvent of the hard-wired monitor,
        # agent/ocpp201/monitoring.py): the meter's FiscalMetering, the board's EVSE.
        part = "FiscalMetering" if kind == "meter" else "EVSE"
        await self.backend.wait_call(
            "NotifyEvent", lambda p: any(e["component"]["name"] == part and e["variable"]["name"] == "Problem"
                                         and e["actualValue"] == "true" for e in p["eventData"]),
            after=mark, timeout=20)

    async def bad_frames(self, rng: random.Random) -> int:
        """Bad frames, and every CALL among them answered with a 2.0.1 CALLRESULT or CALLERROR."""
        sent = rng.sample(BAD_FRAMES_201, 6)
        for text in sent:
            await self.backend.send_raw(text)
        for text in sent:
            message = _parsed(text)
            if isinstance(message, list) and len(message) == 4 and message[0] == 2:
                reply = await self.backend.response_to(message[1])
                assert reply[0] == 3 or reply[2] in ERROR_CODES_201, reply
        return 6

    async def stopped(self, tag: str) -> None:
        ledger = self.backend
        await ledger.wait_for(lambda: (t := ledger.transaction_of(tag)) is not None and "Ended" in t.event_types,
                              timeout=60)

    def check(self, expected: dict[str, tuple[float, float]]) -> tuple[str, list]:
        ledger = self.backend
        lost = [t for t in expected if (tx := ledger.transaction_of(t)) is None or "Ended" not in tx.event_types]
        broken = {tx.transaction_id: tx.problems() for tx in ledger.transactions.values() if tx.problems()}
        strangers = [tx.transaction_id for tx in ledger.transactions.values() if tx.id_token not in expected]
        wrong_meter = []
        for tag, (begin, end) in expected.items():
            tx = ledger.transaction_of(tag)
            if tx is None or tag in lost:
                continue
            registers = (tx.register("Transaction.Begin"), tx.register("Transaction.End"))
            if None in registers or abs(registers[0] - begin) > 1 or abs(registers[1] - end) > 1:
                wrong_meter.append((tag, (begin, end), registers))
        figures = (f"{len(lost)} transactions lost, {ledger.duplicates} duplicated",
                   f"{ledger.resends} resends recognised by message id")
        problems = [("lost", lost)] * bool(lost) + [("duplicated", ledger.duplicates)] * bool(ledger.duplicates) \
            + [("seqNo / event order", broken)] * bool(broken) + [("wrong meter", wrong_meter)] * bool(wrong_meter) \
            + [("transactions of no session", strangers)] * bool(strangers)
        return figures, problems


def _parsed(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.fixture(params=[Books16, Books201], ids=["1.6", "2.0.1"])
async def books(request):
    keeper = request.param()
    await keeper.backend.start()
    yield keeper
    await keeper.backend.stop()


@pytest.mark.timeout(120 + ROUNDS * 10)
async def test_fault_rounds(sim, books, make_agent):
    rng = random.Random(SEED)
    proxy = CuttableProxy("127.0.0.1", books.backend.port)
    await proxy.start()
    counts = Counter()
    expected: dict[str, tuple[float, float]] = {}  # idTag -> the meter when its session started, ended
    last_end = None  # the meter when the last session ended
    try:
        agent = await make_agent(proxy.port, card_reader=False, **books.agent_options)
        for n in range(books.rounds):
            tag = f"ROUND{n:04d}"
            await books.online()
            sim.plug(1)
            start_energy = evse(sim.state())["energy_wh"]
            if last_end is not None:  # no energy between the sessions: the meter stands where the last one ended
                assert abs(start_energy - last_end) <= 1, (start_energy, last_end)
            await books.remote_start(tag)
            await sim.wait_for(lambda s, e0=start_energy: evse(s)["contactor_closed"] and evse(s)["energy_wh"] > e0 + 3,
                               timeout=20)
            fault = rng.choice(["kill", "kill_unplugged", "cut", "meter", "board", "frames", "none"])
            counts[fault] += 1
            if fault == "kill":
                await agent.kill()
                await agent.start()
            elif fault == "cut":
                proxy.cut()
            elif fault in ("meter", "board"):
                mark = books.mark()
                sim.inject_fault(1, "meter_comm" if fault == "meter" else "comm")
                await books.device_fault_reported(fault, mark)
                sim.clear_fault(1)
            elif fault == "frames":
                counts["bad_frames"] += await books.bad_frames(rng)
            if fault == "kill_unplugged":
                await agent.kill()
                sim.unplug(1)
                final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
                await agent.start()
            else:
                if fault != "cut":
                    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=20)
                sim.unplug(1)
                final = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
            expected[tag] = (round(start_energy), round(evse(final)["energy_wh"]))
            last_end = evse(final)["energy_wh"]
            if fault == "cut":
                proxy.restore()
            await books.stopped(tag)
            if agent.proc.returncode is not None:
                counts["crashes"] += 1
                await agent.start()
    finally:
        await proxy.stop()

    (lost_duplicated, resends), problems = books.check(expected)
    print(
        f"\nfaults (OCPP {books.version}): {counts['kill'] + counts['kill_unplugged']} kills, "
        f"{counts['cut']} network cuts, {counts['meter'] + counts['board']} device faults, "
        f"{counts['bad_frames']} bad frames, {len(expected)} sessions, {lost_duplicated}, "
        f"{counts['crashes']} crashes ({resends}, seed {SEED})"
    )
    assert not problems, problems
    assert counts["crashes"] == 0
