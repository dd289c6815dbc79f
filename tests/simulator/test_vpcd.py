"""The virtual card read through pcscd/vpcd with pyscard."""

from __future__ import annotations

import asyncio

import pytest

from drivers.readers.pcsc import PcscCardReader
from simulator.app import Simulator
from simulator.twins.readers.vpcd_card import parse_uid, respond
from tests.simulator.sim_card_states import CardStates

pytestmark = pytest.mark.pcsc


def vpcd_available() -> bool:
    """pcscd runs with the vpcd reader (probing its TCP port would insert a bogus card)."""
    try:
        from smartcard.System import readers

        return any("Virtual PCD" in str(r) for r in readers())
    except Exception:  # noqa: BLE001 - no pcscd, no pyscard
        return False


def read_uid_with_pyscard(timeout_s: float = 3.0):
    """What the agent's reader code does: connect to the first reader, send FF CA."""
    import time

    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.System import readers

    reader = readers()[0]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = reader.createConnection()
            conn.connect()
            break
        except (NoCardException, CardConnectionException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # pcscd polls vpcd; the card shows up within ~0.5 s
    try:
        atr = bytes(conn.getATR())
        uid = conn.transmit([0xFF, 0xCA, 0x00, 0x00, 0x00])
        other = conn.transmit([0x00, 0xA4, 0x04, 0x00, 0x00])
    finally:
        conn.disconnect()
    return atr, uid, other


def test_apdu_answers_without_pcscd():
    uid = parse_uid("04a1b2c3")
    assert respond(uid, bytes.fromhex("FFCA000000")) == uid + b"\x90\x00"
    assert respond(uid, bytes.fromhex("FFCA000002")) == b"\x6c\x04"
    assert respond(uid, bytes.fromhex("00A4040000")) == b"\x6d\x00"
    for bad in ("04A1B2", "04A1B2C3D4", "xyz1", "04A1B2C"):
        with pytest.raises(ValueError):
            parse_uid(bad)


@pytest.mark.skipif(not vpcd_available(), reason="pcscd with vpcd not running")
async def test_tap_is_read_by_pyscard():
    async with Simulator(http=False, modbus_port=0, card_hold_s=1.5) as sim:
        task = sim.tap_card("04a1b2c3d4e5f6")
        await sim.wait_for(lambda s: s["card"] == "04A1B2C3D4E5F6", timeout=10)
        atr, (data, sw1, sw2), (_, osw1, osw2) = await asyncio.to_thread(read_uid_with_pyscard)
        assert atr[0] == 0x3B
        assert bytes(data).hex().upper() == "04A1B2C3D4E5F6" and (sw1, sw2) == (0x90, 0x00)
        assert (osw1, osw2) == (0x6D, 0x00)
        await asyncio.wait_for(task, timeout=3)  # removed after the hold time
        assert sim.state()["card"] is None


async def test_tap_without_vpcd_reports_error():
    async with Simulator(http=False, modbus_port=0, vpcd_port=1) as sim:
        task = sim.tap_card("04A1B2C3")
        with pytest.raises(OSError):
            await task
        assert sim.state()["card"] is None and "vpcd" in sim.state()["card_error"]


@pytest.mark.skipif(not vpcd_available(), reason="pcscd with vpcd not running")
@pytest.mark.parametrize("swap_after_s", [0.0, 0.5])
async def test_a_quick_second_tap_reaches_a_pcsc_reader(swap_after_s):
    """A second card tapped while the first still lies on the reader: the first is taken away,
    the second put on once pcscd has seen the reader empty, and a PC/SC client (the agent's
    reader code) gets both. Swapping in the same instant lost the second card whenever vpcd
    took the new connection in the poll that found the old one closed (reliably so about
    0.4 to 0.7 s after the first card was read)."""
    async with Simulator(http=False, modbus_port=0) as sim:
        reader = PcscCardReader("Virtual PCD")
        read: list[str] = []
        arrived = asyncio.Event()

        async def collect() -> None:
            async for tag in reader.cards():
                read.append(tag)
                arrived.set()

        collector = asyncio.create_task(collect())
        states = CardStates(sim)
        try:
            sim.tap_card("04A1B2C3", hold_s=30)
            async with asyncio.timeout(10):
                await arrived.wait()
            assert read == ["04A1B2C3"]
            arrived.clear()
            await asyncio.sleep(swap_after_s)  # the person sees the card accepted, then swaps
            second = sim.tap_card("0BADCAFE", hold_s=30)
            async with asyncio.timeout(10):
                await arrived.wait()
            assert read == ["04A1B2C3", "0BADCAFE"]
            assert sim.state()["card"] == "0BADCAFE" and sim.state()["card_next"] is None
            arrived.clear()
            sim.tap_card("0BADCAFE", hold_s=30)  # the same card again: a new presentation
            async with asyncio.timeout(10):
                await arrived.wait()
            assert read == ["04A1B2C3", "0BADCAFE", "0BADCAFE"] and second.done()
        finally:
            states.close()
            await reader.close()
            collector.cancel()
    assert states.shown() == [None, "04A1B2C3", None, "0BADCAFE", None, "0BADCAFE"]
