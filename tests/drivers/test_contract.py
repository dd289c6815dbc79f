"""The driver contract: every board and meter driver in the registry, built from its options
the way the agent builds it, against its simulator twin over a real transport.

A driver added to ``drivers/registry.py`` is picked up here by name: it needs a twin in
``simulator/devices.py`` and a line in ``TWINS`` below saying how the twin is wired, or this
suite fails. What each driver must do (drivers/interfaces.py): report the pilot and the relay,
offer what it is told within its resolution, open the relay at 0 A, and (meters) count the
energy the twin's meter counts.
"""

from __future__ import annotations

import pytest

from drivers import registry
from drivers.interfaces import EvseBoard, PilotState, PowerMeter
from simulator import devices
from simulator.app import Simulator
from simulator.config import default_toml, parse_config

# How each driver's twin sits on the simulated bus: its [[evse]] entry and the driver's options.
# Boards are on EVSEs 1-4, meters on EVSEs 5-9 (behind an EVSE-DIN board on unit 20+id).
TWINS: dict[str, tuple[dict, dict]] = {
    "evse-din": ({"board": "evse-din", "board_unit": 1, "meter": "sdm630", "meter_unit": 31}, {"unit": 1, "min_interval_s": 0.0}),
    "heidelberg": ({"board": "heidelberg", "board_unit": 2, "meter": "none"}, {"unit": 2, "watchdog_ms": 0}),
    "bender": ({"board": "bender", "board_unit": 255, "meter": "none"}, {"unit": 255}),
    "openevse": ({"board": "openevse", "meter": "none"}, {}),
    "sdm630": ({"meter": "sdm630", "meter_unit": 11}, {"unit": 11}),
    "sdm72": ({"meter": "sdm72", "meter_unit": 12}, {"unit": 12}),
    "sdm72-v1": ({"meter": "sdm72-v1", "meter_unit": 13}, {"unit": 13}),
    "sdm120": ({"meter": "sdm120", "meter_unit": 14, "phases": 1}, {"unit": 14}),
    "abb-b23": ({"meter": "abb-b23", "meter_unit": 15}, {"unit": 15}),
}
BOARDS = registry.names(registry.Kind.BOARD)
METERS = registry.names(registry.Kind.METER)


def test_every_board_and_meter_has_a_twin_and_a_contract_entry():
    assert set(BOARDS) <= set(devices.BOARDS), "a board driver without a simulator twin"
    assert set(METERS) <= set(devices.METERS), "a meter driver without a simulator twin"
    assert set(BOARDS) | set(METERS) == set(TWINS), "a driver missing from this contract suite"


def _evses() -> list[dict]:
    evses = []
    for number, name in enumerate(BOARDS + METERS, start=1):
        entry = dict(TWINS[name][0])
        if name in METERS:
            entry["board"], entry["board_unit"] = "evse-din", 20 + number
        evses.append({"id": number, "max_current_a": 32.0, **entry})
    return evses


@pytest.fixture
async def sim():
    data = default_toml()
    data["evse"] = _evses()
    simulator = Simulator(parse_config(data), http=False, modbus_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def wiring(sim):
    from agent.app.hardware import build_bus
    from agent.app.config import BusSection

    bus = build_bus(BusSection(name="sim", kind="tcp", host="127.0.0.1", port=sim.modbus_port, timeout_s=0.5, retries=0))
    wiring = registry.BusWiring({"sim": bus})
    yield wiring
    for closeable in [*wiring.owned, bus]:
        await closeable.close()


def _build(name: str, sim: Simulator, wiring: registry.BusWiring):
    spec = registry.spec(name)
    options = dict(TWINS[name][1])
    if issubclass(spec.options, registry.ModbusOptions):
        options["bus"] = "sim"
    if name == "openevse":
        evse_id = BOARDS.index(name) + 1
        options["device"] = f"socket://127.0.0.1:{sim.rapi_ports[evse_id]}"
    built = spec.options(**options)
    spec.check(built, registry.Context(bus_kinds={"sim": "tcp"}, poll_interval_s=0.25))
    return spec, spec.build(built, wiring)


def _resolution(offered: float, wanted: float) -> bool:
    """A board offers what it was told, rounded down to its resolution (never more)."""
    return wanted - 1.0 < offered <= wanted


@pytest.mark.parametrize("name", BOARDS)
async def test_board_contract(name, sim, wiring):
    evse_id = BOARDS.index(name) + 1
    spec, board = _build(name, sim, wiring)
    assert isinstance(board, EvseBoard)
    status = await board.read_status()
    assert status.pilot is PilotState.A and not status.relay_closed
    sim.plug(evse_id)
    await board.set_current_limit(0)
    status = await board.read_status()
    assert status.pilot in (PilotState.B, PilotState.C) and not status.relay_closed
    await board.set_current_limit(10.5)
    await sim.wait_for(lambda s: next(e for e in s["evses"] if e["id"] == evse_id)["contactor_closed"], timeout=10)
    status = await board.read_status()
    assert status.relay_closed and status.pilot is PilotState.C
    assert _resolution(status.offered_current_a, 10.5)
    if "meter" in spec.provides:
        meter = board.meter
        assert isinstance(meter, PowerMeter)
        state = await sim.wait_for(lambda s: next(e for e in s["evses"] if e["id"] == evse_id)["energy_wh"] >= 2, timeout=10)
        reading = await meter.read()
        assert reading.energy_wh >= int(next(e for e in state["evses"] if e["id"] == evse_id)["energy_wh"]) - 1
        assert max(reading.current_a) == pytest.approx(status.offered_current_a, abs=0.5)
    await board.set_current_limit(0)
    status = await board.read_status()
    assert not status.relay_closed and status.offered_current_a == 0.0
    sim.unplug(evse_id)
    assert (await board.read_status()).pilot is PilotState.A


@pytest.mark.parametrize("name", METERS)
async def test_meter_contract(name, sim, wiring):
    evse_id = len(BOARDS) + METERS.index(name) + 1
    _, meter = _build(name, sim, wiring)
    assert isinstance(meter, PowerMeter)
    sim.model.evse(evse_id).meter.import_kwh_phase[:] = [1.234, 0.0, 0.0]
    reading = await meter.read()
    assert reading.energy_wh == pytest.approx(1234, abs=10)  # the meter's own resolution
    phases = 1 if TWINS[name][0].get("phases") == 1 else 3
    if reading.voltage_v:  # a meter that measures voltages (the SDM72 v1 does not)
        assert len(reading.voltage_v) == phases and all(v == pytest.approx(230, abs=1) for v in reading.voltage_v)
