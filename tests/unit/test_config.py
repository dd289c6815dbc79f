import subprocess
import sys
from pathlib import Path

import pytest

from agent.app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """
[charge_point]
id = "CP-1"
[ocpp]
csms_url = "ws://127.0.0.1:9000"
[[buses]]
name = "rs485"
kind = "rtu"
device = "/dev/ttyUSB0"
[[connectors]]
id = 1
[connectors.board]
driver = "evse-din"
bus = "rs485"
"""


def write(tmp_path, text):
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_passes_check_config(path):
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_minimal_config_gets_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.connectors[0].max_current_a == 16.0
    assert config.connectors[0].board.options.unit == 1
    assert config.buses[0].baudrate == 9600


@pytest.mark.parametrize(
    "change, message",
    [
        (("[ocpp]", "[ocpp]\ncsms_ulr = 'x'"), "ocpp.csms_ulr: unknown key"),
        (('driver = "evse-din"', 'driver = "evse-din"\nunit = "one"'), "connectors[0].board.unit: expected an integer"),
        (('driver = "evse-din"', 'driver = "heidelberg-x"'), "connectors[0].board.driver: 'heidelberg-x' is not one of"),
        (('bus = "rs485"', 'bus = "rs486"'), "connectors[0].board.bus: no bus named 'rs486'"),
        (('csms_url = "ws://127.0.0.1:9000"', 'csms_url = "ws://csms.example.com"'), "ocpp.csms_url: ws:// sends"),
        (('csms_url = "ws://127.0.0.1:9000"', 'csms_url = "http://x"'), "ocpp.csms_url"),
        (("id = 1\n", "id = 1\nmax_current_a = 100\n"), "connectors[0].max_current_a: 100.0 is outside"),
        (('id = "CP-1"', 'id = "CP/1"'), "charge_point.id"),
        (('csms_url = "ws://127.0.0.1:9000"', 'csms_url = "wss://cp1:s3cret@csms.example.com/ocpp"'),
         "ocpp.csms_url: must not contain a user or password"),
        (('csms_url = "ws://127.0.0.1:9000"', 'csms_url = "ws://cp1@127.0.0.1:9000"'),
         "ocpp.csms_url: must not contain a user or password"),
    ],
)
def test_bad_values_name_the_key(tmp_path, change, message):
    old, new = change
    assert old in MINIMAL
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, MINIMAL.replace(old, new, 1)))
    assert message in str(error.value)


def test_overrides_win(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), **{"ocpp.csms_url": "wss://b.example/ocpp", "storage.data_dir": "/tmp/x"})
    assert config.ocpp.csms_url == "wss://b.example/ocpp"
    assert config.storage.data_dir == "/tmp/x"


def test_check_config_command(tmp_path):
    good = write(tmp_path, MINIMAL)
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(good)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL + "\n[ocpp.keys]\nHeartbeatInterval = 'often'\n")
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(bad)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "ocpp.keys.HeartbeatInterval" in run.stderr
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert run.returncode == 1 and "cannot read" in run.stderr


def test_version_command():
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("evse-agent ")


def test_boot_notification_fields_fit_ocpp(tmp_path):
    with pytest.raises(ConfigError, match="charge_point.model: .* longer than 20"):
        load_config(write(tmp_path, MINIMAL.replace('id = "CP-1"', 'id = "CP-1"\nmodel = "A model name far too long for OCPP"')))


def test_a_password_in_the_backend_url_is_refused_without_being_echoed(tmp_path):
    """HTTP Basic credentials in the URL would be sent and logged in clear (issue 17, item 9)."""
    bad = write(tmp_path, MINIMAL.replace('csms_url = "ws://127.0.0.1:9000"', 'csms_url = "wss://cp1:s3cret@csms.example.com/"'))
    run = subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(bad)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "ocpp.csms_url: must not contain a user or password" in run.stderr and "s3cret" not in run.stderr
    good = write(tmp_path, MINIMAL)
    run = subprocess.run(
        [sys.executable, "-m", "agent.app.cli", "run", "--config", str(good), "--data-dir", str(tmp_path / "data"),
         "--csms-url", "ws://cp1:s3cret@127.0.0.1:9000"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 1
    assert "--csms-url: must not contain a user or password" in run.stderr and "s3cret" not in run.stderr
    assert not (tmp_path / "data").exists()  # refused before anything ran
