"""Config of what the EV driver sees and how they start: [ev_driver], [free_vend], card byte order."""

from __future__ import annotations

import pytest

from agent.app.config import ConfigError, load_config
from tests.unit.test_config import MINIMAL, write

DRIVER = """
[ev_driver]
language = "de"
supported_languages = ["en", "de"]
currency_format = "${amount}"
decimals = 3
default_price_text = "0.39 $/kWh"
[free_vend]
id_tag = "FREEVEND"
[card_reader]
match_reversed = true
"""


def test_defaults_and_a_full_section(tmp_path):
    default = load_config(write(tmp_path, MINIMAL))
    assert default.ev_driver.language == "en" and default.ev_driver.currency_format == "{amount} €"
    assert default.free_vend.id_tag == "" and not default.card_reader.match_reversed
    config = load_config(write(tmp_path, MINIMAL + DRIVER))
    assert config.ev_driver.supported_languages == ["en", "de"] and config.ev_driver.decimals == 3
    assert config.free_vend.id_tag == "FREEVEND" and config.card_reader.match_reversed


@pytest.mark.parametrize("change, message", [
    (('language = "de"', 'language = "fr"'), "ev_driver.language: 'fr' is not in ev_driver.supported_languages"),
    (('currency_format = "${amount}"', 'currency_format = "EUR"'), "ev_driver.currency_format: must contain {amount}"),
    (('currency_format = "${amount}"', 'currency_format = "{price}"'), "ev_driver.currency_format: only {amount}"),
    (("decimals = 3", "decimals = 7"), "ev_driver.decimals: must be 0-6"),
    (('id_tag = "FREEVEND"', 'id_tag = "' + "X" * 21 + '"'), "free_vend.id_tag: .* longer than 20"),
    (("match_reversed = true", 'match_reversed = "yes"'), "card_reader.match_reversed: expected true or false"),
])
def test_mistakes_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, MINIMAL + DRIVER.replace(*change)))


def test_the_older_section_name_is_read_as_the_new_one(tmp_path, caplog):
    config = load_config(write(tmp_path, MINIMAL + DRIVER.replace("[ev_driver]", "[driver]")))
    assert config.ev_driver.language == "de" and config.ev_driver.decimals == 3
    assert "[driver] is now called [ev_driver]" in caplog.text
    with pytest.raises(ConfigError, match=r"driver: the older name of \[ev_driver\]; give only \[ev_driver\]"):
        load_config(write(tmp_path, MINIMAL + DRIVER + '[driver]\nlanguage = "en"\n'))
