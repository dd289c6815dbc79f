"""Quick taps reach the agent: a card tapped while another still lies on the reader, through
pcscd + vpcd and through the PN532 twin on the simulated I²C bus, the agent as its own process.

A person cannot swap cards faster than the reader looks for one; the simulator takes the first
card away and presents the next once the reader has been seen empty, so the agent reads both.
"""

from __future__ import annotations

import asyncio

import pytest

from simulator.app import Simulator
from tests.integration.conftest import AgentProcess
from tests.integration.test_oled_build import agent_config as oled_agent_config
from tests.integration.test_oled_build import oled_sim, until  # noqa: F401 (fixture)
from tests.integration.test_session_flow import booted

FIRST, SECOND = "04A1B2C3D4E5F6", "0BADCAFE"


def presented(agent: AgentProcess, card: str) -> int:
    """How many presentations of ``card`` the agent has logged (agent/station/station.py)."""
    return agent.log().count(f"card {card} presented")


async def tap_while_on_the_reader(sim: Simulator, agent: AgentProcess, card: str, count: int,
                                  after_s: float = 0.0) -> None:
    """Tap ``card`` ``after_s`` s after the card on the reader was read, and wait for the agent
    to have read it ``count`` times; the simulator never shows two cards straight after another."""
    await asyncio.sleep(after_s)  # the person sees the card before accepted, then swaps
    was = sim.state()["card"]
    sim.tap_card(card, hold_s=30)
    if was is not None:
        state = sim.state()
        assert state["card"] == was and state["card_next"] == card  # still on the reader, the next in hand
        await sim.wait_for(lambda s: s["card"] is None and s["card_next"] == card, timeout=5)
    await until(lambda: presented(agent, card) >= count, timeout=15)
    state = sim.state()
    assert state["card"] == card and state["card_next"] is None


@pytest.mark.pcsc
async def test_a_quick_second_tap_reaches_the_agent_through_pcscd(sim, csms, make_agent):
    agent = await make_agent(csms.port)  # card_reader = pcsc, "Virtual PCD"
    await booted(csms)
    sim.tap_card(FIRST, hold_s=30)
    await until(lambda: presented(agent, FIRST) >= 1, timeout=15)
    # Half a second later: swapping then was lost every time (pcscd never saw the reader empty).
    await tap_while_on_the_reader(sim, agent, SECOND, 1, after_s=0.5)
    await tap_while_on_the_reader(sim, agent, FIRST, 2)  # and straight after the read
    assert presented(agent, SECOND) == 1


async def test_a_quick_second_tap_reaches_the_agent_through_the_pn532(oled_sim, csms, tmp_path):
    sim = oled_sim
    config = tmp_path / "agent.toml"
    config.write_text(oled_agent_config(sim, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await booted(csms)
        sim.tap_card(FIRST, hold_s=30)
        await until(lambda: presented(agent, FIRST) >= 1, timeout=15)
        await tap_while_on_the_reader(sim, agent, SECOND, 1)
        # The same card again: the reader must see the field empty between the two taps.
        await tap_while_on_the_reader(sim, agent, SECOND, 2)
    finally:
        await agent.stop()
        print(agent.log()[-4000:])
