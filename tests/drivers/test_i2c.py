"""I²C drivers against the simulator's chip twins, over the simulated bus's TCP transport.

The twins (simulator/twins/i2c/ssd1306.py, temperature.py, simulator/twins/readers/pn532.py) are written from
the datasheet notes in docs/hardware/README.md; the checks are on the bytes they received and what they answer.
"""

from __future__ import annotations

import asyncio

import pytest

from drivers.bitmap import Bitmap
from drivers.bus.i2c import READ, WRITE, SmbusI2c, TcpI2c, open_bus
from drivers.interfaces import DeviceError, DeviceUnavailable, Display, I2cBus, TemperatureSensor
from drivers.readers.pn532 import Pn532, Pn532CardReader, information_frame
from drivers.i2c.ssd1306 import INIT, Ssd1306Display
from drivers.i2c.temperature import Lm75Sensor, Tmp102Sensor
from simulator.wire.i2c import SimI2cBus
from simulator.twins.readers.pn532 import Pn532Twin
from simulator.twins.i2c.ssd1306 import Ssd1306Twin
from simulator.twins.i2c.temperature import Lm75Twin, Tmp102Twin


class Recording:
    """A chip wrapper that keeps every write message, as a logic analyser would."""

    def __init__(self, chip) -> None:
        self.chip = chip
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.chip.write(data)

    def read(self, n: int) -> bytes:
        return self.chip.read(n)


@pytest.fixture
async def bus():
    sim = SimI2cBus()
    await sim.start("127.0.0.1", 0)
    client = TcpI2c(f"127.0.0.1:{sim.port}", timeout_s=1.0)
    yield sim, client
    await client.close()
    await sim.stop()


# ---- the transport -------------------------------------------------------------------


async def test_the_tcp_bus_is_an_i2c_bus_and_an_absent_chip_does_not_acknowledge(bus):
    sim, client = bus
    assert isinstance(client, I2cBus) and isinstance(SmbusI2c("/dev/i2c-1"), I2cBus)
    with pytest.raises(DeviceUnavailable, match="0x50: no acknowledge"):
        await client.read(0x50, 1)
    sim.attach(0x48, Tmp102Twin())
    assert len(await client.read_block(0x48, 0, 2)) == 2
    sim.set_silent(0x48)
    with pytest.raises(DeviceUnavailable):
        await client.read_block(0x48, 0, 2)
    sim.set_silent(0x48, False)
    assert len(await client.read_block(0x48, 0, 2)) == 2


async def test_a_malformed_request_gets_status_2_and_the_connection_goes_on(bus):
    sim, client = bus
    sim.attach(0x48, Tmp102Twin())
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(b"\x00\x03\x48\x01\x07")  # one message of kind 7
    assert await reader.readexactly(3) == b"\x00\x01\x02"
    writer.write(b"\x00\x05\x48\x01\x01\x00\x02")  # read 2 bytes
    assert (await reader.readexactly(5))[:3] == b"\x00\x03\x00"
    writer.close()
    assert await client.transfer(0x48, [(WRITE, b"\x00"), (READ, 2)])


async def test_the_simulator_going_away_is_device_unavailable_and_the_client_reconnects():
    sim = SimI2cBus()
    sim.attach(0x48, Tmp102Twin())
    await sim.start("127.0.0.1", 0)
    port = sim.port
    client = TcpI2c(f"127.0.0.1:{port}", timeout_s=0.5)
    assert await client.read_block(0x48, 0, 2)
    await sim.stop()
    with pytest.raises(DeviceUnavailable):
        await client.read_block(0x48, 0, 2)
    await sim.start("127.0.0.1", port)
    try:
        assert await client.read_block(0x48, 0, 2)
    finally:
        await client.close()
        await sim.stop()


async def test_smbus2_without_the_adapter_is_a_clear_device_unavailable():
    bus = open_bus(device="/dev/i2c-no-such-adapter")
    with pytest.raises(DeviceUnavailable, match="/dev/i2c-no-such-adapter 0x48"):
        await bus.read_block(0x48, 0, 2)
    await bus.close()
    with pytest.raises(ValueError):
        open_bus(device="/dev/i2c-1", sim="127.0.0.1:1")


# ---- SSD1306 -------------------------------------------------------------------------


async def test_ssd1306_init_sequence_control_bytes_and_the_picture(bus):
    sim, client = bus
    twin = Ssd1306Twin()
    rec = Recording(twin)
    sim.attach(0x3C, rec)
    display = Ssd1306Display(client, 0x3C)
    assert isinstance(display, Display)
    picture = Bitmap(128, 64)
    picture.fill_rect(0, 0, 128, 1)  # top row
    picture.fill_rect(0, 0, 1, 64)  # left column
    picture.set(127, 63)  # bottom right corner
    picture.fill_rect(60, 28, 5, 9)
    await display.show(picture)

    commands = [w for w in rec.writes if w[0] == 0x00]
    data = [w for w in rec.writes if w[0] == 0x40]
    assert all(len(w) <= 32 for w in commands)  # SMBus block writes
    sent = [b for w in commands for b in w[1:]]
    assert sent[: len(INIT[64])] == INIT[64]  # luma's 128x64 init, in order
    assert sent[len(INIT[64]) :].count(0xAF) == 1  # display on after the RAM was cleared
    assert [len(w) for w in data] == [1025, 1025]  # cleared RAM, then the picture (i2c_rdwr)
    assert twin.on and twin.charge_pump and twin.contrast == 0xCF
    assert twin.picture()["rows"] == picture.rows()  # upright: A1 + C8, LSB at the top

    await display.show_neutral()
    assert not any("1" in row for row in twin.picture()["rows"])
    await display.close()
    assert not twin.on and rec.writes[-1] == b"\x00\xae"


async def test_ssd1306_is_set_up_again_after_a_failed_write(bus):
    sim, client = bus
    twin = Ssd1306Twin()
    sim.attach(0x3C, twin)
    display = Ssd1306Display(client, 0x3C)
    picture = Bitmap(128, 64)
    picture.fill_rect(10, 10, 20, 20)
    await display.show(picture)
    sim.set_silent(0x3C)
    with pytest.raises(DeviceUnavailable):
        await display.show(picture)
    # the module lost power meanwhile: its registers are back at power-on values
    sim.chips[0x3C] = twin = Ssd1306Twin()
    sim.set_silent(0x3C, False)
    await display.show(picture)
    assert twin.on and twin.picture()["rows"] == picture.rows()


def test_ssd1306_twin_page_addressing_and_a_mirrored_module():
    twin = Ssd1306Twin()
    twin.write(bytes([0x00, 0x8D, 0x14, 0xAF, 0x20, 0x02, 0xB2, 0x05, 0x10]))  # page 2, column 5
    twin.write(bytes([0x40, 0x01, 0x80]))
    rows = twin.picture()["rows"]  # power-on: A0 / C0, mirrored both ways
    assert rows[63 - 16][127 - 5] == "1" and rows[63 - 23][127 - 6] == "1"
    twin.write(bytes([0x80, 0xA1, 0x80, 0xC8]))  # Co = 1: one command per control byte
    rows = twin.picture()["rows"]
    assert rows[16][5] == "1" and rows[23][6] == "1" and sum(r.count("1") for r in rows) == 2
    twin.write(bytes([0x00, 0xA7]))
    assert sum(r.count("1") for r in twin.picture()["rows"]) == 128 * 64 - 2


# ---- temperature sensors -------------------------------------------------------------


@pytest.mark.parametrize("celsius", [25.0, 71.5, -10.25, 0.0625, 127.9375])
async def test_tmp102_twelve_bit(bus, celsius):
    sim, client = bus
    twin = Tmp102Twin()
    sim.attach(0x48, twin)
    twin.celsius = celsius
    sensor = Tmp102Sensor(client, 0x48)
    assert isinstance(sensor, TemperatureSensor)
    assert await sensor.read_celsius() == celsius


async def test_tmp102_extended_mode_reads_thirteen_bits(bus):
    sim, client = bus
    twin = Tmp102Twin()
    sim.attach(0x49, twin)
    await client.write_block(0x49, 0x01, bytes([0x60, 0xB0]))  # config with EM set
    twin.celsius = 140.0  # beyond the 12-bit range
    assert await Tmp102Sensor(client, 0x49).read_celsius() == 140.0
    assert twin.extended


@pytest.mark.parametrize("bits,celsius,expect", [(9, 30.75, 30.5), (9, -0.5, -0.5), (11, 85.125, 85.125)])
async def test_lm75_resolutions(bus, bits, celsius, expect):
    sim, client = bus
    twin = Lm75Twin(resolution_bits=bits)
    sim.attach(0x4F, twin)
    twin.celsius = celsius
    assert await Lm75Sensor(client, 0x4F, resolution_bits=bits).read_celsius() == expect


async def test_a_sensor_answering_garbage_is_a_device_error(bus):
    sim, client = bus

    class Stuck:  # a bus stuck low: every byte reads 0x80 0x00 = -128 °C
        def write(self, data):
            pass

        def read(self, n):
            return b"\x80\x00"[:n]

    sim.attach(0x48, Stuck())
    with pytest.raises(DeviceError, match="outside the sensor's range"):
        await Lm75Sensor(client, 0x48).read_celsius()


# ---- PN532 ---------------------------------------------------------------------------


def test_pn532_frame_layout():
    assert information_frame(0x14, bytes([0x01, 0x14, 0x01])).hex(" ") == "00 00 ff 05 fb d4 14 01 14 01 02 00"


async def test_pn532_commands_ack_and_status_polling(bus):
    sim, client = bus
    twin = Pn532Twin(busy_polls=3)
    rec = Recording(twin)
    sim.attach(0x24, rec)
    chip = Pn532(client, 0x24)
    assert await chip.firmware_version() == (0x32, 1, 6, 7)
    await chip.setup()
    assert twin.sam_configured and twin.passive_retries == 2
    assert await chip.read_passive_target() is None
    twin.card = bytes.fromhex("04A1B2C3D4E5F6")
    assert await chip.read_passive_target() == bytes.fromhex("04A1B2C3D4E5F6")
    assert twin.commands == [0x02, 0x14, 0x32, 0x4A, 0x4A]
    assert rec.writes[1] == bytes.fromhex("0000ff05fbd414011401" "0200")  # SAMConfiguration 01 14 01


async def test_pn532_an_unknown_command_is_an_error_frame(bus):
    sim, client = bus
    sim.attach(0x24, Pn532Twin())
    with pytest.raises(DeviceError, match="application error"):
        await Pn532(client, 0x24).call(0x60)


async def test_pn532_that_never_gets_ready_is_unavailable(bus):
    sim, client = bus
    twin = Pn532Twin()
    sim.attach(0x24, twin)
    twin.sam_configured = True  # but MaxRetries left at 0xFF: it waits for a card for ever
    chip = Pn532(client, 0x24, ready_timeout_s=0.2)
    with pytest.raises(DeviceUnavailable, match="not ready"):
        await chip.read_passive_target()


async def _next_card(cards) -> str:
    return await asyncio.wait_for(anext(cards), 5)


@pytest.mark.parametrize("uid", ["26DEFAE7", "04A1B2C3D4E5F6", "0102030405060708090A"])
async def test_pn532_reader_yields_uppercase_hex_once_per_presentation(bus, uid):
    sim, client = bus
    twin = Pn532Twin()
    sim.attach(0x24, twin)
    reader = Pn532CardReader(client, 0x24, poll_interval_s=0.01)
    cards = reader.cards()
    twin.card = bytes.fromhex(uid)
    assert await _next_card(cards) == uid.upper()
    polls = twin.commands.count(0x4A)
    pending = asyncio.ensure_future(anext(cards))
    while twin.commands.count(0x4A) < polls + 5:  # the card lies there: no second report
        await asyncio.sleep(0.01)
    assert not pending.done()
    twin.card = None
    while twin.commands.count(0x4A) < polls + 10:
        await asyncio.sleep(0.01)
    twin.card = bytes.fromhex(uid)  # taken away and presented again
    assert await asyncio.wait_for(pending, 5) == uid.upper()
    await reader.close()
    await cards.aclose()


async def test_pn532_reversed_byte_order(bus):
    sim, client = bus
    twin = Pn532Twin()
    sim.attach(0x24, twin)
    twin.card = bytes.fromhex("26DEFAE7")
    reader = Pn532CardReader(client, 0x24, byte_order="reversed", poll_interval_s=0.01)
    cards = reader.cards()
    assert await _next_card(cards) == "E7FADE26"  # the example in docs/hardware/pcsc-vpcd.md#idtag
    await reader.close()
    await cards.aclose()


async def test_pn532_reader_survives_a_lost_chip_and_sets_it_up_again(bus):
    sim, client = bus
    twin = Pn532Twin()
    sim.attach(0x24, twin)
    reader = Pn532CardReader(client, 0x24, poll_interval_s=0.01, retry_delay_s=0.05)
    cards = reader.cards()
    pending = asyncio.ensure_future(anext(cards))
    while twin.commands.count(0x4A) < 2:
        await asyncio.sleep(0.01)
    sim.set_silent(0x24)
    sim.chips[0x24] = twin = Pn532Twin()  # it comes back from a power cycle: not set up
    sim.set_silent(0x24, False)
    twin.card = bytes.fromhex("04A1B2C3")
    assert await asyncio.wait_for(pending, 5) == "04A1B2C3"
    first = twin.commands.index(0x14)  # SAMConfiguration and MaxRetries again, then polling
    assert twin.commands[first : first + 3] == [0x14, 0x32, 0x4A]
    await reader.close()
    await cards.aclose()


async def test_ssd1306_settings_are_sent_again_without_switching_the_panel_off(bus):
    sim, client = bus
    twin = Ssd1306Twin()
    sim.attach(0x3C, twin)
    display = Ssd1306Display(client, 0x3C, reassert_s=0.0)
    picture = Bitmap(128, 64)
    picture.set(64, 32)
    await display.show(picture)
    twin.__init__()  # it lost power, and nobody noticed
    await display.show(picture)
    assert twin.on and twin.charge_pump and twin.picture()["rows"] == picture.rows()
    assert 0xAE not in twin.commands_seen  # no dark flash for the panel that was fine


async def test_a_transfer_cancelled_before_its_reply_does_not_leave_the_reply_to_the_next(bus):
    # The PN532 driver polls the chip's status under a timeout; one that fires while a read is
    # out must not make every later transfer read the reply of the one before it.
    sim, client = bus
    twin = Pn532Twin()
    sim.attach(0x24, twin)
    assert await client.read(0x24, 1) == b"\x00"  # connected; the chip has nothing to say
    answered = asyncio.Event()
    serve = sim.transfer

    def transfer(address, messages):
        answered.set()
        return serve(address, messages)

    sim.transfer = transfer
    cut_short = asyncio.ensure_future(client.read(0x24, 1))
    await answered.wait()  # its request is out and its reply on the way, not yet read
    cut_short.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut_short
    await client.write(0x24, information_frame(0x02))  # GetFirmwareVersion: no reply bytes expected
    assert await client.read(0x24, 1) == b"\x01"  # and the chip's own answer: ready
