"""``[service_page]`` in the agent's configuration: off unless ``listen`` is set, checked strictly."""

from __future__ import annotations

import pytest

from agent.app.config_check import check
from agent.app.config import ConfigError, load_config, split_listen
from tests.integration.conftest import agent_config


def config_with(tmp_path, section: str):
    path = tmp_path / "agent.toml"
    path.write_text(agent_config(modbus_port=5020, csms_port=9000, data_dir=tmp_path / "data") + section)
    return load_config(path)


def test_off_unless_configured(tmp_path):
    assert config_with(tmp_path, "").service_page.listen == ""


def test_a_page_on_all_addresses(tmp_path):
    page = config_with(tmp_path, '\n[service_page]\nlisten = "0.0.0.0:8443"\nsession_lifetime_s = 900\n').service_page
    assert (page.listen, page.session_lifetime_s, page.cert) == ("0.0.0.0:8443", 900.0, "")


@pytest.mark.parametrize("listen, host, port", [("0.0.0.0:8443", "0.0.0.0", 8443), ("[::]:8443", "::", 8443),
                                                ("localhost:9443", "localhost", 9443)])
def test_listen_addresses(listen, host, port):
    assert split_listen(listen) == (host, port)


@pytest.mark.parametrize("section, message", [
    ('listen = "8443"', "service_page.listen: '8443': not host:port"),
    ('listen = "0.0.0.0:99999"', "service_page.listen: '0.0.0.0:99999': not host:port"),
    ('listen = ":::8443"', "service_page.listen: ':::8443': the host is missing"),
    ('listen = "0.0.0.0:8443"\ncert = "/etc/evse-agent/page.pem"', "service_page.cert, service_page.key: give both"),
    ('listen = "0.0.0.0:8443"\nsession_lifetime_s = 1', "service_page.session_lifetime_s: must be 5 s to 604800 s"),
    ('listen = "0.0.0.0:8443"\npassword = "secret"', "service_page.password: unknown key"),
])
def test_bad_sections_are_refused_naming_the_key(tmp_path, section, message):
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, f"\n[service_page]\n{section}\n")
    assert str(error.value).startswith(message)


def test_check_config_loads_the_operators_certificate(tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    config = config_with(tmp_path, f'\n[service_page]\nlisten = "0.0.0.0:8443"\ncert = "{tmp_path}/cert.pem"\n'
                                   f'key = "{tmp_path}/key.pem"\n')
    with pytest.raises(ConfigError, match="service_page.cert, service_page.key: cannot be used"):
        check(config)
