"""An agent updated while offline delivers what the previous release queued.

``tests/fixtures/outbox-schema-8.db`` was written by the release before transactions became
version-neutral events (schema 8): a free-vend session run with no backend reachable, then
SIGKILL. Its outbox holds a SecurityEventNotification, a StartTransaction, three MeterValues
and a StopTransaction, in 1.6 shape. This release migrates the database (migration 9) and
must deliver each exactly once, in order, with the message ids the old release gave them.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from agent.app.status_socket import SOCKET_NAME, query

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "outbox-schema-8.db"


async def confirmed(data: Path, timeout: float = 10.0) -> None:
    """Until the agent has committed the backend's answers: nothing queued, says ``evse-agent status``
    (the database is the running agent's alone)."""
    async with asyncio.timeout(timeout):
        while (await asyncio.to_thread(query, data / SOCKET_NAME))["queued_messages"]:
            await asyncio.sleep(0.05)


def queued_before() -> list[tuple[str, str]]:
    db = sqlite3.connect(FIXTURE)
    return [(kind, unique_id) for kind, unique_id in db.execute("SELECT kind, unique_id FROM outbox ORDER BY seq")]


async def test_messages_an_older_release_queued_are_delivered_once_in_order(sim, raw_csms, make_agent, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(FIXTURE, data / "evse-agent.db")
    before = queued_before()
    assert [kind for kind, _ in before] == ["security_event", "tx_start", "tx_meter", "tx_meter", "tx_meter", "tx_stop"]

    agent = await make_agent(raw_csms.port, card_reader=False)
    stop = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StopTransaction", timeout=30)
    actions = {"SecurityEventNotification", "StartTransaction", "MeterValues", "StopTransaction"}
    sent = [f for f in raw_csms.received if f[0] == 2 and f[2] in actions]
    old = [f for f in sent if f[3].get("type") != "StartupOfTheDevice" or f[1] == before[0][1]]
    assert [(f[2], f[1]) for f in old] == [
        ("SecurityEventNotification", before[0][1]),
        ("StartTransaction", before[1][1]),
        ("MeterValues", before[2][1]),
        ("MeterValues", before[3][1]),
        ("MeterValues", before[4][1]),
        ("StopTransaction", before[5][1]),
    ]
    start = old[1][3]
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "FREEVEND", 12)
    assert all(f[3]["transactionId"] == 100 for f in old[2:])  # the id the backend gave the start
    assert stop[3]["meterStop"] == 204 and stop[3]["reason"] == "EVDisconnected"
    energy = [[v for v in mv[3]["meterValue"][0]["sampledValue"] if v["measurand"] == "Energy.Active.Import.Register"]
              for mv in old[2:5]]
    assert all(len(values) == 1 and values[0]["unit"] == "Wh" for values in energy)

    # Delivered once: once the agent has the answers, a restart sends none of them again.
    await confirmed(data)
    mark = len(raw_csms.received)
    await agent.stop()
    await agent.start()
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] in ("BootNotification", "Heartbeat"), after=mark, timeout=30)
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StatusNotification", after=mark, timeout=30)
    again = [f for f in raw_csms.received[mark:] if f[0] == 2 and f[1] in {uid for _, uid in before}]
    assert again == []
    await agent.stop()  # the database is the running agent's alone
    db = sqlite3.connect(data / "evse-agent.db")
    assert db.execute("SELECT count(*) FROM outbox WHERE kind != 'security_event'").fetchone()[0] == 0
    assert (tmp_path / "data" / "evse-agent.db.before-schema-9").exists()  # kept for support staff
