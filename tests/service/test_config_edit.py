"""Commissioning (agent/service/config_edit.py): the form merged into the file, checked as
check-config checks it, shown as a diff, written atomically with the previous file kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.app.config import load_config
from agent.service import config_edit
from tests.integration.conftest import ROOT, agent_config

EXAMPLE = ROOT / "config" / "agent.example.toml"


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(agent_config(modbus_port=5020, csms_port=9000, data_dir=tmp_path / "data"))
    os.chmod(path, 0o640)
    return path


def form_of(path: Path, key_set: bool = False) -> dict:
    return config_edit.form_values(load_config(path), key_set)


def test_the_form_of_a_file_changes_nothing(config_file):
    proposal = config_edit.propose(config_file, form_of(config_file))
    assert proposal.error is None and not proposal.changed and proposal.diff == []


def test_the_example_config_keeps_its_comments_and_changes_one_line(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(EXAMPLE.read_text())
    form = form_of(path)
    form["ocpp"]["csms_url"] = "wss://backend.example.net/ocpp"
    proposal = config_edit.propose(path, form)
    assert proposal.error is None, proposal.error
    changed = [line for line in proposal.diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and changed[1].startswith('+csms_url = "wss://backend.example.net/ocpp"')
    assert proposal.new_text.count("#") == EXAMPLE.read_text().count("#")  # every comment kept


def test_a_wrong_url_gets_check_configs_error_naming_the_field(config_file):
    form = form_of(config_file)
    form["ocpp"]["csms_url"] = "http://backend.example.com/ocpp"
    proposal = config_edit.propose(config_file, form)
    assert proposal.error == "ocpp.csms_url: 'http://backend.example.com/ocpp' is not a ws:// or wss:// URL"
    assert proposal.error_key == "ocpp.csms_url"


@pytest.mark.parametrize("change, key", [
    (lambda f: f["connectors"][0]["board"].update(unit=300), "connectors[0].board.unit"),
    (lambda f: f["connectors"][0]["board"].update(unit="one"), "connectors[0].board.unit"),
    (lambda f: f["connectors"][0].update(max_current_a=100), "connectors[0].max_current_a"),
    (lambda f: f["connectors"][0]["meter"].update(bus="nope"), "connectors[0].meter.bus"),
    (lambda f: f["buses"][0].update(kind="rtu"), "buses[0].device"),
    (lambda f: f["charge_point"].update(id="CP 1"), "charge_point.id"),
    (lambda f: f["ocpp"].update(security_profile=2), "ocpp.ca_bundle"),
    (lambda f: f["ocpp"].update(authorization_key="12"), "ocpp.authorization_key"),
])
def test_errors_name_the_field(config_file, change, key):
    form = form_of(config_file)
    change(form)
    proposal = config_edit.propose(config_file, form)
    assert proposal.error is not None and proposal.error_key == key, proposal.error


def test_a_driver_change_drops_the_old_drivers_keys(config_file):
    form = form_of(config_file)
    form["connectors"][0]["board"] = {"driver": "heidelberg", "bus": "sim", "unit": 7}
    form["connectors"][0]["meter"] = {"driver": "none"}
    proposal = config_edit.propose(config_file, form)
    assert proposal.error is None, proposal.error
    config = proposal.config
    assert config.connectors[0].board.driver == "heidelberg" and config.connectors[0].board.options.unit == 7
    assert config.connectors[0].meter is None
    assert "centiamp_mode" not in proposal.new_text


def test_a_second_connector_and_bus(config_file):
    form = form_of(config_file)
    form["buses"].append({"name": "rs485", "kind": "rtu", "device": "/dev/ttyUSB0", "baudrate": 9600})
    second = {"id": 2, "max_current_a": 32, "phases": 1, "board": {"driver": "evse-din", "bus": "rs485", "unit": 3},
              "meter": {"driver": "sdm120", "bus": "rs485", "unit": 4}}
    form["connectors"].append(second)
    proposal = config_edit.propose(config_file, form)
    assert proposal.error is None, proposal.error
    assert [b.name for b in proposal.config.buses] == ["sim", "rs485"]
    assert proposal.config.connectors[1].meter.options.unit == 4


def test_apply_writes_atomically_and_keeps_the_previous_file(config_file):
    before = config_file.read_text()
    form = form_of(config_file)
    form["ocpp"]["csms_url"] = "ws://127.0.0.1:9001/ocpp"
    proposal = config_edit.propose(config_file, form)
    config_edit.apply(config_file, proposal, proposal.new_digest)
    assert load_config(config_file).ocpp.csms_url == "ws://127.0.0.1:9001/ocpp"
    previous = config_file.with_name("agent.toml.previous")
    assert previous.read_text() == before
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640  # as it was
    assert not list(config_file.parent.glob(".agent.toml*"))  # no temporary left

    restore = config_edit.propose_restore(config_file)
    assert restore.error is None and any("9001" in line for line in restore.diff)
    config_edit.apply(config_file, restore, restore.new_digest)
    assert config_file.read_text() == before
    assert "9001" in previous.read_text()  # the restore is itself undoable


def test_apply_refuses_what_was_not_shown(config_file):
    form = form_of(config_file)
    form["ocpp"]["csms_url"] = "ws://127.0.0.1:9001/ocpp"
    proposal = config_edit.propose(config_file, form)
    with pytest.raises(config_edit.ConfigConflict):
        config_edit.apply(config_file, proposal, "0" * 64)
    config_file.write_text(config_file.read_text() + "\n# edited by hand meanwhile\n")
    with pytest.raises(config_edit.ConfigConflict):
        config_edit.apply(config_file, proposal, proposal.new_digest)
    assert "9001" not in config_file.read_text()


def test_apply_refuses_a_configuration_that_fails(config_file):
    before = config_file.read_text()
    form = form_of(config_file)
    form["ocpp"]["csms_url"] = "http://x"
    proposal = config_edit.propose(config_file, form)
    with pytest.raises(config_edit.ConfigError):
        config_edit.apply(config_file, proposal, proposal.new_digest)
    assert config_file.read_text() == before and not config_file.with_name("agent.toml.previous").exists()


def test_the_authorization_key_is_never_shown_and_stored_owner_only(config_file, tmp_path):
    key = "00112233445566778899AABBCCDDEEFF"
    form = form_of(config_file)
    form["ocpp"]["authorization_key"] = key
    proposal = config_edit.propose(config_file, form)
    assert proposal.error is None and proposal.changed
    assert key not in "\n".join(proposal.diff) and key not in proposal.new_text
    assert key not in str(proposal.summary())
    path = config_edit.store_authorization_key(proposal.config, proposal.authorization_key)
    assert path == tmp_path / "data" / "authorization-key"
    assert path.read_text() == key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_looking_lines_in_the_diff_are_hidden():
    diff = config_edit.redacted_diff('a = 1\npassword = "old"\n', 'a = 2\npassword = "new"\n', "x", "y")
    assert '-password = ***' in diff and '+password = ***' in diff and not any("new" in line for line in diff)
