"""A whole charging session driven through the simulator page, against the real agent.

The page in headless Chromium is the only thing the test touches: it sets the battery and the
speed of time, plugs the EV in, taps a card (the agent reads it through pcscd and the vpcd
virtual reader), watches the power rise, pauses and resumes the EV, stops with a second tap and
unplugs; every wait is on the page's DOM. The agent also drives an OLED (on the simulated I²C
bus) and status LEDs (on the simulated GPIO), which the page draws. The screenshot goes to test-output/simulator-page.png;
simulator/web/static/screenshot.png (the README's) is written when missing, or again with
UPDATE_README_SCREENSHOT=1, so a test run does not change a committed file.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect

from simulator.twins.gpio import agent_toml

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-output" / "simulator-page.png"
README_SCREENSHOT = ROOT / "simulator" / "web" / "static" / "screenshot.png"
CARD = "04A1B2C3D4E5F6"
TIMEOUT_MS = 20_000


def hardware_toml(sim) -> str:
    """The agent's OLED on the simulated I²C bus, and its status LEDs on the simulated GPIO."""
    return (f'\n[i2c]\nsim = "127.0.0.1:{sim.i2c_port}"\n\n[[displays]]\naddress = 0x3C\nconnector = 1\n'
            f'\n[gpio]\nfactory = "pigpio"\nhost = "127.0.0.1"\nport = {sim.gpio_port}\n'
            + agent_toml(1, ["led_green", "led_blue", "led_red"]))


async def power_above(page, evse_id: int, watts: float) -> None:
    await page.wait_for_function(
        "([id, w]) => Number(document.querySelector(`#evse-${id} [data-f=power]`).dataset.watts) > w",
        arg=[evse_id, watts], timeout=TIMEOUT_MS)


async def chart_peak_above(page, evse_id: int, watts: float, samples: int = 1) -> None:
    await page.wait_for_function(
        "([id, w, n]) => { const c = document.querySelector(`#evse-${id} [data-f=chart]`);"
        " return Number(c.dataset.peakW) > w && Number(c.dataset.samples) >= n; }",
        arg=[evse_id, watts, samples], timeout=TIMEOUT_MS)


@pytest.mark.pcsc
async def test_a_card_session_through_the_page(sim, demo_csms, make_agent, page):
    await make_agent(demo_csms.port, gpio=hardware_toml(sim))  # card_reader = pcsc ("Virtual PCD")
    one = page.locator("#evse-1")
    status = one.locator("[data-f=ocpp-status]")
    card_button = page.locator(f"button.rfid[data-uid='{CARD}']")
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(status).to_have_text("Available", timeout=30_000)  # from the agent's StatusNotification
    await expect(page.locator("#log li[data-action=BootNotification][data-type=CALLRESULT]")).to_have_count(1)
    await expect(one.locator("[data-f=oled-frame]")).to_be_visible()  # the agent's OLED, as drawn
    await page.wait_for_function("Number(document.querySelector('#evse-1 [data-f=oled]').dataset.lit) > 50",
                                 timeout=TIMEOUT_MS)
    await one.locator(".led.lit").first.wait_for(state="attached", timeout=TIMEOUT_MS)  # a status LED

    # A 40 kWh battery at 20 %, and time at x60.
    form = one.locator("[data-f=battery-form]")
    await form.locator("input[name=capacity]").fill("40")
    await form.locator("input[name=soc]").fill("20")
    await form.locator("button[type=submit]").click()
    await expect(one.locator("[data-f=soc]")).to_have_text("20.0 %")
    await expect(one.locator("[data-f=battery]")).to_have_text("8.0 of 40 kWh")
    await page.locator(".speed button[data-speed='60']").click()
    await expect(page.locator(".speed button[data-speed='60']")).to_have_class(re.compile(r"\bon\b"))

    # Plug in, tap the card: the agent starts a transaction and the contactor closes.
    await one.locator("button[data-act=plug]").click()
    await expect(one.locator("[data-f=pilot-letter]")).to_have_text("C")
    await expect(status).to_have_text("Preparing", timeout=TIMEOUT_MS)
    await card_button.click()
    await expect(status).to_have_text("Charging", timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=tx]")).to_have_text(re.compile(rf"tx \d+ · {CARD}"))
    await expect(one.locator("[data-f=contactor]")).to_have_text("closed")
    await power_above(page, 1, 10_000)  # 16 A x 3 x 230 V
    await chart_peak_above(page, 1, 10_000)
    await expect(page.locator("#log li[data-action=MeterValues][data-type=CALL]").first).to_be_visible(timeout=TIMEOUT_MS)

    # The EV pauses (state B: SuspendedEV, no power) and resumes.
    await one.locator("button[data-act=ev]").click()
    await expect(status).to_have_text("SuspendedEV", timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=power]")).to_have_text("0.00 kW")
    await one.locator("button[data-act=ev]").click()
    await expect(status).to_have_text("Charging", timeout=TIMEOUT_MS)
    await power_above(page, 1, 10_000)
    await chart_peak_above(page, 1, 10_000, samples=4)  # up, down, up again
    await expect(one.locator("[data-f=soc]")).not_to_have_text("20.0 %")

    SCREENSHOT.parent.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1" or not README_SCREENSHOT.exists():
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)

    # A second tap of the same card stops the transaction; unplugging ends the plug session.
    await expect(page.locator("#card")).to_have_text("no card", timeout=TIMEOUT_MS)  # the first tap is over
    await card_button.click()
    await expect(page.locator("#log li[data-action=StopTransaction][data-type=CALLRESULT]")).to_have_count(
        1, timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=contactor]")).to_have_text("open")
    await expect(one.locator("[data-f=power]")).to_have_text("0.00 kW")
    await expect(one.locator("[data-f=tx]")).to_be_hidden()
    await expect(status).to_have_text("Finishing", timeout=TIMEOUT_MS)
    await one.locator("button[data-act=plug]").click()
    await expect(status).to_have_text("Available", timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=session-note]")).to_have_text("last session (unplugged)")


async def test_the_reboot_button_power_cycles_the_board(sim, page):
    """A brown-out from the page: the board of connector 1 comes back at its power-up current
    (EVSE-DIN 1000 := 2000, 16 A), what it was told before (10 A) is gone."""
    one = page.locator("#evse-1")
    await expect(page.locator("#conn")).to_have_text("live")
    assert sim.model.board_write(1, 1000, [10]) is None  # as a controller would
    sim.plug(1)
    await expect(one.locator("[data-f=limit]")).to_have_text("10.0 A")
    await one.locator("button[data-act=reboot]").click()
    await expect(one.locator("[data-f=limit]")).to_have_text("16.0 A")
    await expect(page.locator("#toast")).to_contain_text("board rebooted")
    assert [(e.evse_id, e.value) for e in sim.events if e.kind == "board"] == [(1, "rebooted")]
