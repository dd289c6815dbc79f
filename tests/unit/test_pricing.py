"""Price and cost for the driver (agent/core/pricing.py) and the California Pricing messages and keys
of OCPP 1.6 (agent/ocpp16/costmsg.py, agent/ocpp16/pricing_keys.py), no event loop."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from agent.ocpp16.costmsg import MeterTrigger, Rejected, parse, texts
from agent.ocpp16.keys import ChangeResult, ConfigurationKeys
from agent.ocpp16.pricing_keys import PricingKeys
from agent.core.pricing import (
    ChargingPrice,
    Cost,
    Pricing,
    PricingError,
    TimeOffsets,
    amount,
    check_currency_format,
    choose,
    parse_offset,
)
from agent.persistence.settings import Settings
from agent.persistence.store import Store

UTC = dt.timezone.utc


def test_the_language_closest_to_the_configured_one_is_chosen():
    texts_ = {"": "0.39 EUR/kWh", "de": "0,39 EUR/kWh", "nl-BE": "0,39 EUR per kWh", "fr": "0,39 EUR le kWh"}
    assert choose(texts_, "de") == "0,39 EUR/kWh"
    assert choose(texts_, "DE-ch") == "0,39 EUR/kWh"  # same primary language, any case
    assert choose(texts_, "nl") == "0,39 EUR per kWh"
    assert choose(texts_, "it") == "0.39 EUR/kWh"  # the text without a language
    assert choose({"fr": "le prix", "de": "der Preis"}, "it") == "le prix"  # else the first
    assert choose({}, "en") is None


def test_amounts_are_rounded_to_the_configured_decimals_and_printed_with_the_currency():
    assert amount(3.14159, 3) == Decimal("3.142")
    assert amount(2.345, 2) == Decimal("2.35")  # half up, from the decimal text, not the binary float
    assert amount(12, 0) == Decimal("12")
    for bad in (True, None, "x", float("nan"), [1]):
        with pytest.raises(PricingError):
            amount(bad, 2)
    assert Pricing().money(Decimal("4.1")) == "4.10 €"
    assert Pricing(currency_format="${amount}", decimals=3).money(Decimal("3.3149")) == "$3.315"
    assert Pricing(currency_format="{amount} kr", decimals=0).money(Decimal("12.5")) == "13 kr"
    check_currency_format("{amount} €")
    for bad in ("EUR", "{price} €", "{amount} {x}"):
        with pytest.raises(PricingError):
            check_currency_format(bad)


def test_the_drivers_price_wins_over_the_default_and_offline_has_its_own_text():
    p = Pricing(language="de", supported_languages=("en", "de"))
    p.default.texts.update({"": "0.39 EUR/kWh", "de": "0,39 EUR/kWh"})
    p.default.offline_texts[""] = "Offline: 0.45 EUR/kWh"
    assert p.price_text([], online=True) == "0,39 EUR/kWh"
    assert p.price_text([], online=False) == "Offline: 0.45 EUR/kWh"
    p.set_user_price("04A1B2C3", {"": "Your price 0.29 EUR/kWh", "de": "Ihr Preis 0,29 EUR/kWh"})
    assert p.price_text(["04A1B2C3"], online=True) == "Ihr Preis 0,29 EUR/kWh"
    assert p.price_text(["OTHER"], online=True) == "0,39 EUR/kWh"
    with pytest.raises(PricingError):
        p.set_user_price("X", {})


def test_running_cost_during_the_transaction_and_the_total_after_it():
    p = Pricing(final_cost_s=120)
    p.set_cost(1, Cost(transaction_id="tx-7", amount=Decimal("1.25"), final=False))
    assert p.cost_text(1, "tx-7", finishing=False, now=0) == "Cost 1.25 €"
    assert p.cost_text(1, "tx-8", finishing=False, now=0) is None  # another transaction's
    p.set_cost(1, Cost(transaction_id="tx-7", amount=Decimal("1.5"), final=False, idle=True))
    assert p.cost_text(1, "tx-7", finishing=False, now=0) == "Cost 1.50 € idle"
    assert p.cost_text(1, None, finishing=True, now=0) is None  # a running cost is not a total
    p.set_cost(1, Cost(transaction_id="tx-7", amount=Decimal("3.31"), final=True, texts={"": "Thank you"}, received_at=100))
    assert p.cost_text(1, None, finishing=True, now=1000) == "Total 3.31 €"  # while the EV is plugged
    assert p.cost_text(1, None, finishing=False, now=219) == "Total 3.31 €"  # and a while after
    assert p.cost_text(1, None, finishing=False, now=221) is None
    assert p.receipt_text(1, finishing=True, now=1000) == "Thank you"
    assert p.cost_text(1, "tx-9", finishing=False, now=101) is None  # a new session


def test_the_next_price_period_in_local_time_with_the_summer_time_change():
    p = Pricing()
    change = dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    p.offsets = TimeOffsets(parse_offset("+01:00"), change, parse_offset("+0200"))
    at = dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    p.set_cost(1, Cost("tx-7", Decimal(1), False, next_price=ChargingPrice(kwh=Decimal("0.25")), next_at=at))
    assert p.next_period_text(1, "tx-7", at - dt.timedelta(hours=1)) == "From 13:00: 0.25 €/kWh"
    assert p.next_period_text(1, "tx-7", at) is None  # it has begun
    p.set_cost(1, Cost("tx-7", Decimal(1), False, next_price=ChargingPrice(kwh=Decimal("0.3"), hour=Decimal(1)),
                       next_at=change + dt.timedelta(hours=10)))
    assert p.next_period_text(1, "tx-7", at) == "From 13:00: 0.30 €/kWh, 1.00 €/h"  # after the change: +02:00
    assert parse_offset("Z") is UTC
    for bad in ("2:00", "", "+25:00", "01:00"):
        with pytest.raises(PricingError):
            parse_offset(bad)


def test_cost_messages_are_checked_against_their_schema():
    body = parse("SetUserPrice", json.dumps({
        "idToken": "ABC123", "priceText": "$0.12/kWh, no idle fee",
        "priceTextExtra": [{"format": "UTF8", "language": "nl", "content": "0,12/kWh"},
                           {"format": "HTML", "language": "de", "content": "<b>0,12</b>"}]}))
    assert texts(body) == {"": "$0.12/kWh, no idle fee", "nl": "0,12/kWh"}  # HTML is not for this panel
    with pytest.raises(Rejected, match="not JSON"):
        parse("FinalCost", "{cost: 1}")
    with pytest.raises(Rejected, match="'priceText' is a required property"):
        parse("FinalCost", json.dumps({"transactionId": 1, "cost": 3.31}))
    with pytest.raises(Rejected, match="state"):
        parse("RunningCost", json.dumps({"transactionId": 1, "timestamp": "2026-03-19T12:00:00Z", "meterValue": 1,
                                         "cost": 1, "state": "Parked", "chargingPrice": {}}))
    with pytest.raises(Rejected, match="chargingPrice"):
        parse("RunningCost", json.dumps({"transactionId": 1, "timestamp": "2026-03-19T12:00:00Z", "meterValue": 1,
                                         "cost": 1, "state": "Idle", "chargingPrice": {"kWhPrice": "cheap"}}))


def test_meter_value_triggers_fire_once_or_on_each_change():
    at = dt.datetime(2026, 3, 19, 12, 30, tzinfo=UTC)
    t = MeterTrigger(1, at_time=at, at_energy_wh=50_000, at_power_w=100, at_status=frozenset({"SuspendedEV"}))
    before = at - dt.timedelta(minutes=1)
    assert t.due(before, 49_000, 7000, "Charging") == []
    assert t.due(at, 49_000, 7000, "Charging") == ["atTime"]
    assert t.due(at, 50_000, 7000, "Charging") == ["atEnergykWh"]
    assert t.due(at, 51_000, 0, "SuspendedEV") == ["atPowerkW", "atCPStatus"]
    assert t.due(at, 51_000, 0, "SuspendedEV") == []
    assert t.due(at, 51_000, 7000, "Charging") == ["atPowerkW"]


@pytest.fixture
def keys(tmp_path):
    """(ConfigurationKeys with the pricing keys, pricing, reopen) over one database file."""
    stores: list[Store] = []

    def open_():
        if stores:  # a restart: the last process's store is gone
            stores.pop().close()
        store = Store(tmp_path / "db")
        stores.append(store)
        pricing = Pricing(language="en", supported_languages=("en", "de"))
        table = ConfigurationKeys(Settings(store), 1)
        table.add(PricingKeys(pricing, store))
        return table, pricing

    return open_


def test_pricing_keys_change_what_the_driver_reads_and_persist(keys):
    table, pricing = keys()
    default = {"priceText": "0.15 $/kWh", "priceTextOffline": "Offline: 0.15 $/kWh", "chargingPrice": {"kWhPrice": 0.15}}
    assert table.change("DefaultPrice", json.dumps(default)) is ChangeResult.ACCEPTED
    assert table.change("DefaultPriceText,de", json.dumps({"priceText": "0,15 $/kWh"})) is ChangeResult.ACCEPTED
    assert table.change("Language", "de") is ChangeResult.ACCEPTED
    assert table.change("NumberOfDecimalsForCostValues", "3") is ChangeResult.ACCEPTED
    assert table.change("TimeOffset", "+01:00") is ChangeResult.ACCEPTED
    assert pricing.price_text([], online=True) == "0,15 $/kWh" and pricing.decimals == 3
    assert pricing.price_text([], online=False) == "Offline: 0.15 $/kWh"
    assert pricing.default.charging_price.kwh == Decimal("0.150")
    # Refused, and nothing changed:
    for name, value in [("DefaultPrice", "{}"), ("DefaultPrice", "not json"),
                        ("DefaultPrice", json.dumps({"priceText": "x", "other": 1})),
                        ("DefaultPriceText,fr", json.dumps({"priceText": "prix"})),  # not a supported language
                        ("Language", "fr"), ("NumberOfDecimalsForCostValues", "9"), ("TimeOffset", "1h"),
                        ("NextTimeOffsetTransitionDateTime", "tomorrow"),
                        ("CustomDisplayCostAndPrice", "false"), ("SupportedLanguages", "en")]:
        assert table.change(name, value) is ChangeResult.REJECTED, name
    assert table.change("Language,de", "de") is ChangeResult.NOT_SUPPORTED
    known, unknown = table.get(["CustomDisplayCostAndPrice", "SupportedLanguages", "DefaultPriceText", "Language"])
    assert not unknown
    values = {k["key"]: (k["value"], k["readonly"]) for k in known}
    assert values["CustomDisplayCostAndPrice"] == ("true", True)
    assert values["SupportedLanguages"] == ("en,de", True)
    assert json.loads(values["DefaultPriceText"][0]) == {"priceTexts": [{"priceText": "0,15 $/kWh", "language": "de"}]}
    # A restart keeps what the backend set.
    table, pricing = keys()
    assert pricing.language == "de" and pricing.decimals == 3
    assert pricing.price_text([], online=True) == "0,15 $/kWh"
    assert pricing.offsets.offset == dt.timezone(dt.timedelta(hours=1))


def test_the_config_default_price_text_gives_way_to_the_backends(keys, tmp_path):
    table, pricing = keys()
    pk = PricingKeys(pricing, Store(tmp_path / "other"))
    pk.set_default_price_text("0.39 €/kWh")
    assert pricing.price_text([], online=True) == "0.39 €/kWh"
    assert pk.change("DefaultPrice", json.dumps({"priceText": "0.42 €/kWh"})) is ChangeResult.ACCEPTED
    pk.set_default_price_text("0.39 €/kWh")
    assert pricing.price_text([], online=True) == "0.42 €/kWh"
