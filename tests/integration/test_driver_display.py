"""What the driver sees and does, end to end: the "Heidelberg + PN532 + OLED" build (the shipped
config files), the real agent process, ocpp-csms over a real websocket, and the OLED read
byte for byte from the simulator's SSD1306 twin.

- the idle screen: the payment QR code (the right URL, module by module) and the default price;
- California Pricing (DataTransfer org.openchargealliance.costmsg): SetUserPrice → the driver's
  price once the card is identified, RunningCost → the running cost (and its MeterValues
  trigger), FinalCost → the total after the stop;
- display messages (DataTransfer org.evse-agent DisplayMessage) in the configured language,
  shown, then gone at the end of their duration;
- a reservation on the display, and the reserved card starting without an Authorize;
- free vend: plug in and charge, no card, a normal metered transaction;
- MinimumStatusDuration: a short-lived status is not reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import segno
from ocpp.v16 import call
from ocpp_csms import AuthorizationStatus, CentralSystem, MeterValuesEvent, StatusEvent
from ocpp_csms import TransactionStartedEvent, TransactionStoppedEvent

from agent.ui.screens import qr_matrix
from tests.integration.conftest import AgentProcess, Recorder
from tests.integration.test_oled_build import CARD, CP_ID, agent_config, oled_sim, shows  # noqa: F401 (fixture)
from tests.integration.test_session_flow import booted, evse, status_reached

COSTMSG = "org.openchargealliance.costmsg"
PAY_URL = f"https://pay.example.com/{CP_ID}/1"
DRIVER = """
[ev_driver]
language = "de"
supported_languages = ["en", "de"]
currency_format = "{amount} €"
default_price_text = "0.39 €/kWh"
"""


def qr_on_panel(picture: dict, payload: str) -> bool:
    """Whether the OLED's QR code is exactly segno's code of ``payload`` (dark module = pixel off
    on the lit field, laid out as agent/ui/screens.py does: the right 64×64 square)."""
    modules, scale, border = qr_matrix(payload, 64)
    side = (len(modules) + 2 * border) * scale
    left, top = 128 - 64 + (64 - side) // 2, (64 - side) // 2
    rows = picture["rows"]
    expected = segno.make(payload, error="l", boost_error=False, micro=False).matrix
    for r in range(-border, len(expected) + border):
        for c in range(-border, len(expected) + border):
            dark = 0 <= r < len(expected) and 0 <= c < len(expected) and bool(expected[r][c])
            x, y = left + (border + c) * scale, top + (border + r) * scale
            if (rows[y][x] == "1") is dark:
                return False
    return True


@pytest.fixture
async def authorizing_csms():
    """ocpp-csms that accepts every idTag and notes each one it was asked about (Authorize and
    StartTransaction both ask)."""
    recorder = Recorder()
    asked: list[str] = []

    async def authorize(_cp, id_tag: str) -> AuthorizationStatus:
        asked.append(id_tag)
        return AuthorizationStatus.ACCEPTED

    central = CentralSystem(host="127.0.0.1", port=0, heartbeat_interval=60, authorize=authorize)
    central.add_listener(recorder)
    await central.async_start()
    central.recorder, central.asked = recorder, asked
    yield central
    await central.async_stop()


@pytest.fixture
async def start_agent(oled_sim, tmp_path):
    agents: list[AgentProcess] = []

    async def start(csms, extra: str = DRIVER) -> AgentProcess:
        config = tmp_path / "agent.toml"
        config.write_text(agent_config(oled_sim, csms.port, tmp_path / "data") + extra)
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        agents.append(agent)
        await booted(csms)
        return agent

    yield start
    for agent in agents:
        await agent.stop()
        print(agent.log()[-6000:])


async def test_price_running_cost_and_final_cost_on_the_display(oled_sim, csms, start_agent):
    sim, rec = oled_sim, csms.recorder
    await start_agent(csms)
    cp = csms.charge_points[CP_ID]
    # Idle: the payment QR code of this charge point and connector, and the default price.
    await sim.wait_for(lambda s: s["i2c"]["displays"]["1"]["on"] and shows(sim.display(1), "0.39 €/kWh"), timeout=10)
    assert qr_on_panel(sim.display(1), PAY_URL)
    assert not qr_on_panel(sim.display(1), f"https://pay.example.com/{CP_ID}/2")

    # The driver's own price, held until their card is identified here.
    price = {"idToken": CARD, "priceText": "Your price 0.29 €/kWh",
             "priceTextExtra": [{"format": "UTF8", "language": "de", "content": "Ihr Preis 0,29 €/kWh"}]}
    assert await cp.async_data_transfer(COSTMSG, "SetUserPrice", json.dumps(price)) == ("Accepted", None)
    assert shows(sim.display(1), "0.39 €/kWh")
    sim.tap_card(CARD, hold_s=1.0)
    await rec.wait_for(status_reached(csms, "Preparing"))
    await sim.wait_for(lambda s: shows(sim.display(1), "0,29 €/kWh"), timeout=10)  # German, as configured
    assert qr_on_panel(sim.display(1), PAY_URL)  # still free to pay by phone until the plug

    sim.plug(1)
    started = await rec.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    tx = started.transaction.transaction_id
    await rec.wait_for(status_reached(csms, "Charging"))
    running = {"transactionId": tx, "timestamp": "2026-03-19T12:00:00Z", "meterValue": 1234, "cost": 1.234,
               "state": "Charging", "chargingPrice": {"kWhPrice": 0.29, "hourPrice": 0, "flatFee": 0},
               "triggerMeterValue": {"atCPStatus": ["SuspendedEV"]}}
    assert await cp.async_data_transfer(COSTMSG, "RunningCost", json.dumps(running)) == ("Accepted", None)
    await sim.wait_for(lambda s: shows(sim.display(1), "Cost 1.23 €"), timeout=10)
    # The trigger: MeterValues when the EV pauses.
    mark = len(rec.events)
    sim.set_ev_state(1, "B")
    await rec.wait_for(lambda e: isinstance(e, MeterValuesEvent) and any(r.context == "Trigger" for r in e.readings),
                       after=mark)
    # Not this transaction, or not the message: Rejected with a reason, the display as it was.
    status, why = await cp.async_data_transfer(COSTMSG, "RunningCost", json.dumps({**running, "transactionId": tx + 1}))
    assert status == "Rejected" and "no transaction" in why
    status, why = await cp.async_data_transfer(COSTMSG, "RunningCost", json.dumps({**running, "cost": "lots"}))
    assert status == "Rejected" and "cost" in why
    assert (await cp.async_data_transfer(COSTMSG, "Tariff", "{}"))[0] == "UnknownMessageId"
    assert shows(sim.display(1), "Cost 1.23 €")

    assert await cp.async_remote_stop_transaction(tx) == "Accepted"
    await rec.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    final = {"transactionId": tx, "cost": 3.31, "priceText": "3.31 € for 11.4 kWh. Thank you!",
             "qrCodeText": "https://cpo.example.com/invoices/13546"}
    assert await cp.async_data_transfer(COSTMSG, "FinalCost", json.dumps(final)) == ("Accepted", None)
    await sim.wait_for(lambda s: shows(sim.display(1), "Total 3.31 €") and shows(sim.display(1), "Thank you!"),
                       timeout=10)
    assert not shows(sim.display(1), "Cost 1.23 €")


async def test_a_display_message_is_shown_in_the_configured_language_then_ends(oled_sim, csms, start_agent):
    sim = oled_sim
    await start_agent(csms)
    cp = csms.charge_points[CP_ID]
    await sim.wait_for(lambda s: shows(sim.display(1), "0.39 €/kWh"), timeout=10)
    message = {"id": 3, "message": "Closed at 22:00", "language": "en",
               "messageExtra": [{"language": "de", "content": "Bis 22 Uhr"}],
               "priority": "InFront", "durationSeconds": 4, "connectorId": 0}
    assert await cp.async_data_transfer("org.evse-agent", "DisplayMessage", json.dumps(message)) == ("Accepted", None)
    await sim.wait_for(lambda s: shows(sim.display(1), "Bis 22 Uhr"), timeout=5)
    assert qr_on_panel(sim.display(1), PAY_URL)  # beside the QR code, in place of the price
    await sim.wait_for(lambda s: shows(sim.display(1), "0.39 €/kWh") and not shows(sim.display(1), "Bis 22 Uhr"),
                       timeout=10)
    status, why = await cp.async_data_transfer("org.evse-agent", "DisplayMessage", json.dumps({"message": ""}))
    assert status == "Rejected" and "message" in why
    assert (await cp.async_data_transfer("org.example", "DisplayMessage", "{}"))[0] == "UnknownVendorId"


async def test_a_reservation_on_the_display_and_the_reserved_card_starts_at_once(oled_sim, authorizing_csms,
                                                                                start_agent):
    sim, csms = oled_sim, authorizing_csms
    await start_agent(csms)
    cp = csms.charge_points[CP_ID]
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).isoformat()
    result = await cp.async_call(call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag=CARD, reservation_id=11))
    assert result.status == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Reserved"))
    await sim.wait_for(lambda s: shows(sim.display(1), "Reserved", 2) and shows(sim.display(1), "Reserved for E5F6 -")
                       and shows(sim.display(1), "10 min left"), timeout=10)
    assert not qr_on_panel(sim.display(1), PAY_URL)  # held for its driver: nobody else pays here
    sim.plug(1)
    sim.tap_card(CARD, hold_s=1.0)
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == CARD
    assert csms.asked == [CARD]  # StartTransaction only: the reserved card needed no Authorize


async def test_free_vend_plug_in_and_charge_without_a_card(oled_sim, csms, start_agent):
    sim, rec = oled_sim, csms.recorder
    await start_agent(csms, DRIVER + '\n[free_vend]\nid_tag = "FREEVEND"\n')
    sim.plug(1)
    started = await rec.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == "FREEVEND" and started.transaction.connector_id == 1
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
    await rec.wait_for(lambda e: isinstance(e, MeterValuesEvent) and e.transaction_id == started.transaction.transaction_id)
    await sim.wait_for(lambda s: evse(s)["energy_wh"] >= started.transaction.meter_start + 20, timeout=20)
    sim.unplug(1)
    stopped = await rec.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "EVDisconnected"
    assert stopped.transaction.meter_stop > started.transaction.meter_start
    await rec.wait_for(status_reached(csms, "Available"), after=rec.events.index(started))
    assert len(rec.of(TransactionStartedEvent)) == 1  # no new session without a new plug


async def test_a_status_shorter_than_minimum_status_duration_is_not_reported(oled_sim, csms, start_agent):
    sim, rec = oled_sim, csms.recorder
    await start_agent(csms)
    cp = csms.charge_points[CP_ID]
    assert await cp.async_change_configuration("MinimumStatusDuration", "3") == "Accepted"
    loop = asyncio.get_running_loop()
    # A short plug: the agent sees Preparing (its display says so), then Available again.
    sim.plug(1)
    await sim.wait_for(lambda s: shows(sim.display(1), "Preparing"), timeout=10)
    sim.unplug(1)
    await sim.wait_for(lambda s: shows(sim.display(1), "Available"), timeout=10)
    # A long one: reported, but only once it has lasted 3 s (the agent sees the plug after it happened).
    plugged = loop.time()
    sim.plug(1)
    await rec.wait_for(status_reached(csms, "Preparing"), timeout=10)
    assert loop.time() - plugged >= 3.0
    statuses = [e.connector.status for e in rec.of(StatusEvent) if e.connector.connector_id == 1]
    assert statuses.count("Preparing") == 1 and statuses[-2:] == ["Available", "Preparing"]
