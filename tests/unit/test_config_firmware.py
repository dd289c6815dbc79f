"""Config of what the agent trusts and refuses: [firmware] (unsigned updates, the manufacturer
roots, download bounds) and ocpp.allow_unencrypted_certificate_operations."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent.app.config import ConfigError, load_config
from tests.pki import TestCA
from tests.unit.test_config import MINIMAL, ROOT, write


def test_defaults_refuse(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    firmware = config.firmware
    assert not firmware.allow_unsigned and not firmware.manufacturer_roots_from_backend
    assert firmware.manufacturer_roots == []
    assert (firmware.max_download_mb, firmware.keep_free_mb, firmware.download_timeout_s) == (256.0, 64.0, 3600.0)
    assert not config.ocpp.allow_unencrypted_certificate_operations


@pytest.mark.parametrize("lines, message", [
    ("[firmware]\nallow_unsigned = 'yes'", "firmware.allow_unsigned: expected true or false"),
    ("[firmware]\nallow_unsignd = true", "firmware.allow_unsignd: unknown key"),
    ("[firmware]\nmanufacturer_roots = '/etc/evse-agent/root.pem'", "firmware.manufacturer_roots: expected a list"),
    ("[firmware]\nmanufacturer_roots = [1]", r"firmware.manufacturer_roots\[0\]: expected a string"),
    ("[firmware]\nmanufacturer_roots = ['']", r"firmware.manufacturer_roots\[0\]: must name a PEM file or a directory"),
    ("[firmware]\nmanufacturer_roots_from_backend = 1", "firmware.manufacturer_roots_from_backend: expected true or false"),
    ("[firmware]\nmax_download_mb = 0", "firmware.max_download_mb: must be > 0"),
    ("[firmware]\nkeep_free_mb = -1", "firmware.keep_free_mb: must be >= 0"),
    ("[firmware]\ndownload_timeout_s = 'long'", "firmware.download_timeout_s: expected a number"),
    ("[ocpp]\nallow_unencrypted_certificate_operations = 'no'", "ocpp.allow_unencrypted_certificate_operations: expected true or false"),
])
def test_mistakes_name_the_key(tmp_path, lines, message):
    section, body = lines.split("\n", 1)
    text = MINIMAL.replace("[ocpp]\n", f"[ocpp]\n{body}\n") if section == "[ocpp]" else MINIMAL + f"\n{lines}\n"
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def check_config(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.app.cli", "check-config", "--config", str(path)],
                          capture_output=True, text=True, cwd=ROOT)


def test_check_config_reads_the_manufacturer_roots(tmp_path):
    roots = tmp_path / "roots"
    TestCA("Manufacturer Root CA").write(roots / "manufacturer.pem")
    good = write(tmp_path, MINIMAL + f'\n[firmware]\nmanufacturer_roots = ["{roots}", "{tmp_path / "not-installed-yet"}"]\n')
    assert check_config(good).returncode == 0
    (roots / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    run = check_config(good)
    assert run.returncode == 1 and "firmware.manufacturer_roots[0]:" in run.stderr and "broken.pem" in run.stderr
