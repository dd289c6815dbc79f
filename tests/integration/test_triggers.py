"""TriggerMessage (OCPP 1.6 §5.17) and ExtendedTriggerMessage (Security Whitepaper §5.5) through
the agent process, the simulator and the bare peer (tests/integration/raw_csms.py): the answer
says what is sent, and a flood of triggers costs bounded memory and holds nothing else up."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from tests.integration.test_session_flow import evse

FOLLOW_UPS = {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "DiagnosticsStatusNotification",
              "FirmwareStatusNotification", "SignedFirmwareStatusNotification", "LogStatusNotification", "SignCertificate"}


def is_call(action: str, **fields):
    return lambda f: f[0] == 2 and f[2] == action and all(f[3].get(k) == v for k, v in fields.items())


async def idle_and_reported(raw_csms) -> None:
    """Booted, and the first StatusNotifications (connector 0 and 1) are in."""
    await raw_csms.connected()
    await raw_csms.wait_for(is_call("StatusNotification", connectorId=1))
    await raw_csms.wait_for(is_call("StatusNotification", connectorId=0))


async def triggered(raw_csms, requested: str, connector_id: int | None = None, *, action: str = "TriggerMessage"):
    """The answer to one trigger, and every CALL the agent sent because of it: a Heartbeat
    trigger follows it as a fence, and triggered messages go out in order, so by the time
    the fence's Heartbeat arrives everything the first one caused has been sent."""
    payload = {"requestedMessage": requested} | ({} if connector_id is None else {"connectorId": connector_id})
    mark = len(raw_csms.received)
    answer = (await raw_csms.response_to(await raw_csms.call(action, payload)))[2]["status"]
    fence = await raw_csms.response_to(await raw_csms.call("TriggerMessage", {"requestedMessage": "Heartbeat"}))
    assert fence[2] == {"status": "Accepted"}
    heartbeat = await raw_csms.wait_for(is_call("Heartbeat"), after=mark)
    end = raw_csms.received.index(heartbeat)
    sent = [(f[2], f[3]) for f in raw_csms.received[mark:end] if f[0] == 2]
    return answer, sent


async def test_the_answer_says_what_is_sent(sim, raw_csms, make_agent):
    agent = await make_agent(raw_csms.port, card_reader=False)
    await idle_and_reported(raw_csms)

    # §5.17: a connectorId that does not apply to the message is ignored: Accepted, and sent.
    assert await triggered(raw_csms, "DiagnosticsStatusNotification", 7) == (
        "Accepted", [("DiagnosticsStatusNotification", {"status": "Idle"})])
    assert await triggered(raw_csms, "FirmwareStatusNotification", 3) == (
        "Accepted", [("FirmwareStatusNotification", {"status": "Idle"})])
    answer, sent = await triggered(raw_csms, "LogStatusNotification", 7, action="ExtendedTriggerMessage")
    assert (answer, sent) == ("Accepted", [("LogStatusNotification", {"status": "Idle"})])

    # A connector the station does not have, for a message about a connector: Rejected, nothing sent.
    for action in ("TriggerMessage", "ExtendedTriggerMessage"):
        assert await triggered(raw_csms, "StatusNotification", 7, action=action) == ("Rejected", [])
        assert await triggered(raw_csms, "MeterValues", 2, action=action) == ("Rejected", [])
    # MeterValues of connector 0 would be the station's main meter, which it does not have.
    assert await triggered(raw_csms, "MeterValues", 0) == ("Rejected", [])

    # No connectorId: every one it applies to (§5.17); the charge point's status is connector 0.
    answer, sent = await triggered(raw_csms, "StatusNotification")
    assert answer == "Accepted"
    assert [(action, body["connectorId"], body["status"]) for action, body in sent] == [
        ("StatusNotification", 0, "Available"), ("StatusNotification", 1, "Available")]
    answer, sent = await triggered(raw_csms, "MeterValues", action="ExtendedTriggerMessage")
    assert answer == "Accepted" and [(a, body["connectorId"]) for a, body in sent] == [("MeterValues", 1)]
    assert "follow-up failed" not in agent.log() and "Traceback" not in agent.log()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


FLOOD = 20_000
BATCH = 100  # the flood waits for the answer to every 100th trigger: it goes on while the agent works
# What the flood asks for (no StatusNotification: the station's own must be told apart).
FLOOD_KINDS = [{"requestedMessage": m} for m in ("Heartbeat", "DiagnosticsStatusNotification", "FirmwareStatusNotification")] + [
    {"requestedMessage": "MeterValues", "connectorId": 1}]
# Triggered messages sent between an event and the station's own message about it: those sent
# while the agent notices the event (a poll, 0.1 s; seen: 0 to 2), then at most the one being sent
# (triggered messages go one at a time, in turn with the station's own). Before the bound on
# queued work, the station's message came after every triggered one queued before it: thousands.
AHEAD = 25


async def test_a_trigger_flood_is_bounded_and_holds_nothing_up(sim, raw_csms, make_agent):
    agent = await make_agent(raw_csms.port, card_reader=False)
    await idle_and_reported(raw_csms)
    pid = agent.proc.pid
    before_mb = rss_mb(pid)
    peak_mb = before_mb
    flood_ids: set[str] = set()
    kinds = itertools.cycle(FLOOD_KINDS)
    started = asyncio.Event()

    async def flood() -> None:
        """FLOOD triggers at least, and on until the StartTransaction is in (so it came during the flood)."""
        nonlocal peak_mb
        while len(flood_ids) < FLOOD or not started.is_set():
            for _ in range(BATCH):
                last = await raw_csms.call("TriggerMessage", next(kinds))
                flood_ids.add(last)
            await raw_csms.response_to(last, timeout=60)
            peak_mb = max(peak_mb, rss_mb(pid))
            assert len(flood_ids) < 5 * FLOOD, "the StartTransaction never came"

    def answered() -> list[list]:
        return [f for f in raw_csms.received if f[0] in (3, 4) and f[1] in flood_ids]

    def follow_ups_between(start: int, end_frame: list) -> int:
        end = raw_csms.received.index(end_frame)
        return sum(1 for f in raw_csms.received[start:end] if f[0] == 2 and f[2] in FOLLOW_UPS and f[2] != "StatusNotification")

    flooding = asyncio.create_task(flood())
    try:
        await raw_csms.wait_for(lambda f: f[0] == 3 and len(flood_ids) > FLOOD // 4 and f[1] in flood_ids, timeout=120)
        # An EV plugs in during the flood: its StatusNotification is not queued behind it.
        mark = len(raw_csms.received)
        sim.plug(1)
        preparing = await raw_csms.wait_for(is_call("StatusNotification", connectorId=1, status="Preparing"),
                                            after=mark, timeout=30)
        plug_ahead = follow_ups_between(mark, preparing)
        # A remote start during the flood: its StartTransaction is not either.
        reply = await raw_csms.response_to(
            await raw_csms.call("RemoteStartTransaction", {"idTag": "FLOOD", "connectorId": 1}), timeout=30)
        assert reply[2] == {"status": "Accepted"}
        mark = raw_csms.received.index(reply)
        start_transaction = await raw_csms.wait_for(is_call("StartTransaction"), after=mark, timeout=30)
        start_ahead = follow_ups_between(mark, start_transaction)
        started.set()
        await flooding
        after_mb = rss_mb(pid)
    finally:
        flooding.cancel()
    answers = [f[2]["status"] if f[0] == 3 else f[2] for f in answered()]
    follow_ups = [f for f in raw_csms.received if f[0] == 2 and f[2] in FOLLOW_UPS and f[2] != "StatusNotification"]
    print(f"\ntrigger flood: {len(flood_ids)} triggers, {answers.count('Accepted')} Accepted, "
          f"{answers.count('Rejected')} Rejected, {len(follow_ups)} triggered messages sent; agent RSS "
          f"{before_mb:.1f} MB before, peak {peak_mb:.1f} MB, {after_mb:.1f} MB after (+{after_mb - before_mb:.1f} MB); "
          f"triggered messages sent between the plug and its StatusNotification: {plug_ahead}, "
          f"between the RemoteStartTransaction and its StartTransaction: {start_ahead}")
    assert len(answers) == len(flood_ids) and set(answers) <= {"Accepted", "Rejected"}
    # Each accepted trigger sends at most one message; duplicates waiting are sent once.
    assert len(follow_ups) <= answers.count("Accepted")
    assert plug_ahead <= AHEAD and start_ahead <= AHEAD
    # Still charging, still answering.
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=20)
    reply = await raw_csms.response_to(await raw_csms.call("GetConfiguration", {"key": ["HeartbeatInterval"]}))
    assert reply[0] == 3
