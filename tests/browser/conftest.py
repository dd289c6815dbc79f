"""The simulator page in a real browser: Debian's Chromium driven by Playwright for Python.

Playwright's own browser download cannot work offline, so it launches /usr/bin/chromium with
no network of its own. The simulator, agent and backend fixtures are the integration tests'.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from simulator.app import Simulator
from simulator.config import load_config
from simulator.csms.demo_csms import DemoCsms
from simulator.web.ocpp_feed import SimLogFeed
from tests.integration.conftest import make_agent  # noqa: F401 - a fixture used here

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def sim():
    """The integration tests' simulator, with an SSD1306 OLED for connector 1 on its I²C bus."""
    config = load_config()
    first = dataclasses.replace(config.evses[0], display_address=0x3C)
    config = dataclasses.replace(config, evses=(first, *config.evses[1:]))
    simulator = Simulator(config, http_port=0, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def demo_csms(sim):
    """The demo backend, feeding what it exchanges to the page's OCPP log."""
    feed = SimLogFeed(sim.http_url)
    await feed.start()
    csms = DemoCsms(printer=None, on_frame=feed)
    await csms.start("127.0.0.1", 0)
    yield csms
    await csms.stop()
    await feed.stop()


@pytest.fixture
async def page(sim):
    """The simulator page, open in headless Chromium; fails the test on a JavaScript error."""
    assert CHROMIUM.exists(), "needs Debian's chromium package (apt-get install chromium)"
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = await browser.new_page(viewport={"width": 1360, "height": 1000})
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            await tab.goto(sim.http_url)
            yield tab
        finally:
            await browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
