"""The simulator's I²C bus: served over TCP, its chips in the HTTP API, taps on the PN532."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from drivers.bitmap import Bitmap
from drivers.bus.i2c import TcpI2c
from drivers.interfaces import DeviceUnavailable
from drivers.readers.pn532 import Pn532
from drivers.i2c.ssd1306 import Ssd1306Display
from drivers.i2c.temperature import Tmp102Sensor
from simulator.app import Simulator
from simulator.config import ConfigError, default_toml, parse_config
from tests.simulator.sim_card_states import CardStates


def i2c_config(**i2c):
    data = default_toml()
    data["evse"][0]["display_address"] = 0x3C
    data["vpcd"] = {**data["vpcd"], "port": 0}  # no PC/SC card: taps go to the PN532 only
    data["i2c"] = {**data["i2c"], "nfc": "pn532", **i2c}
    return parse_config(data)


@pytest.fixture
async def i2c_sim():
    sim = Simulator(i2c_config(), http_port=0, modbus_port=0, i2c_port=0)
    await sim.start()
    bus = TcpI2c(f"127.0.0.1:{sim.i2c_port}")
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{sim.http_port}") as http:
        yield sim, bus, http
    await bus.close()
    await sim.stop()


async def test_the_display_picture_over_http(i2c_sim):
    sim, bus, http = i2c_sim
    async with http.get("/api/evses/1/display") as r:
        body = await r.json()
    assert r.status == 200 and body["on"] is False and len(body["rows"]) == 64 and len(body["rows"][0]) == 128
    picture = Bitmap(128, 64)
    picture.fill_rect(3, 5, 40, 2)
    change = sim.change_event()
    await Ssd1306Display(bus, 0x3C).show(picture)
    await change.wait()  # a new picture wakes the page's event stream
    async with http.get("/api/evses/1/display") as r:
        body = await r.json()
    assert body["on"] is True and body["rows"] == picture.rows() and body["frames"] == 2
    assert sim.state()["i2c"]["displays"]["1"] == {"on": True, "frames": 2}
    async with http.get("/api/evses/2/display") as r:
        assert r.status == 404 and "no display" in (await r.json())["error"]


async def test_temperature_and_a_silent_chip_over_http(i2c_sim):
    sim, bus, http = i2c_sim
    sensor = Tmp102Sensor(bus, 0x48)
    assert await sensor.read_celsius() == 25.0
    async with http.post("/api/temperature", json={"celsius": 78.5}) as r:
        assert r.status == 200 and (await r.json())["temperature_c"] == 78.5
    assert await sensor.read_celsius() == 78.5
    async with http.post("/api/temperature", json={"celsius": "hot"}) as r:
        assert r.status == 400
    async with http.post("/api/i2c/0x48/fault", json={"kind": "comm"}) as r:
        assert r.status == 200 and (await r.json())["silent"] == [0x48]
    with pytest.raises(DeviceUnavailable):
        await sensor.read_celsius()
    async with http.delete("/api/i2c/72/fault") as r:
        assert r.status == 200
    assert await sensor.read_celsius() == 78.5
    async with http.post("/api/i2c/0x50/fault", json={"kind": "comm"}) as r:
        assert r.status == 404


async def test_a_tap_lies_on_the_pn532_for_the_hold_time(i2c_sim):
    sim, bus, http = i2c_sim
    chip = Pn532(bus, 0x24)
    await chip.setup()
    task = sim.tap_card("04a1b2c3d4e5f6", hold_s=30)
    await sim.wait_for(lambda s: s["card"] == "04A1B2C3D4E5F6")
    assert sim.state()["i2c"]["nfc_card"] == "04A1B2C3D4E5F6"
    assert await chip.read_passive_target() == bytes.fromhex("04A1B2C3D4E5F6")
    task.cancel()  # taken away
    await sim.wait_for(lambda s: s["card"] is None)
    assert await chip.read_passive_target() is None
    async with http.post("/api/card", json={"uid": "26DEFAE7"}) as r:
        assert r.status == 200  # no vpcd needed when a PN532 takes the card


def test_i2c_config_is_checked():
    with pytest.raises(ConfigError, match="0x48 used twice"):
        i2c_config(nfc_address=0x48)
    with pytest.raises(ConfigError, match="i2c.listen"):
        i2c_config(listen="5021")
    with pytest.raises(ConfigError, match="i2c.temperature_sensor"):
        i2c_config(temperature_sensor="ds18b20")


async def test_a_tap_replacing_a_card_waits_until_the_pn532_found_the_field_empty(i2c_sim):
    """A second tap while the first card is still on the reader: the first card leaves, the
    next one comes only after a search of the field found nothing (a hand is not faster)."""
    sim, bus, _http = i2c_sim
    chip = Pn532(bus, 0x24)
    await chip.setup()  # MaxRetries: a search with no card answers "no target"
    states = CardStates(sim)
    try:
        sim.tap_card("04A1B2C3", hold_s=30)
        await sim.wait_for(lambda s: s["card"] == "04A1B2C3")
        assert await chip.read_passive_target() == bytes.fromhex("04A1B2C3")
        second = sim.tap_card("0BADCAFE", hold_s=30)
        await sim.wait_for(lambda s: s["card"] is None and s["card_next"] == "0BADCAFE")
        # Nobody has searched the field since: the new card is not there yet.
        assert sim.state()["i2c"]["nfc_card"] is None and not sim.i2c.nfc.seen_empty
        assert await chip.read_passive_target() is None  # the host sees the field empty
        await sim.wait_for(lambda s: s["card"] == "0BADCAFE" and s["card_next"] is None)
        assert await chip.read_passive_target() == bytes.fromhex("0BADCAFE")
        # The same card tapped again: it too is taken away and seen gone first.
        sim.tap_card("0BADCAFE", hold_s=30)
        await sim.wait_for(lambda s: s["card"] is None and s["card_next"] == "0BADCAFE")
        assert not second.done()  # its card is off, and not yet seen gone
        assert await chip.read_passive_target() is None
        await asyncio.wait_for(second, 5)
        await sim.wait_for(lambda s: s["card"] == "0BADCAFE" and s["card_next"] is None)
        assert await chip.read_passive_target() == bytes.fromhex("0BADCAFE")
    finally:
        states.close()
    # What the page showed: never one card straight after another.
    assert states.shown() == [None, "04A1B2C3", None, "0BADCAFE", None, "0BADCAFE"]


async def test_a_tap_over_http_answers_once_its_card_is_on_the_reader(i2c_sim):
    sim, bus, http = i2c_sim
    chip = Pn532(bus, 0x24)
    await chip.setup()
    sim.tap_card("04A1B2C3", hold_s=30)
    await sim.wait_for(lambda s: s["card"] == "04A1B2C3")
    answer = asyncio.create_task(http.post("/api/card", json={"uid": "0BADCAFE"}))
    await sim.wait_for(lambda s: s["card_next"] == "0BADCAFE")
    assert not answer.done()
    assert await chip.read_passive_target() is None
    async with await answer as r:
        assert r.status == 200 and (await r.json())["uid"] == "0BADCAFE"
    assert sim.state()["card"] == "0BADCAFE" and sim.state()["card_next"] is None
