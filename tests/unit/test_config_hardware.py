"""Board/meter driver keys in the agent config, checked against each driver's options
(drivers/registry.py), and the devices built from them (agent.app.hardware)."""

from __future__ import annotations

import re

import pytest

from agent.app.config import ConfigError, load_config
from agent.app.hardware import build_connectors
from drivers import registry
from drivers.meters.abb_b23 import AbbB23Meter
from drivers.boards.bender import BenderBoard, BenderMeter
from drivers.boards.heidelberg import HeidelbergBoard, HeidelbergMeter
from drivers.boards.openevse import OpenEvseBoard, OpenEvseMeter, RapiLink
from drivers.meters.eastron import Sdm72V1Meter

HEAD = """
[charge_point]
id = "CP-1"
[ocpp]
csms_url = "ws://127.0.0.1:9000"
[[buses]]
name = "rs485"
kind = "rtu"
device = "/dev/ttyUSB0"
baudrate = 19200
parity = "E"
[[buses]]
name = "lan"
kind = "tcp"
host = "192.0.2.10"
"""

CONNECTORS = """
[[connectors]]
id = 1
[connectors.board]
driver = "heidelberg"
bus = "rs485"
watchdog_ms = 10000
failsafe_current_a = 6
energy_word_order = "little"

[[connectors]]
id = 2
[connectors.board]
driver = "bender"
bus = "lan"
unit = 255
[connectors.meter]
driver = "abb-b23"
bus = "rs485"
unit = 3

[[connectors]]
id = 3
[connectors.board]
driver = "openevse"
device = "socket://192.0.2.11:23"
pause_command = "disable"

[[connectors]]
id = 4
[connectors.board]
driver = "evse-din"
bus = "rs485"
unit = 4
[connectors.meter]
driver = "sdm72-v1"
bus = "rs485"
unit = 5
"""


def load(tmp_path, text):
    path = tmp_path / "agent.toml"
    path.write_text(HEAD + text)
    return load_config(path)


def test_every_driver_is_built_and_own_meters_fill_in(tmp_path):
    config = load(tmp_path, CONNECTORS)
    assert set(registry.names(registry.Kind.BOARD)) == {"evse-din", "heidelberg", "bender", "openevse"}
    wiring, hardware = build_connectors(config)
    (_, h, hm), (_, b, bm), (_, o, om), (_, _, sm) = hardware
    assert isinstance(h, HeidelbergBoard) and isinstance(hm, HeidelbergMeter)  # no [meter]: the box's own
    assert (h.watchdog_ms, h.energy_word_order) == (10000, "little")
    assert isinstance(b, BenderBoard) and isinstance(bm, AbbB23Meter) and isinstance(b.meter, BenderMeter)
    assert b.device.unit == 255
    assert isinstance(o, OpenEvseBoard) and isinstance(om, OpenEvseMeter) and o.pause_command == "disable"
    assert isinstance(sm, Sdm72V1Meter)
    assert [type(link) for link in wiring.owned] == [RapiLink]  # closed with the buses


BOARD = """
[[connectors]]
id = 1
[connectors.board]
{board}
"""


@pytest.mark.parametrize(
    "board, message",
    [
        ('driver = "heidelberg"', "connectors[0].board.bus: missing (required)"),
        ('driver = "openevse"', "connectors[0].board.device: missing (required)"),
        ('driver = "openevse"\ndevice = "/dev/ttyUSB1"\nbus = "rs485"', "connectors[0].board.bus: unknown key (known: baudrate, device, driver"),
        ('driver = "evse-din"\nbus = "rs485"\ndevice = "/dev/ttyUSB1"', "connectors[0].board.device: unknown key (known: bus, centiamp_mode, driver"),
        ('driver = "heidelberg"\nbus = "rs485"\nwatchdog_ms = 500', "connectors[0].board.watchdog_ms: must be at least 4 x poll_interval_s"),
        ('driver = "heidelberg"\nbus = "rs485"\nwatchdog_ms = 70000', "connectors[0].board.watchdog_ms: must be 0-65535"),
        ('driver = "heidelberg"\nbus = "rs485"\nfailsafe_current_a = 3', "connectors[0].board.failsafe_current_a"),
        ('driver = "heidelberg"\nbus = "rs485"\nenergy_word_order = "middle"', "connectors[0].board.energy_word_order"),
        ('driver = "bender"\nbus = "rs485"\nunit = 255', "connectors[0].board.unit: 255 is outside 1-247"),
        ('driver = "charx"\nbus = "lan"', "connectors[0].board.driver: 'charx' is not one of"),
    ],
)
def test_board_keys_are_checked(tmp_path, board, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, BOARD.format(board=board))


def test_watchdog_off_is_allowed(tmp_path):
    config = load(tmp_path, BOARD.format(board='driver = "heidelberg"\nbus = "rs485"\nwatchdog_ms = 0'))
    assert config.connectors[0].board.options.watchdog_ms == 0
