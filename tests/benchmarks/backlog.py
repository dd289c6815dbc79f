"""5. Backlog replay: N queued transaction messages delivered after a long outage.

The outbox is filled through the agent's own store API (agent.persistence.store.Store, the same calls
the station makes: begin_transaction, queue_meter_values × N-2, end_transaction) in the
data directory, as if the agent had charged offline for a long time; then the agent starts
with durable storage as configured (WAL, synchronous=FULL) and delivers them, one
outstanding CALL at a time. Rate = messages / time between the first and the last arriving
at the backend.

The lockstep limit: a bare websocket client (no OCPP library, no storage) sending the very
frames the agent sent to the same backend, each after the previous one's answer, in a process
of its own as the agent is (``python -m tests.benchmarks.backlog URL FILE``); run twice after
the agent, the mean of the two. The same client inside the backend's own process (one event
loop for both ends: no process wake-ups, which the agent cannot avoid) is reported alongside:
on an idle machine the two are close, on a loaded one the in-process client is up to twice
as fast as any client of its own can be.

On loopback a round trip takes about 0.2 ms, so that row weighs the agent's CPU per message
(validation, the commit before the next CALL) against almost nothing. ``backlog.replay@rtt1ms``
is the same replay with the backend answering each transaction message 1 ms after it
arrived, as a backend on the station's own network would (over the internet round trips are
10-100 ms): the agent and the same bare client, against that backend."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

from agent.persistence.store import Store
from tests.benchmarks.backend import Frame, is_call
from tests.benchmarks.harness import ROOT, Rig
from tests.benchmarks.report import Row, ratio_row

TX_ACTIONS = ("StartTransaction", "MeterValues", "StopTransaction")
LAN_ROUND_TRIP_S = 0.001  # a backend on the station's own network


def fill_outbox(data_dir: Path, messages: int) -> None:
    """One offline transaction of ``messages`` transaction messages, queued as the station does."""
    store = Store(data_dir / "evse-agent.db")
    store.execute("PRAGMA synchronous=OFF")  # filling only: the agent opens it with FULL
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

    def iso(s: int) -> str:
        return (start + dt.timedelta(seconds=s)).isoformat().replace("+00:00", "Z")

    where = {"evse_id": 1, "connector_id": 1, "offline": True}
    local_id = store.begin_transaction(1, "BACKLOG", 0, iso(0), {
        **where, "timestamp": iso(0), "trigger": "Authorized", "id_token": {"value": "BACKLOG", "type": "ISO14443"},
        "meter_wh": 0})
    for n in range(1, messages - 1):
        wh = n * 30
        store.queue_meter_values(local_id, {**where, "timestamp": iso(n * 10), "trigger": "MeterValuePeriodic",
                                            "samples": [{"timestamp": iso(n * 10), "values": [
            {"measurand": "Energy.Active.Import.Register", "value": wh, "unit": "Wh", "context": "Sample.Periodic"},
            {"measurand": "Power.Active.Import", "value": 11040.0, "unit": "W", "context": "Sample.Periodic"},
            {"measurand": "Current.Import", "value": 16.0, "unit": "A", "context": "Sample.Periodic", "phase": "L1"},
        ]}]})
    end = (messages - 1) * 10
    store.end_transaction(local_id, (messages - 2) * 30, iso(end), "EVDisconnected", {
        **where, "timestamp": iso(end), "meter_wh": (messages - 2) * 30, "reason": "EVDisconnected", "samples": []})
    assert store.outbox_length() == messages
    store.close()


def rate(frames: list[Frame]) -> float:
    """Messages per second between the first and the last arrival."""
    return (len(frames) - 1) / (frames[-1].received - frames[0].received)


async def lockstep(rig: Rig, texts: list[str]) -> float:
    """The bare client: the same frames, one at a time; its rate as the backend saw it."""
    mark = len(rig.csms.frames)
    async with connect(f"ws://127.0.0.1:{rig.csms.port}/LOCKSTEP", subprotocols=["ocpp1.6"],
                       ping_interval=None, max_size=None) as ws:
        for text in texts:
            await ws.send(text)
            await ws.recv()
    return rate([f for f in rig.csms.frames[mark:] if f.path == "/LOCKSTEP"])


async def lockstep_process(rig: Rig, texts: list[str]) -> float:
    """The bare client in a process of its own (as the agent is); its rate as the backend saw it."""
    frames_file = rig.workdir / "lockstep-frames.json"
    frames_file.write_text(json.dumps(texts))
    mark = len(rig.csms.frames)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.backlog", f"ws://127.0.0.1:{rig.csms.port}/LOCKSTEP-PROCESS",
        str(frames_file), cwd=ROOT)
    if await proc.wait() != 0:
        raise RuntimeError("the lockstep client failed")
    return rate([f for f in rig.csms.frames[mark:] if f.path == "/LOCKSTEP-PROCESS"])


async def _bare_client(url: str, frames_file: str) -> None:
    texts = json.loads(Path(frames_file).read_text())
    async with connect(url, subprotocols=["ocpp1.6"], ping_interval=None, max_size=None) as ws:
        for text in texts:
            await ws.send(text)
            await ws.recv()


async def _replay(rig: Rig, name: str, messages: int) -> tuple[float, list[str], float]:
    """An agent named ``name`` delivers an outbox of ``messages``: its rate, the frames it sent
    (as text, for the bare client) and how long filling the outbox took."""
    agent = rig.agent(name)
    data_dir = rig.workdir / f"{name}-data"
    t0 = time.perf_counter()
    fill_outbox(data_dir, messages)
    fill_s = time.perf_counter() - t0
    mark = len(rig.csms.frames)
    await rig.booted(agent)
    await rig.csms.wait_for(is_call("StopTransaction"), timeout=max(60, messages / 50), after=mark)
    delivered = [f for f in rig.csms.frames[mark:] if f.frame[0] == 2 and f.frame[2] in TX_ACTIONS]
    await agent.stop()
    assert len(delivered) == messages, f"{len(delivered)} of {messages} delivered"
    return rate(delivered), [json.dumps(f.frame, separators=(",", ":")) for f in delivered], fill_s


async def backlog_replay(rig: Rig, *, messages: int) -> list[Row]:
    agent_rate, texts, fill_s = await _replay(rig, "backlog", messages)
    limits = [await lockstep_process(rig, texts)]
    limits.append(await lockstep_process(rig, texts))
    limit = sum(limits) / len(limits)
    in_process = await lockstep(rig, texts)
    return [ratio_row(
        "backlog.replay", f"{messages} queued transaction messages delivered, durable storage", "msg/s",
        agent_rate, limit, 0.8, at_least=True,
        notes=f"floor = lockstep limit: a bare websocket client, a process of its own, sending the same frames "
              f"one at a time (runs: {', '.join(f'{x:.0f}' for x in limits)} msg/s); the same client inside the "
              f"backend's process: {in_process:.0f} msg/s ({agent_rate / in_process:.2f} x); "
              f"replay took {messages / agent_rate:.1f} s",
        details={"agent_rate": agent_rate, "lockstep_rates": limits, "lockstep_in_backend_process": in_process,
                 "fill_s": fill_s},
    )]


async def backlog_replay_over_lan(rig: Rig, *, messages: int, round_trip_s: float = LAN_ROUND_TRIP_S) -> list[Row]:
    """The replay against a backend that answers each transaction message ``round_trip_s``
    after it arrived; the floor is the same bare client against the same backend."""
    rig.csms.delay_s.update(dict.fromkeys(TX_ACTIONS, round_trip_s))
    try:
        agent_rate, texts, _ = await _replay(rig, "backlog-lan", messages)
        limits = [await lockstep_process(rig, texts) for _ in range(2)]
    finally:
        for action in TX_ACTIONS:
            del rig.csms.delay_s[action]
    limit = sum(limits) / len(limits)
    ms = f"{round_trip_s * 1000:g} ms"
    return [ratio_row(
        f"backlog.replay@rtt{round_trip_s * 1000:g}ms",
        f"{messages} queued transaction messages delivered, durable storage, backend answering {ms} "
        f"after each (a round trip on the station's own network)", "msg/s",
        agent_rate, limit, 0.8, at_least=True,
        notes=f"floor = the same bare client against the same backend (runs: "
              f"{', '.join(f'{x:.0f}' for x in limits)} msg/s); per message the agent took "
              f"{(1 / agent_rate - 1 / limit) * 1e6:.0f} us more than the bare client",
        details={"agent_rate": agent_rate, "lockstep_rates": limits, "round_trip_s": round_trip_s},
    )]


if __name__ == "__main__":
    asyncio.run(_bare_client(sys.argv[1], sys.argv[2]))
