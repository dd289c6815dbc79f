"""Config of the I²C parts: the bus, displays, temperature sensor, PN532 reader."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.app.config import ConfigError, load_config
from tests.unit.test_config import MINIMAL, ROOT, write

I2C = """
[i2c]
device = "/dev/i2c-1"
[[displays]]
address = 0x3C
connector = 1
qr_url = "https://pay.example.com/{charge_point_id}/{connector_id}"
[temperature]
kind = "tmp102"
[card_reader]
driver = "pn532"
byte_order = "reversed"
"""


def test_i2c_parts_with_their_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + I2C))
    assert config.i2c.device == "/dev/i2c-1" and not config.i2c.sim
    assert config.displays[0].options.address == 0x3C and config.displays[0].options.height == 64
    assert (config.temperature.options.address, config.temperature.derate_above_c, config.temperature.stop_above_c) == (0x48, 60, 75)
    assert config.card_reader.driver == "pn532" and config.card_reader.options.address == 0x24


@pytest.mark.parametrize("change, message", [
    (('device = "/dev/i2c-1"', ""), "i2c: displays[0] is on I2C: set i2c.device"),
    (('device = "/dev/i2c-1"', 'device = "/dev/i2c-1"\nsim = "127.0.0.1:5021"'), "i2c: name either device or sim"),
    (('device = "/dev/i2c-1"', 'sim = "localhost"'), "i2c.sim: 'localhost' is not host:port"),
    (("address = 0x3C", "address = 0x48"), "temperature.address: 0x48 is already displays[0].address"),
    (("address = 0x3C", "address = 0x80"), "displays[0].address: 0x80 is outside"),
    (("connector = 1", "connector = 2"), "displays[0].connector: no connector 2"),
    (("{connector_id}", "{evse}"), "displays[0].qr_url: only {charge_point_id} and {connector_id}"),
    (("pay.example.com/", "pay.example.com/" + "x" * 300), "displays[0].qr_url: a QR code of"),
    (('kind = "tmp102"', 'kind = "tmp102"\nderate_above_c = 80.0'), "temperature.derate_above_c: must be below"),
    (('kind = "tmp102"', 'kind = "ds18b20"'), "temperature.kind: 'ds18b20' is not one of"),
])
def test_i2c_config_errors_name_the_key(tmp_path, change, message):
    old, new = change
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, (MINIMAL + I2C).replace(old, new, 1)))
    assert message in str(err.value)


@pytest.mark.parametrize("name", ["agent-sim-heidelberg-oled.toml", "agent.example.toml"])
def test_the_shipped_build_passes_check_config(name):
    done = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(ROOT / "config" / name)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
