"""The service page of a real agent process, over HTTPS with the certificate it made itself:
who gets in, what each role may do, what a change must carry, the interlocks, commissioning
with a restart, and support's downloads. Every refusal leaves the station as it was."""

from __future__ import annotations

import asyncio
import io
import json
import ssl
import tarfile

import pytest
from ocpp_csms import BootEvent, CentralSystem, SecurityEvent, TransactionStartedEvent

from tests.integration.conftest import Recorder
from tests.integration.test_oled_build import shows
from tests.integration.test_security import log_shows
from tests.integration.test_session_flow import booted, evse, status_reached
from tests.service.conftest import CARD, INSTALLER_PASSWORD, SUPPORT_PASSWORD, cli, login


def security_log(page) -> str:
    path = page.data_dir / "security.log"
    return path.read_text() if path.exists() else ""


async def post(http, path, body, csrf=None, **kwargs):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    headers.update(kwargs.pop("headers", {}))
    async with http.post(path, json=body, headers=headers, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def get_json(http, path):
    async with http.get(path, allow_redirects=False) as response:
        return response.status, await response.json(content_type=None)


def coil(sim) -> bool:
    return sim.state()["gpio"][1]["coil"]


async def test_the_certificate_is_the_pages_own_and_the_fingerprint_is_printed(page_sim, csms, make_page):
    page = await make_page(csms.port)
    # The client above trusts exactly the generated certificate: its name is 127.0.0.1.
    context = page.ssl()
    reader, writer = await asyncio.open_connection("127.0.0.1", int(page.url.rsplit(":", 1)[1]), ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    assert ssl.DER_cert_to_PEM_cert(der).strip() == page.cert.read_text().strip()
    code, out, _ = await cli("service-password", "--config", str(page.config_path), "--role", "support",
                             "--password-stdin", stdin=SUPPORT_PASSWORD + "\n")
    from agent.service.tls import fingerprint

    assert code == 0 and f"fingerprint (compare it with the browser's): {fingerprint(page.cert.read_bytes())}" in out


async def test_without_a_session_there_is_only_the_login_page(page_sim, csms, make_page):
    page = await make_page(csms.port)
    before = page.config_path.read_text()
    async with page.client() as http:
        for path in ("/", "/static/app.js", "/static/index.html", "/anything", "/static/../server.py"):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/login", path
        for path in ("/api/status", "/api/config", "/api/logs", "/api/history", "/api/diagnostics"):
            assert await get_json(http, path) == (401, {"error": "log in first", "code": "login"}), path
        assert (await post(http, "/api/config/apply", {"form": {}, "digest": ""}))[0] == 401
        assert (await post(http, "/api/test/contactor/hold", {"connector": 1}))[0] == 401
        async with http.get("/login") as response:
            assert response.status == 200 and "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        async with http.get("/static/login.js") as response:
            assert response.status == 200
    assert page.config_path.read_text() == before and not coil(page_sim)


async def test_a_wrong_password_is_refused_then_the_address_is_locked_out(page_sim, csms, make_page):
    page = await make_page(csms.port)
    async with page.client() as http:
        for _ in range(4):
            assert await post(http, "/api/login", {"role": "installer", "password": "wrong password!"}) == (
                401, {"error": "wrong role or password", "code": "wrong_password"})
        status, body = await post(http, "/api/login", {"role": "installer", "password": "wrong password!"})
        assert status == 429 and body["code"] == "rate_limited" and body["retry_after_s"] == 30
        # Locked out: even the right password is refused now.
        status, body = await post(http, "/api/login", {"role": "installer", "password": INSTALLER_PASSWORD})
        assert status == 429 and "try again in" in body["error"]
        assert (await get_json(http, "/api/status"))[0] == 401
    log = security_log(page)
    assert log.count("service page: (not logged in) from 127.0.0.1: login as installer failed") == 5
    assert "locked out for 30 s" in log and "login as installer refused: too many failed attempts" in log


async def test_support_may_look_but_not_change_or_test(page_sim, csms, make_page):
    page = await make_page(csms.port)
    before = page.config_path.read_text()
    async with page.client() as http:
        csrf = await login(http, "support", SUPPORT_PASSWORD)
        for path in ("/api/status", "/api/config", "/api/logs?connector=1", "/api/history?connector=1", "/api/session"):
            assert (await get_json(http, path))[0] == 200, path
        config = (await get_json(http, "/api/config"))[1]
        assert config["may_change"] is False
        async with http.get("/api/diagnostics") as response:
            assert response.status == 200
        for path, body in (("/api/test/contactor/hold", {"connector": 1}), ("/api/test/meter", {"connector": 1}),
                           ("/api/config/apply", {"form": config["values"], "digest": "x"}),
                           ("/api/config/restore/apply", {"digest": "x"})):
            status, answer = await post(http, path, body, csrf)
            assert (status, answer["code"]) == (403, "role"), path
    assert page.config_path.read_text() == before and not coil(page_sim)
    assert "service page: support from 127.0.0.1: /api/test/contactor/hold refused: the support role may only read" \
        in security_log(page)


async def test_a_change_without_the_csrf_token_is_refused(page_sim, csms, make_page):
    page = await make_page(csms.port)
    async with page.client() as http:
        csrf = await login(http)
        assert await post(http, "/api/test/contactor/hold", {"connector": 1}) == (
            403, {"error": "the request has no valid CSRF token: reload the page", "code": "csrf"})
        assert (await post(http, "/api/test/contactor/hold", {"connector": 1}, "forged"))[1]["code"] == "csrf"
        # A cross-site form (no JSON) and another origin are refused before anything else.
        async with http.post("/api/test/contactor/hold", data={"connector": "1"}, headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 415
        status, body = await post(http, "/api/test/contactor/hold", {"connector": 1}, csrf,
                                  headers={"Origin": "https://evil.example"})
        assert (status, body["code"]) == (403, "origin")
        assert not coil(page_sim)
        assert (await post(http, "/api/logout", {}))[0] == 403  # logging out needs it too
    assert "/api/test/contactor/hold refused: no valid CSRF token" in security_log(page)


async def test_an_expired_session_is_refused(page_sim, csms, make_page):
    page = await make_page(csms.port, lifetime_s=5)
    async with page.client() as http:
        csrf = await login(http)
        assert (await get_json(http, "/api/status"))[0] == 200
        async with asyncio.timeout(15):
            while (answer := await get_json(http, "/api/status"))[0] == 200:
                await asyncio.sleep(0.2)
        assert answer == (401, {"error": "your session has expired: log in again", "code": "expired"})
        assert (await post(http, "/api/test/meter", {"connector": 1}, csrf))[0] == 401
        async with http.get("/", allow_redirects=False) as response:
            assert response.headers["Location"] == "/login"


async def test_the_contactor_closes_only_held_and_never_with_an_ev_plugged(page_sim, csms, make_page):
    sim = page_sim
    page = await make_page(csms.port)
    await booted(csms)
    async with page.client() as http:
        csrf = await login(http)
        sim.plug(1)
        await csms.recorder.wait_for(status_reached(csms, "Preparing"))
        status, body = await post(http, "/api/test/contactor/hold", {"connector": 1, "first": True}, csrf)
        assert (status, body["code"]) == (409, "ev_plugged") and "an EV is plugged in (pilot state" in body["error"]
        assert not coil(sim)
        seen = len(csms.recorder.events)
        sim.unplug(1)
        await csms.recorder.wait_for(status_reached(csms, "Available"), after=seen)
        status, body = await post(http, "/api/test/contactor/hold", {"connector": 1, "first": True}, csrf)
        assert status == 200 and body["closed"] is True
        await sim.wait_for(lambda s: s["gpio"][1]["contacts_closed"], timeout=5)
        # Not renewed: the dead man's switch opens it.
        await sim.wait_for(lambda s: not s["gpio"][1]["coil"], timeout=5)
        status_now = (await get_json(http, "/api/status"))[1]
        state = status_now["connectors"][0]["contactor_test"]
        assert state["closed"] is False and state["ended"] == "released (not renewed)"
        # The test's own log lines are not taken for the contactor's errors.
        assert [d["last_error"] for d in status_now["hardware"] if d["kind"] == "contactor"] == [None]
    log = security_log(page)
    assert "contactor test, connector 1: refused: an EV is plugged in (pilot state" in log
    assert "contactor test, connector 1: contactor closed (held)" in log


async def test_meter_card_and_led_tests(page_sim, csms, make_page):
    sim = page_sim
    page = await make_page(csms.port)
    await booted(csms)
    async with page.client() as http:
        csrf = await login(http)
        status, meter = await post(http, "/api/test/meter", {"connector": 1}, csrf)
        assert status == 200 and meter["voltage_v"] == [230.0, 230.0, 230.0]
        card = asyncio.create_task(post(http, "/api/test/card", {}, csrf))
        await log_shows(page.agent, "card test: waiting up to")  # the request waits: tap now
        sim.tap_card(CARD)
        status, result = await card
        assert status == 200 and result == {"id_tag": CARD, "accepted": True, "why": "backend: Accepted"}
        assert not csms.recorder.of(TransactionStartedEvent)  # the test card started nothing
        toggles = sim.state()["gpio"][1]["led_toggles"]["led_red"]
        status, lights = await post(http, "/api/test/lights", {"connector": 1}, csrf)
        assert status == 200 and lights == {"result": ["green", "blue", "red"]}
        assert sim.state()["gpio"][1]["led_toggles"]["led_red"] >= toggles + 2  # red went on and off
        status, rcd = await post(http, "/api/test/rcd", {"connector": 1}, csrf)
        assert status == 200 and rcd["passed"] is True
        status, shown = await post(http, "/api/test/display", {"connector": 1, "text": "Display test"}, csrf)
        assert (status, shown) == (200, {"result": "Display test"})
        await sim.wait_for(lambda s: shows(sim.display(1), "Display test"), timeout=10)  # on the OLED
    log = security_log(page)
    for line in ("meter test, connector 1", f"card test: id_tag={CARD}, accepted=True", "LED test, connector 1",
                 "RCD self-test, connector 1: connector_id=1, passed=True", "display test, connector 1: Display test"):
        assert line in log


async def test_a_change_that_fails_validation_changes_nothing(page_sim, csms, make_page):
    page = await make_page(csms.port)
    before = page.config_path.read_text()
    async with page.client() as http:
        csrf = await login(http)
        started = (await get_json(http, "/api/status"))[1]["started_at"]
        form = (await get_json(http, "/api/config"))[1]["values"]
        form["ocpp"]["csms_url"] = "http://127.0.0.1:1/ocpp"
        status, proposal = await post(http, "/api/config/check", {"form": form}, csrf)
        assert status == 200 and proposal["ok"] is False and proposal["error_key"] == "ocpp.csms_url"
        assert proposal["error"] == "ocpp.csms_url: 'http://127.0.0.1:1/ocpp' is not a ws:// or wss:// URL"
        status, body = await post(http, "/api/config/apply", {"form": form, "digest": proposal["digest"]}, csrf)
        assert (status, body["code"], body["error_key"]) == (422, "invalid", "ocpp.csms_url")
        assert (await get_json(http, "/api/status"))[1]["started_at"] == started  # no restart
    assert page.config_path.read_text() == before
    assert not page.config_path.with_name("agent.toml.previous").exists()
    assert "configuration applied: refused: ocpp.csms_url" in security_log(page)


@pytest.fixture
async def second_csms():
    recorder = Recorder()
    central = CentralSystem(host="127.0.0.1", port=0, heartbeat_interval=60)
    central.add_listener(recorder)
    await central.async_start()
    central.recorder = recorder
    yield central
    await central.async_stop()


async def test_commissioning_a_new_backend_restarts_and_reconnects_and_can_be_undone(page_sim, csms, second_csms,
                                                                                     make_page):
    page = await make_page(csms.port)
    await booted(csms)
    pid = page.agent.proc.pid
    async with page.client() as http:
        csrf = await login(http)
        started = (await get_json(http, "/api/status"))[1]["started_at"]
        form = (await get_json(http, "/api/config"))[1]["values"]
        form["ocpp"]["csms_url"] = f"ws://localhost:{second_csms.port}/ocpp"
        form["ocpp"]["allow_unencrypted"] = True  # a security setting: reported as a security event
        status, proposal = await post(http, "/api/config/check", {"form": form}, csrf)
        assert proposal["ok"] and proposal["changed"], proposal
        assert f'+csms_url = "ws://localhost:{second_csms.port}/ocpp"' in proposal["diff"]
        assert await post(http, "/api/config/apply", {"form": form, "digest": proposal["digest"]}, csrf) == (
            200, {"ok": True, "restarting": True})
        await second_csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=30)
        await page.answering()
        status, state = await get_json(http, "/api/status")  # still logged in after the restart
        assert status == 200 and state["started_at"] != started
        assert state["link"]["url"] == f"ws://localhost:{second_csms.port}/ocpp/CP-TEST-1"
        async with asyncio.timeout(20):
            while not (await get_json(http, "/api/status"))[1]["link"]["connected"]:
                await asyncio.sleep(0.2)
        # Recorded when applied, so the backend the station was connected to then hears of it.
        reconfigured = await csms.recorder.wait_for(
            lambda e: isinstance(e, SecurityEvent) and e.type == "ReconfigurationOfSecurityParameters")
        assert reconfigured.tech_info == "service page (installer from 127.0.0.1): ocpp.allow_unencrypted False -> True"
        await second_csms.recorder.wait_for(lambda e: isinstance(e, SecurityEvent) and e.type == "ResetOrReboot")

        # The previous configuration is kept: restore it.
        status, proposal = await post(http, "/api/config/restore/check", {}, csrf)
        assert proposal["ok"] and any(str(csms.port) in line for line in proposal["diff"])
        mark = len(csms.recorder.events)
        assert (await post(http, "/api/config/restore/apply", {"digest": proposal["digest"]}, csrf))[0] == 200
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=30, after=mark)
    assert page.agent.proc.pid == pid and page.agent.proc.returncode is None  # restarted in place (exec)
    assert f"ws://127.0.0.1:{csms.port}/ocpp" in page.config_path.read_text()
    log = security_log(page)
    assert "configuration applied in" in log and "previous configuration restored in" in log


async def test_a_live_session_the_logs_the_history_and_the_diagnostics_archive(page_sim, csms, make_page):
    sim = page_sim
    page = await make_page(csms.port)
    await booted(csms)
    async with page.client() as http:
        await login(http)
        sim.plug(1)
        await csms.recorder.wait_for(status_reached(csms, "Preparing"))
        assert await csms.charge_points["CP-TEST-1"].async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
        await sim.wait_for(lambda s: evse(s)["power_w"] > 0, timeout=10)
        async with asyncio.timeout(10):
            while True:
                connector = (await get_json(http, "/api/status"))[1]["connectors"][0]
                if connector["status"] == "Charging" and connector["power_w"] > 0:
                    break
                await asyncio.sleep(0.2)
        assert connector["transaction"]["id_tag"] == "TAG-1" and connector["contactor_closed"] is True
        assert connector["relay_closed"] is True and max(connector["current_a"]) > 10
        status, lines = await get_json(http, "/api/logs?connector=1&limit=50")
        assert status == 200 and lines and all(line["connector"] == 1 for line in lines)
        status, history = await get_json(http, "/api/history?connector=1")
        assert any(e["kind"] == "start" and "TAG-1" in e["detail"] for e in history)
        async with http.get("/api/diagnostics") as response:
            assert response.status == 200
            name = response.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
            data = await response.read()
    assert name.startswith("diagnostics-CP-TEST-1-") and name.endswith(".tar.gz")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        state = json.loads(archive.extractfile("state.json").read())
        log = archive.extractfile("agent.log").read().decode()
    assert state["connectors"][0]["transaction_id_tag"] == "TAG-1"
    assert "connector 1: transaction" in log
    assert "diagnostics archive" in security_log(page)


async def test_a_bad_request_body_gets_a_clear_answer(page_sim, csms, make_page):
    page = await make_page(csms.port)
    async with page.client() as http:
        csrf = await login(http)
        assert (await post(http, "/api/test/meter", {"connector": 9}, csrf)) == (
            400, {"error": "connector: one of [1]", "code": "bad_request"})
        async with http.post("/api/test/meter", data=b"{not json", headers={"X-CSRF-Token": csrf,
                                                                            "Content-Type": "application/json"}) as r:
            assert r.status == 400
        assert (await post(http, "/api/login", {"role": "root", "password": "x"}))[0] == 400

