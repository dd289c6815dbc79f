"""Functional block I (Tariff and cost): what the CSMS tells the EV driver, shown on the station's
display (and so on the simulator's page of it) through the neutral pricing and message board of
agent/ui:

- the running total cost of a transaction, from CostUpdated or from the totalCost of a
  TransactionEventResponse to a Started / Updated event (I02), and the final total cost from the
  answer to the Ended event (I03), while TariffCostCtrlr.Enabled[Cost] is true;
- the driver's tariff, the personalMessage of the IdTokenInfo in an AuthorizeResponse or a
  TransactionEventResponse (I01), and its updatedPersonalMessage (I06), while
  TariffCostCtrlr.Enabled[Tariff] is true;
- the fallbacks: TariffCostCtrlr.TariffFallbackMessage, when set, is the tariff shown to a driver
  the CSMS sent none for (the display's default price text, I04), and TotalCostFallbackMessage is
  shown when the answer to the Ended event brings no totalCost (I05).

Amounts are in TariffCostCtrlr.Currency; the display writes them with the [ev_driver]
currency_format and NumberOfDecimalsForCostValues of the neutral pricing.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from agent.backend.services import Cost, Priority, UserMessage

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

PERSONAL_MESSAGE_S = 120.0  # how long a tariff / personal message stays up
# The message board's id of an EVSE's personal message: below any id a CSMS gives a display
# message (SetDisplayMessage ids are the CSMS's), one per EVSE, a new one replacing the last.
PERSONAL_MESSAGE_ID = -1000


def show_cost(adapter: Ocpp201Adapter, evse_id: int, transaction_id: str, total: Any, *, final: bool) -> bool:
    """A running (or, with ``final``, the final) total cost of the transaction on ``evse_id`` for
    the display; False when not shown (Cost disabled, not a number)."""
    if not adapter.services.settings["cost_enabled"]:
        return False
    try:
        amount = Decimal(str(total))
    except (InvalidOperation, ValueError):
        log.warning("totalCost %r for transaction %s is no number", total, transaction_id)
        return False
    user_info = adapter.services.user_info
    user_info.pricing.set_cost(evse_id, Cost(transaction_id, amount, final=final, received_at=time.monotonic()))
    user_info.changed()
    log.info("transaction %s on EVSE %d: %s cost %s", transaction_id, evse_id, "final" if final else "running", amount)
    return True


def show_personal_message(adapter: Ocpp201Adapter, evse_id: int, message: dict[str, Any] | None, *,
                          setting: str = "tariff_enabled") -> None:
    """§2.30 MessageContentType (snake_case) → the EVSE's display, for PERSONAL_MESSAGE_S, while
    the ``setting`` (TariffCostCtrlr.Enabled[Tariff] unless told) is true."""
    if not message or not message.get("content") or not adapter.services.settings[setting]:
        return
    texts = {message.get("language") or "": str(message["content"])}
    user_info = adapter.services.user_info
    user_info.messages.show(UserMessage(PERSONAL_MESSAGE_ID - evse_id, evse_id, texts, Priority.NORMAL_CYCLE,
                                        time.monotonic() + PERSONAL_MESSAGE_S))
    user_info.changed()


def transaction_answered(adapter: Ocpp201Adapter, body: dict[str, Any], answer: Any) -> None:
    """What a TransactionEventResponse says for the driver: totalCost (running, I02, or final for
    Ended, I03), updatedPersonalMessage (I06) and idTokenInfo.personalMessage (I01)."""
    evse_id, transaction_id = body.get("evse_id"), body.get("transaction_id")
    if evse_id is None or transaction_id is None:
        return
    total = getattr(answer, "total_cost", None)
    ended = body.get("event") == "Ended"
    if total is not None:
        show_cost(adapter, evse_id, transaction_id, total, final=ended)
    elif ended and adapter.services.settings["cost_enabled"]:  # I05: the cost is not known
        fallback = adapter.services.settings["total_cost_fallback_message"]
        if fallback:
            show_personal_message(adapter, evse_id, {"format": "UTF8", "content": fallback}, setting="cost_enabled")
    info = getattr(answer, "id_token_info", None) or {}
    show_personal_message(adapter, evse_id, getattr(answer, "updated_personal_message", None)
                          or info.get("personal_message"))


def authorize_answered(adapter: Ocpp201Adapter, answer: Any) -> None:
    """I01: the driver's tariff, the personalMessage of an AuthorizeResponse's IdTokenInfo, on the
    displays of the EVSEs its evseId names, else on every display (an Authorize names no EVSE:
    the driver is at the station's reader, before choosing one)."""
    info = getattr(answer, "id_token_info", None) or {}
    message = info.get("personal_message")
    for evse_id in info.get("evse_id") or [0]:
        show_personal_message(adapter, evse_id, message)


def follow_tariff_fallback(adapter: Ocpp201Adapter) -> None:
    """I04: while TariffCostCtrlr.TariffFallbackMessage is set (and Enabled[Tariff] true), it is the
    default price text the display shows a driver the CSMS sent no tariff for; unset, the text it
    replaced (the configuration's, or a 1.6 backend's) is back. Kept in step with the settings."""
    settings, user_info = adapter.services.settings, adapter.services.user_info
    shown: dict[str, str] | None = None  # the fallback texts put up, while they are
    replaced: dict[str, str] = {}

    def apply(name: str, _value: Any) -> None:
        nonlocal shown, replaced
        if name not in ("tariff_fallback_message", "tariff_enabled"):
            return
        pricing = user_info.pricing
        fallback = settings["tariff_fallback_message"] if settings["tariff_enabled"] else ""
        if fallback:
            if shown is None or pricing.default.texts != shown:
                replaced = dict(pricing.default.texts)
            shown = {"": fallback}
            pricing.default.texts = dict(shown)
        elif shown is not None:
            if pricing.default.texts == shown:  # not replaced meanwhile (a 1.6 DefaultPrice)
                pricing.default.texts = replaced
            shown = None
        user_info.changed()

    if settings["tariff_fallback_message"]:
        apply("tariff_fallback_message", None)
    settings.on_change(apply)


class TariffCostHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter

    # I02 CostUpdated: the running total cost of a transaction
    @on(Action.cost_updated)
    def on_cost_updated(self, total_cost: float, transaction_id: str, **_: Any) -> Any:
        transaction = self.adapter.station.transaction(transaction_id)
        if transaction is None or not transaction.running:
            log.warning("CostUpdated for transaction %s, which does not run here", transaction_id)
        else:
            show_cost(self.adapter, transaction.evse_id, transaction_id, total_cost, final=False)
        return call_result.CostUpdated()
