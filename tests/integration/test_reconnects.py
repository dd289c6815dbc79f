"""What a reconnect does and does not do (README, Reliability): it does not re-boot
(BootNotification once per start of the agent, a Heartbeat syncs the clock instead), and the
link forgets past failures only once a connection has lasted (30 s in the product)."""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import serve

from agent.backend.link import Link, ReconnectBackoff
from tests.integration.test_session_flow import evse


async def test_a_reconnect_sends_a_heartbeat_and_no_boot_notification(sim, raw_csms, make_agent):
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StatusNotification")
    mark = len(raw_csms.received)
    await raw_csms.ws.close()  # the backend drops the connection; the agent comes back
    # (StatusNotifications of the first connection may still arrive after the mark.)
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "Heartbeat", after=mark, timeout=20)
    assert raw_csms.connections == 2
    assert len(raw_csms.calls("BootNotification")) == 1  # the clock synced by the Heartbeat
    # The new connection carries on as usual: a remote start is answered and starts.
    sim.plug(1)
    answer = await raw_csms.response_to(await raw_csms.call("RemoteStartTransaction", {"idTag": "TAG-1"}))
    assert answer[2] == {"status": "Accepted"}
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction", after=mark)
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    assert len(raw_csms.calls("BootNotification")) == 1


async def test_the_link_forgets_past_failures_once_a_connection_has_lasted():
    """A real websocket server that accepts and closes at once four times, then keeps the
    fifth connection open past the link's stable time, then drops it: the attempts before
    count up, the lasting connection clears them."""
    stable_s = 1.0
    seen_failures: list[int] = []
    arrived = asyncio.Event()
    link: Link

    async def handler(ws) -> None:
        seen_failures.append(link.backoff.failures)
        arrived.set()
        if len(seen_failures) == 5:
            await asyncio.sleep(stable_s * 1.5)  # this connection lasts: the backend is fine again
        await ws.close()

    async def session(subprotocol, ws) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        link = Link(f"ws://127.0.0.1:{port}/ocpp/CP-1", ["ocpp1.6"], session, ping_interval_s=lambda: 0,
                    reconnect_min_s=0.01, reconnect_max_s=0.05,
                    backoff=ReconnectBackoff(0.01, 0.05, stable_after_s=stable_s))
        task = asyncio.create_task(link.run())
        try:
            async with asyncio.timeout(20):
                while len(seen_failures) < 7:
                    arrived.clear()
                    await arrived.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert seen_failures == [0, 1, 2, 3, 4, 1, 2]
