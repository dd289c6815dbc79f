"""The link misbehaving: backends that accept and drop at once, links that die silently,
answers that never come; in OCPP 1.6 and in OCPP 2.0.1 (against the ``ocpp`` library's CSMS)."""

from __future__ import annotations

import asyncio
import time

import pytest
from ocpp.v201 import call_result
from ocpp_csms import ConnectedEvent
from websockets.asyncio.server import serve
from websockets.typing import Subprotocol

from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.proxy import CuttableProxy
from tests.integration.test_session_flow import booted, evse
from tests.ocpp201.conftest import library_csms  # noqa: F401  (the fixture)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_backend_that_accepts_and_drops_at_once_is_not_hammered(sim, make_agent, version):
    arrivals: list[float] = []
    enough = asyncio.Event()

    async def accept_and_close(ws):
        arrivals.append(time.monotonic())
        if len(arrivals) >= 8:
            enough.set()
        await ws.close()

    async with serve(accept_and_close, "127.0.0.1", 0, subprotocols=[Subprotocol(f"ocpp{version}")]) as server:
        port = server.sockets[0].getsockname()[1]
        # reconnect_min_s = 0.2, reconnect_max_s = 1 in the test config
        await make_agent(port, card_reader=False, extra_ocpp=f'versions = ["ocpp{version}"]')
        await asyncio.wait_for(enough.wait(), 30)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # websockets' own reconnect would come back within milliseconds every time (its backoff
    # resets after each handshake); ours keeps backing off: never under the minimum, and
    # spread out by its jitter.
    assert min(gaps) >= 0.19, gaps
    assert len({round(g, 2) for g in gaps}) > 3, gaps


async def test_a_silently_dead_link_is_detected_by_ping_and_replaced(sim, csms, proxy, make_agent):
    await make_agent(proxy.port, card_reader=False, extra_keys="WebSocketPingInterval = 1")
    await booted(csms)
    assert proxy.connections == 1
    proxy.freeze()
    # Nothing was closed: only the missing pong can tell the agent; it then connects anew.
    await proxy.wait_connections(2, timeout=20)
    mark = len(csms.recorder.events)
    proxy.thaw()
    await csms.recorder.wait_for(lambda e: isinstance(e, ConnectedEvent), after=mark, timeout=20)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    assert await cp.async_remote_start_transaction("AFTER", connector_id=1) == "Accepted"
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)


async def test_a_call_pending_when_the_link_drops_is_sent_again_at_once(sim, raw_csms, make_agent, tmp_path):
    from tests.integration.proxy import CuttableProxy

    proxy = CuttableProxy("127.0.0.1", raw_csms.port)
    await proxy.start()
    answered = asyncio.Event()

    def hold_start(payload):
        answered.set()
        return ("hold", None)

    raw_csms.answer["StartTransaction"] = hold_start
    # The response timeout is 60 s here, longer than the wait for the resend below (20 s): a
    # call that waited it out fails the test by the order of events, with no time measured.
    config = tmp_path / "agent.toml"
    text = agent_config(modbus_port=sim.modbus_port, csms_port=proxy.port, data_dir=tmp_path / "data", card_reader=False)
    assert text.count("response_timeout_s = 5\n") == 1
    config.write_text(text.replace("response_timeout_s = 5\n", "response_timeout_s = 60\n"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    try:
        await agent.start()
        await raw_csms.connected()
        sim.plug(1)
        uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "PENDING", "connectorId": 1})
        await raw_csms.response_to(uid)
        await answered.wait()
        first = raw_csms.calls("StartTransaction")[0]
        raw_csms.answer.pop("StartTransaction")
        proxy.cut()
        proxy.restore()
        again = await raw_csms.wait_for(
            lambda f: f[0] == 2 and f[2] == "StartTransaction" and f is not first, timeout=20,
            after=raw_csms.received.index(first) + 1,
        )
        assert again[1] == first[1]  # the same message, resent with its message id
    finally:
        await agent.stop()
        await proxy.stop()


# ---- OCPP 2.0.1: the same link faults against the ``ocpp`` library's CSMS side ----------------

AS_201 = 'versions = ["ocpp2.0.1"]'


async def test_a_silently_dead_link_is_detected_by_ping_and_replaced_in_201(sim, library_csms, make_agent):  # noqa: F811
    proxy = CuttableProxy("127.0.0.1", library_csms.port)
    await proxy.start()
    try:
        await make_agent(proxy.port, card_reader=False, extra_keys="WebSocketPingInterval = 1", extra_ocpp=AS_201)
        await library_csms.wait_call("StatusNotification", timeout=30)  # registered
        assert proxy.connections == 1
        mark = library_csms.mark()
        proxy.freeze()
        # Nothing was closed: only the missing pong can tell the agent; it then connects anew.
        await proxy.wait_connections(2, timeout=20)
        proxy.thaw()
        await library_csms.wait_call("Heartbeat", after=mark, timeout=20)  # online again (registered before)
        library_csms.knows.id_tokens["AFTER"] = {"status": "Accepted"}
        sim.plug(1)
        started = await library_csms.request(
            "RequestStartTransaction", {"idToken": {"idToken": "AFTER", "type": "Central"}, "remoteStartId": 1})
        assert started["status"] == "Accepted"
        await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    finally:
        await proxy.stop()


async def test_a_call_pending_when_the_link_drops_is_sent_again_at_once_in_201(sim, library_csms, tmp_path):  # noqa: F811
    proxy = CuttableProxy("127.0.0.1", library_csms.port)
    await proxy.start()
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(payload):
        held.set()
        await release.wait()  # the connection is gone by then: this answer goes nowhere
        return call_result.TransactionEvent()

    library_csms.answers["TransactionEvent"] = hold
    library_csms.knows.id_tokens["PENDING"] = {"status": "Accepted"}
    # The response timeout is 60 s here, longer than the wait for the resend below (20 s): a
    # call that waited it out fails the test by the order of events, with no time measured.
    config = tmp_path / "agent.toml"
    text = agent_config(modbus_port=sim.modbus_port, csms_port=proxy.port, data_dir=tmp_path / "data",
                        card_reader=False, extra_ocpp=AS_201)
    assert text.count("response_timeout_s = 5\n") == 1
    config.write_text(text.replace("response_timeout_s = 5\n", "response_timeout_s = 60\n"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    try:
        await agent.start()
        await library_csms.wait_call("StatusNotification", timeout=30)  # registered
        sim.plug(1)
        answer = await library_csms.request(
            "RequestStartTransaction", {"idToken": {"idToken": "PENDING", "type": "Central"}, "remoteStartId": 1})
        assert answer["status"] == "Accepted"
        await asyncio.wait_for(held.wait(), 20)
        first = next(c for c in library_csms.calls if c.action == "TransactionEvent")
        assert first.payload["eventType"] == "Started"
        library_csms.answers.pop("TransactionEvent")
        proxy.cut()
        proxy.restore()
        again = await library_csms.wait_for(
            lambda: next((c for c in library_csms.calls[first.seq + 1:] if c.action == "TransactionEvent"), None),
            timeout=20)
        assert again.unique_id == first.unique_id  # the same message, resent with its message id
        assert again.payload == first.payload
    finally:
        release.set()
        await agent.stop()
        await proxy.stop()
