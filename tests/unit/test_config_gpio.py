"""``[gpio]`` and ``[connectors.gpio]`` in the agent config: pins, polarity, pulls, checks."""

from __future__ import annotations

import pytest

from agent.app.config import ConfigError, PinSection, load_config
from simulator.twins.gpio import agent_toml

HEAD = """
[charge_point]
id = "CP-1"
[ocpp]
csms_url = "ws://127.0.0.1:9000"
[[buses]]
name = "rs485"
kind = "tcp"
host = "127.0.0.1"
"""


def connector(n: int, gpio: str = "") -> str:
    return f"""
[[connectors]]
id = {n}
[connectors.board]
driver = "evse-din"
bus = "rs485"
unit = {n}
{gpio}
"""


def load(tmp_path, text: str):
    path = tmp_path / "agent.toml"
    path.write_text(HEAD + text)
    return load_config(path)


def test_no_gpio_by_default(tmp_path):
    config = load(tmp_path, connector(1))
    assert config.connectors[0].gpio is None and config.gpio.factory == "default"


def test_pins_polarity_and_pulls_are_read(tmp_path):
    config = load(tmp_path, '[gpio]\nfactory = "pigpio"\nport = 8889\n' + connector(1, agent_toml(1, feedback_debounce_s=0.3)))
    gpio = config.connectors[0].gpio
    assert (config.gpio.factory, config.gpio.host, config.gpio.port) == ("pigpio", "localhost", 8889)
    assert gpio.contactor == PinSection(17, True, None)
    assert gpio.contactor_feedback == PinSection(27, False, True)
    assert gpio.emergency_stop == PinSection(23, True, True)
    assert gpio.feedback_debounce_s == 0.3 and gpio.lock_max_moves == 10 and gpio.lock_window_s == 60.0


def test_two_connectors_with_their_own_pins(tmp_path):
    config = load(tmp_path, connector(1, agent_toml(1)) + connector(2, agent_toml(2)))
    assert config.connectors[1].gpio.contactor.pin == 12


@pytest.mark.parametrize(
    ("gpio", "message"),
    [
        ("[connectors.gpio.contactor]\npin = 40", r"connectors\[0\]\.gpio\.contactor\.pin: 40 is not a GPIO"),
        ("[connectors.gpio.contactor]\npin = 17\n[connectors.gpio.rcd]\npin = 17",
         r"gpio\.rcd\.pin: GPIO 17 is already used by connectors\[0\]\.gpio\.contactor"),
        ("[connectors.gpio.contactor_feedback]\npin = 27", r"gpio\.contactor_feedback: needs .*gpio\.contactor"),
        ("[connectors.gpio.contactor]\npin = 17\npull_up = true", r"contactor\.pull_up: contactor is an output"),
        ("[connectors.gpio.lock_motor]\npin = 6", r"gpio\.lock_motor: needs .*gpio\.lock_direction"),
        ("rcm_test_pulse_s = 2.0\n[connectors.gpio.rcd]\npin = 22", r"rcm_test_timeout_s: must be >= rcm_test_pulse_s"),
        ("[connectors.gpio.contactor]\npin = 17\nactive_high = 1", r"contactor\.active_high: expected true or false"),
        ("[connectors.gpio.relay]\npin = 17", r"gpio\.relay: unknown key"),
    ],
)
def test_bad_gpio_tables_name_the_key(tmp_path, gpio, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, connector(1, "[connectors.gpio]\n" + gpio))


def test_a_pin_may_not_serve_two_connectors(tmp_path):
    second = "[connectors.gpio]\n[connectors.gpio.contactor]\npin = 17\n"
    with pytest.raises(ConfigError, match=r"connectors\[1\]\.gpio\.contactor\.pin: GPIO 17 is already used by connectors\[0\]"):
        load(tmp_path, connector(1, agent_toml(1)) + connector(2, second))


def test_unknown_pin_factory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"gpio\.factory: 'rpigpio' is not one of"):
        load(tmp_path, '[gpio]\nfactory = "rpigpio"\n' + connector(1))


def test_the_commented_example_in_agent_example_toml_loads(tmp_path):
    """config/agent.example.toml documents [connectors.gpio] commented out: uncommented, it loads."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "config" / "agent.example.toml").read_text()
    start, end = text.index("# [connectors.gpio]"), text.index("[card_reader]")
    keys = [line[2:] for line in text[start:end].splitlines() if re.match(r"^# (\[connectors\.gpio\]|[a-z_]+ = )", line)]
    path = tmp_path / "agent.toml"
    path.write_text(text[:start] + "\n".join(keys) + "\n\n" + text[end:])
    gpio = load_config(path).connectors[0].gpio
    assert gpio.contactor == PinSection(17) and gpio.lock_feedback == PinSection(13, False, True)
    assert gpio.led_red == PinSection(21) and gpio.rcm_test == PinSection(25, False)
