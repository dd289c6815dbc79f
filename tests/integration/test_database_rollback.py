"""A release rolled back after a newer one migrated the database (a self-update that did not
come up, or an installer going back a version).

The newer release is played by its migration: a table of its own, ``PRAGMA user_version`` one
past what this release knows, and ``schema_info.usable_from`` saying which releases can still
use the file (agent/persistence/store.py). When this release can use it, the agent runs on it
as it is and keeps what the newer release stored. When it cannot, the agent leaves the file
byte for byte as it found it (for the newer release, or support staff), runs on a memory store
and reports every connector Faulted (E-STORAGE), charging nothing it could not bill.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path

from tests.integration.test_status_command import status

FREE_VEND = '[free_vend]\nid_tag = "FREEVEND"\n'  # plugging in is enough to charge


def play_newer_release(db_path: Path, *, usable_from_this_release: bool) -> int:
    """What the next release's migration does to the file; returns its schema number."""
    db = sqlite3.connect(db_path)
    known = db.execute("PRAGMA user_version").fetchone()[0]
    newer = known + 1
    with db:
        db.execute("CREATE TABLE tariffs_of_a_newer_release (id INTEGER PRIMARY KEY, text TEXT)")
        db.execute("INSERT INTO tariffs_of_a_newer_release(text) VALUES ('kept')")
        db.execute("UPDATE schema_info SET value = ? WHERE key = 'usable_from'",
                   (known if usable_from_this_release else newer,))
    db.execute(f"PRAGMA user_version = {newer}")
    db.close()
    return newer


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def statuses(raw_csms, after: int = 0) -> list[tuple[str, str | None]]:
    return [(f[3]["status"], f[3].get("vendorErrorCode")) for f in raw_csms.received[after:]
            if f[0] == 2 and f[2] == "StatusNotification" and f[3]["connectorId"] == 1]


async def booted(raw_csms, after: int, status: str) -> None:
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StatusNotification" and f[3]["connectorId"] == 1
                            and f[3]["status"] == status, after=after, timeout=30)


async def connector_state(tmp_path, where) -> dict:
    """The agent's own view of connector 1 (``evse-agent status``) once ``where`` holds."""
    async with asyncio.timeout(15):
        while True:
            code, out, err = await status(tmp_path, "--json")
            if code == 0 and where(connector := json.loads(out)["connectors"][0]):
                return connector
            await asyncio.sleep(0.1)  # a status query is no event: ask again


async def test_a_database_the_newer_release_left_usable_is_used_as_it_is(sim, raw_csms, make_agent, tmp_path):
    db_path = tmp_path / "data" / "evse-agent.db"
    agent = await make_agent(raw_csms.port, card_reader=False, gpio=FREE_VEND)
    await booted(raw_csms, 0, "Available")
    await agent.stop()
    newer = play_newer_release(db_path, usable_from_this_release=True)

    mark = len(raw_csms.received)
    await agent.start()
    await booted(raw_csms, mark, "Available")
    assert ("Faulted", "E-STORAGE") not in statuses(raw_csms, mark)
    sim.plug(1)  # and it charges, recording the transaction in the newer release's file
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "StartTransaction", after=mark, timeout=30)
    await agent.stop()
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == newer  # not migrated back
    assert db.execute("SELECT text FROM tariffs_of_a_newer_release").fetchall() == [("kept",)]


async def test_a_database_this_release_cannot_use_is_left_untouched_and_no_energy_flows(sim, raw_csms, make_agent,
                                                                                         tmp_path):
    db_path = tmp_path / "data" / "evse-agent.db"
    agent = await make_agent(raw_csms.port, card_reader=False, gpio=FREE_VEND)
    await booted(raw_csms, 0, "Available")
    await agent.stop()
    play_newer_release(db_path, usable_from_this_release=False)
    before = digest(db_path)

    mark = len(raw_csms.received)
    await agent.start()
    await booted(raw_csms, mark, "Faulted")
    assert statuses(raw_csms, mark)[-1] == ("Faulted", "E-STORAGE")
    sim.plug(1)  # an EV arrives: the agent sees it, and a Faulted connector offers it nothing
    seen = await connector_state(tmp_path, lambda c: c["pilot"] in ("B", "C"))
    assert seen["status"] == "Faulted" and seen["offered_a"] == 0 and seen["transaction"] is None
    assert not seen["relay_closed"]
    evse = sim.state()["evses"][0]
    assert not evse["contactor_closed"] and evse["power_w"] == 0
    await agent.stop()
    assert digest(db_path) == before
    assert "written by a newer release" in agent.log()
