"""A CALLRESULT is applied before the next CALL from the backend is handled.

A backend may send StartTransaction.conf and, right after it, RemoteStopTransaction for the
transaction id it just gave (OCPP 1.6 §5.12): the charge point has received the id first,
so it must know it. The ocpp library's receive loop queues the CALLRESULT for the waiting
``call()`` and goes straight on to the next frame; the waiting code resumes only later. With
the library's thread-pool validation that is a race (the stop is refused about one time in
three here); without the thread hops (agent.ocppj) the stop is refused every time. The
connection now applies the answer before it reads the next frame (agent/ocppj/connection.py).
"""

from __future__ import annotations

import asyncio


async def test_remote_stop_sent_right_after_the_start_confirmation_is_accepted(sim, raw_csms, make_agent):
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    stop_sent: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def stop_at_once() -> None:
        stop_sent.set_result(await raw_csms.call("RemoteStopTransaction", {"transactionId": 100}))

    def answer_start(payload: dict):
        # Runs before the peer sends this answer; the stop goes out right after it.
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(stop_at_once()))
        return ("result", {"transactionId": 100, "idTagInfo": {"status": "Accepted"}})

    raw_csms.answer["StartTransaction"] = answer_start
    sim.plug(1)
    started = await raw_csms.call("RemoteStartTransaction", {"idTag": "T", "connectorId": 1})
    assert (await raw_csms.response_to(started))[2] == {"status": "Accepted"}
    stop = await asyncio.wait_for(stop_sent, 15)
    reply = await raw_csms.response_to(stop)
    assert reply[2] == {"status": "Accepted"}
