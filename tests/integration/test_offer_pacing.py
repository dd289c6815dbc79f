"""One 5 s clock per connector over every source of limits (issue 16 item 2; IEC 61851-1: the
PWM changes at most every 5 s; agent/core/offer_pacing.py).

Thermal derating and smart charging change the offer one right after the other: the board is
told the second change 5 s after the first, not when its source asked. Proven from the agent's
own timestamps of each offer it decided (its log), not from the test's clock. The Heidelberg +
TMP102 build (simulator/builds/heidelberg-oled.toml)."""

from __future__ import annotations

import datetime as dt
import re

from ocpp_csms import TransactionStartedEvent

from tests.integration.conftest import AgentProcess
from tests.integration.test_oled_build import CP_ID
from tests.integration.test_oled_build import agent_config as oled_agent_config
from tests.integration.test_oled_build import oled_sim  # noqa: F401 (a fixture)
from tests.integration.test_session_flow import booted, evse, status_reached
from tests.integration.test_smart_charging import profile, set_profile

OFFER = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) DEBUG .*agent\.station\.station: connector 1: .* -> "
                   r"\[.*?OfferCurrent\(amps=([\d.]+)\)")


def offers(log: str) -> list[tuple[float, float]]:
    """(when the agent decided it, amperes) of each offer it made on connector 1, from its log."""
    out = []
    for line in log.splitlines():
        if m := OFFER.match(line):
            when = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append((when, float(m.group(2))))
    return out


async def test_derating_and_a_charging_limit_at_once_change_the_offer_5_s_apart(oled_sim, csms, tmp_path):
    sim = oled_sim
    config = tmp_path / "agent.toml"
    config.write_text(oled_agent_config(sim, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    rec = csms.recorder
    try:
        await booted(csms)
        cp = csms.charge_points[CP_ID]
        sim.plug(1)
        await rec.wait_for(status_reached(csms, "Preparing"))
        assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
        await rec.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 16, timeout=10)
        # Warm (67.5 °C: derated to 11 A), and right after it smart charging's 8 A.
        sim.set_temperature(67.5)
        await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 11, timeout=20)
        assert await set_profile(cp, 1, profile(1, "TxDefaultProfile", [(0, 8.0)])) == "Accepted"
        await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 8, timeout=20)
    finally:
        await agent.stop()
    made = offers(agent.log())
    amps = [a for _, a in made]
    assert amps[-3:] == [16.0, 11.0, 8.0], made
    started, derated, limited = (when for when, _ in made[-3:])
    # Each change at least 5 s after the one before (the log stamps in ms: 10 ms of rounding).
    assert derated - started >= 4.99 and limited - derated >= 4.99, made
