"""The card reader on the simulator page while a tap replaces a card still on the reader."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.async_api import expect

from simulator.app import Simulator
from simulator.config import load_config


@pytest.fixture
async def sim():
    """A simulator whose only reader is the PN532, with no host searching its field: a card
    that replaces another waits the longest (SEEN_EMPTY_WAIT_S) for the field to be seen empty."""
    config = load_config()
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0),
                                 i2c=dataclasses.replace(config.i2c, nfc="pn532"))
    simulator = Simulator(config, http_port=0, modbus_port=0)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_the_page_shows_the_card_on_the_reader_and_the_next_one_waiting(sim, page):
    await expect(page.locator("#conn")).to_have_text("live")
    sim.tap_card("04A1B2C3", hold_s=30)
    await expect(page.locator("#card")).to_have_text("04A1B2C3")
    await expect(page.locator("#card-next")).to_be_hidden()
    await page.locator("button.rfid[data-uid='DEADBEEF']").click()  # a saved card, tapped
    await expect(page.locator("#card")).to_have_text("no card")  # the first one is off
    await expect(page.locator("#card-next")).to_contain_text("next: DEADBEEF")
    await expect(page.locator("#card")).to_have_text("DEADBEEF", timeout=10_000)
    await expect(page.locator("#card-next")).to_be_hidden()
