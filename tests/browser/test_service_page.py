"""The service page in a real browser (Debian's Chromium through Playwright), on a real agent
against the simulator and ocpp-csms (tests/service/conftest.py): an installer logs in, watches
a session, commissions a new backend (a wrong URL first), runs the tests and downloads the
diagnostics archive; then each refusal, as the installer sees it.

The page's certificate is the one the agent made itself: the browser is told to accept it, as
an installer does once after comparing its fingerprint. The screenshot goes to
test-output/service-page.png; docs/service-page.png (the README's) is written when missing, or
again with UPDATE_README_SCREENSHOT=1.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest
from ocpp_csms import BootEvent, CentralSystem, TransactionStartedEvent, TransactionStoppedEvent
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.integration.conftest import Recorder
from tests.integration.test_session_flow import booted
from tests.service.conftest import CARD, INSTALLER_PASSWORD, csms, make_page, page_sim  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-output" / "service-page.png"
PHONE_SCREENSHOT = ROOT / "test-output" / "service-page-phone.png"
README_SCREENSHOT = ROOT / "docs" / "service-page.png"
SECOND_CARD = "0BADCAFE"
TIMEOUT_MS = 20_000


@pytest.fixture
async def browser():
    assert CHROMIUM.exists(), "needs Debian's chromium package (apt-get install chromium)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def open_tab(browser, url: str, *, width: int = 1280, height: int = 900):
    """A fresh browser context (its own cookies) on the page; JavaScript errors fail the test."""
    context = await browser.new_context(ignore_https_errors=True, viewport={"width": width, "height": height},
                                        accept_downloads=True, locale="en-GB")
    tab = await context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    await tab.goto(url)
    return tab


async def log_in(tab, role: str = "installer", password: str = INSTALLER_PASSWORD) -> None:
    await tab.locator("#role").select_option(role)
    await tab.locator("#password").fill(password)
    await tab.locator("#login-button").click()


@pytest.fixture
async def second_csms():
    recorder = Recorder()
    central = CentralSystem(host="127.0.0.1", port=0, heartbeat_interval=60)
    central.add_listener(recorder)
    await central.async_start()
    central.recorder = recorder
    yield central
    await central.async_stop()


async def test_an_installer_commissions_the_station_in_a_browser(page_sim, csms, second_csms, make_page, browser):
    sim = page_sim
    service = await make_page(csms.port)
    await booted(csms)
    tab = await open_tab(browser, service.url)
    await expect(tab).to_have_url(re.compile(r"/login$"))
    await log_in(tab)
    await expect(tab.locator("#role-badge")).to_have_text("Installer", timeout=TIMEOUT_MS)
    await expect(tab.locator("#link-state")).to_have_attribute("data-connected", "yes")

    # A live session started at the simulator: plug in, tap a card.
    one = tab.locator("#connector-1")
    sim.plug(1)
    await expect(one.locator("[data-f=status]")).to_have_attribute("data-status", "Preparing", timeout=TIMEOUT_MS)
    sim.tap_card(CARD)
    await expect(one.locator("[data-f=status]")).to_have_attribute("data-status", "Charging", timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=session]")).to_have_attribute("data-id-tag", CARD)
    await expect(one.locator("[data-f=power]")).to_have_text(re.compile(r"^1\d\.\d\d kW$"), timeout=TIMEOUT_MS)
    await expect(one.locator("[data-f=contactor]")).to_contain_text("main contactor: closed")
    await expect(one.locator("[data-f=drawn]")).to_have_text(re.compile(r"^16\.0 / 16\.0 / 16\.0 A$"))
    await expect(tab.locator("#hardware tr[data-kind=meter]")).to_contain_text("sdm630")
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await tab.screenshot(path=str(SCREENSHOT), full_page=True)
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1" or not README_SCREENSHOT.exists():
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)
    await sim.wait_for(lambda s: s["card"] is None, timeout=10)  # the first tap is over
    sim.tap_card(CARD)  # the same card again: the session ends
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    sim.unplug(1)
    await expect(one.locator("[data-f=status]")).to_have_attribute("data-status", "Available", timeout=TIMEOUT_MS)

    # Commissioning: a wrong backend URL gets check-config's error on its field.
    await tab.locator("#tabs button[data-tab=config]").click()
    url_field = tab.locator('#config-form [data-key="ocpp.csms_url"]')
    await expect(url_field).to_have_value(f"ws://127.0.0.1:{csms.port}/ocpp")
    await url_field.fill("http://backend.example.com/ocpp")
    await tab.locator("#config-check").click()
    await expect(tab.locator("#config-error")).to_have_text(
        "ocpp.csms_url: 'http://backend.example.com/ocpp' is not a ws:// or wss:// URL")
    await expect(url_field).to_have_class(re.compile(r"\binvalid\b"))
    await expect(tab.locator("#config-apply")).to_be_hidden()
    # Fixed: the difference, then applied with a restart; the agent reconnects to the new backend.
    new_url = f"ws://localhost:{second_csms.port}/ocpp"
    await url_field.fill(new_url)
    await tab.locator("#config-check").click()
    await expect(tab.locator("#config-diff")).to_contain_text(f'+csms_url = "{new_url}"')
    await expect(tab.locator("#config-diff")).to_contain_text(f'-csms_url = "ws://127.0.0.1:{csms.port}/ocpp"')
    await tab.locator("#config-apply").click()
    await expect(tab.locator("#banner")).to_have_text("The agent restarted with the new configuration.", timeout=60_000)
    await second_csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=30)
    await expect(tab.locator("#link-url")).to_have_text(f"{new_url}/CP-TEST-1")
    await expect(tab.locator("#link-state")).to_have_attribute("data-connected", "yes", timeout=TIMEOUT_MS)
    assert service.config_path.with_name("agent.toml.previous").is_file()

    # Hardware tests: the meter, then a card that starts nothing.
    await tab.locator("#tabs button[data-tab=tests]").click()
    tests = tab.locator("#tests-1")
    await tests.locator("button[data-test=meter]").click()
    await expect(tests.locator("[data-f=result]")).to_contain_text("Meter: ")
    await expect(tests.locator("[data-f=result]")).to_contain_text("230 / 230 / 230 V")
    await tab.locator("#card-test-button").click()
    await expect(tab.locator("#card-test-result")).to_have_text("Tap a card now…")
    sim.tap_card(SECOND_CARD)
    await expect(tab.locator("#card-test-result")).to_have_text(
        f"Card {SECOND_CARD}: would be ACCEPTED (backend: Accepted)", timeout=TIMEOUT_MS)
    assert not second_csms.recorder.of(TransactionStartedEvent)
    await expect(tab.locator("#test-log li")).to_have_count(2)

    # Support: the diagnostics archive.
    await tab.locator("#tabs button[data-tab=support]").click()
    await expect(tab.locator("#log-lines tr").first).to_be_visible()
    async with tab.expect_download() as waiting:
        await tab.locator("#diagnostics-link").click()
    download = await waiting.value
    assert re.fullmatch(r"diagnostics-CP-TEST-1-\d{8}T\d{6}Z\.tar\.gz", download.suggested_filename)
    with tarfile.open(fileobj=io.BytesIO(Path(await download.path()).read_bytes())) as archive:
        state = json.loads(archive.extractfile("state.json").read())
    assert state["config"]["ocpp"]["csms_url"] == new_url
    assert any(e["kind"] == "stop" for e in state["history"])
    assert not tab.errors, tab.errors


async def test_each_refusal_is_clear_and_changes_nothing(page_sim, csms, make_page, browser):
    sim = page_sim
    service = await make_page(csms.port)
    await booted(csms)
    before = service.config_path.read_text()
    tab = await open_tab(browser, f"{service.url}/")
    await expect(tab).to_have_url(re.compile(r"/login$"))  # no credentials: the login page only
    await log_in(tab)
    await expect(tab.locator("#role-badge")).to_have_text("Installer", timeout=TIMEOUT_MS)

    # The contactor closes while the button is held, and opens when it is let go.
    await tab.locator("#tabs button[data-tab=tests]").click()
    hold = tab.locator("#tests-1 button[data-test=contactor]")
    await hold.hover()
    await tab.mouse.down()
    await sim.wait_for(lambda s: s["gpio"][1]["contacts_closed"], timeout=10)
    await expect(tab.locator("#tests-1 [data-f=contactor-state]")).to_contain_text("Contactor closed")
    await tab.mouse.up()
    await sim.wait_for(lambda s: not s["gpio"][1]["coil"], timeout=5)
    # Not with an EV plugged in.
    sim.plug(1)
    await expect(tab.locator("#connector-1 [data-f=pilot]")).not_to_have_text(re.compile("^A"), timeout=TIMEOUT_MS)
    await hold.hover()
    await tab.mouse.down()
    state = tab.locator("#tests-1 [data-f=contactor-state]")
    await expect(state).to_have_attribute("data-code", "ev_plugged")
    await expect(state).to_contain_text("an EV is plugged in (pilot state")
    await tab.mouse.up()
    assert not sim.state()["gpio"][1]["coil"]

    # A request without the CSRF token (as another script would send it).
    answer = await tab.evaluate("""async () => {
        const r = await fetch('/api/test/meter', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                  body: JSON.stringify({connector: 1})});
        return [r.status, await r.json()];
    }""")
    assert answer == [403, {"error": "the request has no valid CSRF token: reload the page", "code": "csrf"}]

    # A configuration that fails validation: its field is named, nothing can be applied.
    await tab.locator("#tabs button[data-tab=config]").click()
    unit = tab.locator('#config-form [data-key="connectors[0].board.unit"]')
    await expect(unit).to_have_value("1")
    await unit.fill("300")
    await tab.locator("#config-check").click()
    await expect(tab.locator("#config-error")).to_have_text("connectors[0].board.unit: 300 is outside 1-247 (255 only on a tcp bus)")
    await expect(unit).to_have_class(re.compile(r"\binvalid\b"))
    await expect(tab.locator("#config-apply")).to_be_hidden()
    assert service.config_path.read_text() == before
    assert not tab.errors, tab.errors


async def test_an_expired_session_and_a_locked_out_password(page_sim, csms, make_page, browser):
    service = await make_page(csms.port, lifetime_s=6)
    tab = await open_tab(browser, service.url, width=390, height=844)  # a phone
    await log_in(tab)
    await expect(tab.locator("#role-badge")).to_have_text("Installer", timeout=TIMEOUT_MS)
    await expect(tab.locator("#link-state")).to_have_attribute("data-connected", "yes", timeout=TIMEOUT_MS)
    assert await tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    await tab.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)
    # The session ends by itself: the page goes back to the login, saying why.
    await expect(tab).to_have_url(re.compile(r"/login\?expired=1$"), timeout=TIMEOUT_MS)
    await expect(tab.locator("#login-note")).to_have_text("Your session has expired: log in again.")
    # A wrong password, again and again: locked out.
    for _ in range(4):
        await log_in(tab, password="not the password")
        await expect(tab.locator("#login-error")).to_have_text("Wrong role or password.")
        await expect(tab.locator("#login-button")).to_be_enabled()
    await log_in(tab, password="not the password")
    await expect(tab.locator("#login-error")).to_have_text("Too many failed attempts: try again in 30 s.")
    await log_in(tab)  # the right one, too soon
    await expect(tab.locator("#login-error")).to_have_attribute("data-code", "rate_limited")
    await expect(tab).to_have_url(re.compile(r"/login"))
    assert not tab.errors, tab.errors


async def test_the_page_speaks_the_stations_language(page_sim, csms, make_page, browser):
    service = await make_page(csms.port, extra='\n[ev_driver]\nlanguage = "de"\nsupported_languages = ["de", "en"]\n')
    tab = await open_tab(browser, service.url)
    await expect(tab.locator("#login-button")).to_have_text("Anmelden")  # the station's Language first
    await tab.locator("#language").select_option("en")
    await expect(tab.locator("#login-button")).to_have_text("Log in")
    await tab.locator("#language").select_option("de")
    await expect(tab.locator("#login-button")).to_have_text("Anmelden")
    await log_in(tab)
    await expect(tab.locator("#role-badge")).to_have_text("Installateur", timeout=TIMEOUT_MS)
    await expect(tab.locator("#tabs button[data-tab=config]")).to_have_text("Inbetriebnahme")
    await expect(tab.locator("#connector-1 [data-f=status]")).to_have_text("Verfügbar", timeout=TIMEOUT_MS)
    assert not tab.errors, tab.errors
