"""``evse-agent status`` asks the running agent over its local socket."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.integration.conftest import ROOT
from tests.integration.test_outages import start_charging
from tests.integration.test_session_flow import booted


async def status(tmp_path, *extra: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", "status", "--config", str(tmp_path / "agent.toml"), *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_status_shows_connectors_transaction_link_and_queue(tmp_path, sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    code, out, err = await status(tmp_path, "--json")
    assert code == 0, err
    state = json.loads(out)
    assert state["charge_point_id"] == "CP-TEST-1"
    assert state["link"]["connected"] is True and state["link"]["registration"] == "Accepted"
    connector = state["connectors"][0]
    assert connector["status"] == "Charging" and connector["offered_a"] == 16
    assert connector["transaction"]["remote_id"] == tx.transaction_id
    assert isinstance(state["queued_messages"], int)
    # What the service page shows too: the link's security, how long up, the current drawn, the hardware.
    assert state["link"]["security_profile"] == 0 and state["link"]["connected_since"].endswith("Z")
    assert state["link"]["ocpp_version"] == "ocpp1.6" and state["uptime_s"] >= 0
    assert connector["relay_closed"] is True and len(connector["current_a"]) == 3 and connector["faults"] == []
    assert [(d["kind"], d["driver"], d["answering"]) for d in state["hardware"]] == [
        ("board", "evse-din", True), ("meter", "sdm630", True)]
    code, text, _ = await status(tmp_path)
    assert "connector 1   Charging" in text and "connected" in text
    assert "security      profile 0, connected since" in text and "hardware      board (connector 1): evse-din, answers" in text

    await agent.stop()
    code, _, err = await status(tmp_path)
    assert code == 2 and "no agent is running" in err
