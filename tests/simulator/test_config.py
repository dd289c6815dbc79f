from __future__ import annotations

import re

import pytest

from simulator.config import ConfigError, load_config


def test_defaults():
    cfg = load_config()
    assert cfg.http.port == 8765 and cfg.modbus.tcp_port == 5020 and cfg.modbus.rtu_link == ""
    assert cfg.vpcd.port == 35963 and cfg.speed == 1.0
    assert [(e.id, e.board_unit, e.meter_unit) for e in cfg.evses] == [(1, 1, 2), (2, 3, 4)]


def test_user_file_merges_over_defaults(tmp_path):
    f = tmp_path / "sim.toml"
    f.write_text('speed = 10\n[http]\nport = 9999\n[[evse]]\nid = 5\nboard_unit = 7\nmeter_unit = 8\n')
    cfg = load_config(f)
    assert cfg.speed == 10.0 and cfg.http.port == 9999 and cfg.http.host == "127.0.0.1"
    assert [(e.id, e.board_unit, e.phases) for e in cfg.evses] == [(5, 7, 3)]


@pytest.mark.parametrize("text,key", [
    ("colour = 1\n", "colour"),
    ("[http]\nprot = 1\n", "http.prot"),
    ('[http]\nport = "80"\n', "http.port"),
    ("[modbus]\nbaudrate = 9600.5\n", "modbus.baudrate"),
    ("[[evse]]\nid = 1\nboard_unit = 1\nmeter_unit = 2\nphases = 2\n", "evse[0].phases"),
    ("[[evse]]\nid = 1\nboard_unit = 1\n", "evse[0]: missing key(s) meter_unit"),
    ("[[evse]]\nid = 1\nboard_unit = 1\nmeter_unit = 1\n", "evse[0].meter_unit"),
    ('speed = "fast"\n', "speed"),
    ("[[evse]]\nid = 1\nboard_unit = 1\nmeter_unit = 2\nrcd_layout = \"x\"\n", "evse[0].rcd_layout"),
])
def test_errors_name_the_key(tmp_path, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(f)
