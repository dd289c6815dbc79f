"""OCTT 2.0.1 block I (Tariff and cost): the running total cost of a transaction from CostUpdated
and from TransactionEventResponse, the final total cost after it, and the driver's personal
message, as the EV driver reads them on the station's OLED (the simulator's SSD1306 twin, the
picture its page shows), with the strict backend checking every message both ways.

The station is the block's usual one with an SSD1306 on its I²C bus for EVSE 1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from tests.conformance.conftest import VALID
from tests.integration.test_oled_build import shows

DISPLAY = """
[[displays]]
address = 0x3C
connector = 1
"""


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """The conformance station's hardware with an OLED for EVSE 1."""
    data = default_toml()
    data["evse"] = [{**data["evse"][0], "display_address": 60}]
    data["i2c"] = {**data["i2c"], "nfc": "pn532", "temperature_sensor": "none"}
    config = parse_config(data)
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0, hold_s=0.6))
    simulator = Simulator(config, http=False, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def on_display(station, text: str, timeout: float = 15.0) -> None:
    """``text`` appears on EVSE 1's OLED."""
    await station.sim.wait_for(lambda s: shows(station.sim.display(1), text), timeout=timeout)


async def charging(station, csms) -> str:
    """Reusable state EnergyTransferStarted; the transactionId."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    return started["transactionInfo"]["transactionId"]


def answering(csms, **extra_by_event: dict):
    """TransactionEvent answers: the backend's usual one, plus ``extra_by_event[eventType]``."""
    usual = csms._answer201_TransactionEvent

    def answer(payload: dict) -> dict:
        return {**usual(payload), **extra_by_event.get(payload["eventType"], {})}

    return answer


async def test_TC_I_01_running_total_cost_from_cost_updated(station, csms):
    """I02: CostUpdated's totalCost is shown as the running cost of the transaction."""
    await station.boot(extra=DISPLAY)
    transaction_id = await charging(station, csms)
    assert await csms.call("CostUpdated", {"totalCost": 1.23, "transactionId": transaction_id}) == {}
    await on_display(station, "Cost 1.23")
    assert await csms.call("CostUpdated", {"totalCost": 2.5, "transactionId": transaction_id}) == {}
    await on_display(station, "Cost 2.50")
    # A cost for a transaction that does not run here is answered and not shown.
    assert await csms.call("CostUpdated", {"totalCost": 9.99, "transactionId": "not-here"}) == {}
    await csms.barrier()
    assert not shows(station.sim.display(1), "9.99")


async def test_TC_I_02_final_total_cost_after_charging(station, csms):
    """I03: the totalCost of the answer to the Ended event is shown as the final total, with the
    personal message that came with it (I06)."""
    final = {"totalCost": 4.56, "updatedPersonalMessage": {"format": "ASCII", "content": "Thank you"}}
    csms.answers["TransactionEvent"] = answering(csms, Ended=final)
    await station.boot(extra=DISPLAY)
    await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID)  # the EV driver ends the transaction
    await csms.wait_transaction_event("Ended", after=mark)
    await on_display(station, "Total 4.56")
    await on_display(station, "Thank you")


async def test_TC_I_07_running_total_cost_from_transaction_event_response(station, csms):
    """I02: a totalCost in the answer to an Updated event is the running cost; the
    updatedPersonalMessage (the tariff, I06) is shown beside it."""
    running = {"totalCost": 0.75, "updatedPersonalMessage": {"format": "ASCII", "content": "0.30/kWh"}}
    csms.answers["TransactionEvent"] = answering(csms, Updated=running)
    await station.boot(extra=DISPLAY)
    result = await csms.call("SetVariables", {"setVariableData": [{
        "component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}, "attributeValue": "2"}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    mark = csms.mark()
    await charging(station, csms)
    await csms.wait_transaction_event("Updated", after=mark)
    await on_display(station, "Cost 0.75")
    await on_display(station, "0.30/kWh")


async def test_driver_tariff_from_authorize_response(station, csms):
    """I01: the personalMessage of the AuthorizeResponse's IdTokenInfo (the driver's tariff) is
    shown when the driver presents the card, before any transaction."""
    usual = csms._answer201_Authorize
    tariff = {"format": "ASCII", "language": "en", "content": "Yours: 0.25/kWh"}

    def authorize(payload: dict) -> dict:
        answer = usual(payload)
        return {**answer, "idTokenInfo": {**answer["idTokenInfo"], "personalMessage": tariff}}

    csms.answers["Authorize"] = authorize
    await station.boot(extra=DISPLAY)
    assert not shows(station.sim.display(1), "0.25/kWh")
    mark = csms.mark()
    await station.tap(VALID)
    assert (await csms.wait_call("Authorize", after=mark))["idToken"]["idToken"] == VALID
    await on_display(station, "0.25/kWh")
    assert not csms.transaction_events(after=mark)
