"""agent.ocppj.connection's own CALL path (send_call): the answer taken from the parsed frame
and applied, errors as the library raises them, and LinkDown at once when the connection
closes (not after the response timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import TypeConstraintViolationError
from ocpp.v16 import call, call_result
from websockets.asyncio.client import connect

from agent.ocpp16.connection import ChargePoint16, LinkDown
from tests.integration.raw_csms import RawCsms


@contextlib.asynccontextmanager
async def connection(peer: RawCsms, response_timeout: float = 30):
    async with connect(f"ws://127.0.0.1:{peer.port}/CP1", subprotocols=["ocpp1.6"]) as ws:
        cp = ChargePoint16("CP1", ws, [], response_timeout)
        receiver = asyncio.create_task(cp.start())
        try:
            yield cp, ws
        finally:
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver


@pytest.fixture
async def peer():
    raw = RawCsms()
    await raw.start()
    yield raw
    await raw.stop()


async def test_results_and_errors_as_the_library_gives_them(peer):
    peer.answer["Heartbeat"] = lambda payload: ("result", {"currentTime": 5})  # wrong type
    peer.answer["DataTransfer"] = lambda payload: ("error", "NotImplemented")
    async with connection(peer) as (cp, _):
        applied = []
        answer = await cp.send_call(call.StartTransaction(connector_id=1, id_tag="T", meter_start=0,
                                                          timestamp="2025-01-01T00:00:00Z"), apply=applied.append)
        assert answer == call_result.StartTransaction(transaction_id=100, id_tag_info={"status": "Accepted"})
        assert applied == [answer]
        with pytest.raises(TypeConstraintViolationError):  # the answer is validated too
            await cp.send_call(call.Heartbeat())
        with pytest.raises(OcppNotImplemented):  # the library's exception for the code
            await cp.send_call(call.DataTransfer(vendor_id="v"))
        with pytest.raises(TypeConstraintViolationError):  # never sent
            await cp.send_call(call.Authorize(id_tag="X" * 21))
        # Several callers at once: each gets its own answer (the call lock sends one at a time).
        calls = [cp.send_call(call.Authorize(id_tag=f"T{n}")) for n in range(5)]
        assert len(await asyncio.gather(*calls)) == 5
    sent = [f for f in peer.received if f[0] == 2]
    assert [f[2] for f in sent].count("Authorize") == 5 and not any(f[3].get("idTag") == "X" * 21 for f in sent)


async def test_a_closed_connection_ends_the_waiting_call_at_once(peer):
    peer.answer["Heartbeat"] = lambda payload: ("hold", None)
    async with connection(peer, response_timeout=60) as (cp, _):
        waiting = asyncio.create_task(cp.send_call(call.Heartbeat()))
        await peer.wait_for(lambda f: f[0] == 2 and f[2] == "Heartbeat")
        await peer.ws.close()
        with pytest.raises(LinkDown):
            await asyncio.wait_for(waiting, 10)  # not the 60 s response timeout
        with pytest.raises(LinkDown):
            await cp.send_call(call.Heartbeat())


async def test_no_answer_in_time_is_a_timeout_and_the_next_call_goes(peer):
    held = {"first": True}

    def heartbeat(payload):
        if held.pop("first", False):
            return ("hold", None)  # never answered
        return ("result", {"currentTime": "2025-01-01T00:00:00Z"})

    peer.answer["Heartbeat"] = heartbeat
    async with connection(peer, response_timeout=0.2) as (cp, _):
        with pytest.raises(TimeoutError, match="Waited 0.2s for response on"):
            await cp.send_call(call.Heartbeat())
        answer = await cp.send_call(call.Heartbeat())  # the lock was released, the timer is gone
        assert answer.current_time == "2025-01-01T00:00:00Z"


class FollowUp:
    """What the outbox's confirmation returns (agent/backend/outbox.py ``_Following``)."""

    def __init__(self, request, applied: list) -> None:
        self.request = request
        self.applied = applied
        self.sent = False

    def apply(self, answer):
        self.applied.append(answer)

    def went_out(self) -> None:
        self.sent = True


def start_transaction():
    return call.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp="2025-01-01T00:00:00Z")


async def test_the_call_an_answer_names_goes_out_from_the_receive_loop(peer):
    async with connection(peer) as (cp, _):
        applied: list = []
        follow_up = FollowUp(cp.prepare_call(call.Authorize(id_tag="NEXT"), "next-1"), applied)

        def confirmed(answer):
            applied.append(answer)
            return follow_up

        first = await cp.send_call(start_transaction(), apply=confirmed)
        assert follow_up.sent  # before its caller asked for it
        await peer.wait_for(lambda f: f[0] == 2 and f[1] == "next-1")  # on the wire
        second = await cp.send_call(follow_up.request)  # takes the answer of the CALL in flight
        assert applied == [first, second] and second.id_tag_info == {"status": "Accepted"}
        assert await asyncio.wait_for(cp.send_call(call.Heartbeat()), 10)  # the turn was passed on
    frames = [f for f in peer.received if f[0] == 2]
    assert [f[2] for f in frames] == ["StartTransaction", "Authorize", "Heartbeat"]
    assert [f[1] for f in frames].count("next-1") == 1  # sent once


async def test_a_caller_waiting_for_the_turn_goes_before_a_follow_up(peer):
    peer.answer["StartTransaction"] = lambda payload: ("hold", None)
    async with connection(peer) as (cp, _):
        applied: list = []
        follow_up = FollowUp(cp.prepare_call(call.Authorize(id_tag="NEXT"), "next-1"), applied)
        first = asyncio.create_task(cp.send_call(start_transaction(), apply=lambda answer: follow_up))
        held = await peer.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction")
        heartbeat = asyncio.create_task(cp.send_call(call.Heartbeat()))
        while not cp._call_lock.wanted:  # the heartbeat waits for the turn
            await asyncio.sleep(0)
        await peer.send(json.dumps([3, held[1], {"transactionId": 5, "idTagInfo": {"status": "Accepted"}}]))
        await asyncio.wait_for(asyncio.gather(first, heartbeat), 10)
        assert not follow_up.sent  # so its caller sends it, in turn
        await asyncio.wait_for(cp.send_call(follow_up.request), 10)
    assert [f[2] for f in peer.received if f[0] == 2] == ["StartTransaction", "Heartbeat", "Authorize"]
