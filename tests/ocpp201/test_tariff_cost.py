"""Block I's rules in the 2.0.1 adapter (agent/ocpp201/handlers/tariff_cost.py), over the real
pricing and message board of agent/ui and a stand-in for the adapter's settings: which costs and
texts reach the driver, and what TariffCostCtrlr's variables change about it."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from agent.core.pricing import Pricing
from agent.ocpp201.handlers.tariff_cost import (
    follow_tariff_fallback,
    transaction_answered,
)
from agent.ui.notes import MessageBoard, Priority


class Settings(dict):
    """agent/backend/services.py SettingsPort over a dict."""

    def __init__(self, **values: Any) -> None:
        super().__init__({"cost_enabled": True, "tariff_enabled": True, "tariff_fallback_message": "",
                          "total_cost_fallback_message": "", **values})
        self.listeners: list = []

    def set(self, name: str, value: Any) -> None:
        self[name] = value
        for listener in self.listeners:
            listener(name, value)

    def on_change(self, listener) -> None:
        self.listeners.append(listener)


def adapter(**settings: Any) -> SimpleNamespace:
    user_info = SimpleNamespace(pricing=Pricing(), messages=MessageBoard(), changes=0)
    user_info.changed = lambda: setattr(user_info, "changes", user_info.changes + 1)
    return SimpleNamespace(services=SimpleNamespace(settings=Settings(**settings), user_info=user_info))


def answer(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(**{"total_cost": None, "updated_personal_message": None, "id_token_info": None, **fields})


def event(kind: str) -> dict:
    return {"event": kind, "evse_id": 1, "transaction_id": "tx-1"}


def texts_shown(a, evse_id: int = 1) -> list[str]:
    return [m.texts.get("") or next(iter(m.texts.values())) for m in a.services.user_info.messages.all()
            if m.connector_id in (0, evse_id)]


def test_running_then_final_cost():
    a = adapter()
    transaction_answered(a, event("Updated"), answer(total_cost=1.5))
    cost = a.services.user_info.pricing.costs[1]
    assert (cost.transaction_id, cost.amount, cost.final) == ("tx-1", Decimal("1.5"), False)
    transaction_answered(a, event("Ended"), answer(total_cost=3.25))
    assert a.services.user_info.pricing.costs[1].final and a.services.user_info.pricing.costs[1].amount == Decimal("3.25")


def test_no_cost_is_shown_while_cost_is_disabled():
    a = adapter(cost_enabled=False, total_cost_fallback_message="Ask the operator")
    transaction_answered(a, event("Updated"), answer(total_cost=1.5))
    transaction_answered(a, event("Ended"), answer())
    assert a.services.user_info.pricing.costs == {} and texts_shown(a) == []


def test_an_ended_answer_without_total_cost_shows_the_fallback_message():
    a = adapter(total_cost_fallback_message="Your receipt follows by mail")
    transaction_answered(a, event("Updated"), answer())
    assert texts_shown(a) == []  # only at the end
    transaction_answered(a, event("Ended"), answer())
    assert texts_shown(a) == ["Your receipt follows by mail"]
    assert adapter().services.user_info.messages.all() == []  # no fallback set: nothing


def test_personal_messages_replace_each_other_and_follow_tariff_enabled():
    a = adapter()
    transaction_answered(a, event("Started"), answer(id_token_info={"status": "Accepted", "personal_message": {
        "format": "ASCII", "language": "en", "content": "0.30/kWh"}}))
    transaction_answered(a, event("Updated"), answer(updated_personal_message={"format": "ASCII", "content": "0.25/kWh"}))
    assert texts_shown(a) == ["0.25/kWh"]
    assert a.services.user_info.messages.all()[0].priority is Priority.NORMAL_CYCLE
    off = adapter(tariff_enabled=False)
    transaction_answered(off, event("Updated"), answer(updated_personal_message={"format": "ASCII", "content": "x"}))
    assert texts_shown(off) == []


def test_the_tariff_fallback_is_the_default_price_while_set():
    a = adapter()
    pricing = a.services.user_info.pricing
    pricing.default.texts = {"": "0.39 €/kWh"}  # the configuration's
    follow_tariff_fallback(a)
    assert pricing.default.texts == {"": "0.39 €/kWh"}
    a.services.settings.set("tariff_fallback_message", "Tariff: see the app")
    assert pricing.price_text([], online=True) == "Tariff: see the app"
    a.services.settings.set("tariff_enabled", False)
    assert pricing.default.texts == {"": "0.39 €/kWh"}
    a.services.settings.set("tariff_enabled", True)
    a.services.settings.set("tariff_fallback_message", "")
    assert pricing.default.texts == {"": "0.39 €/kWh"}


def test_a_tariff_fallback_set_before_the_start_is_shown_from_the_start():
    a = adapter(tariff_fallback_message="Ask for the tariff")
    follow_tariff_fallback(a)
    assert a.services.user_info.pricing.default.texts == {"": "Ask for the tariff"}
