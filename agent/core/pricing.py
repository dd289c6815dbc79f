"""Price and cost as the driver reads them, whatever the OCPP version.

The Open Charge Alliance's "OCPP & California Pricing Requirements" whitepaper describes what
a charge point shows: the price before a session (a default price text, or the driver's own
once the card is identified), the running cost during it and the final cost after it. The
OCPP adapter parses its messages (``agent/ocpp16/costmsg.py`` for 1.6) into the calls below;
this module keeps them per connector and turns them into the short texts of
``agent.ui.displays.ScreenNotes``. Nothing here does I/O or reads a clock: times are passed in.

Texts come in several languages (``Texts``: language code → text); the one shown is the best
match to the configured language (``choose``). Amounts are ``Decimal``, rounded to
``decimals`` places (NumberOfDecimalsForCostValues) and printed with ``currency_format``
("{amount} €", "${amount}").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Texts = dict[str, str]  # language code (RFC 5646, "en", "de-CH") → text; "" = language not given

USER_PRICES_KEPT = 100  # drivers' prices remembered at once (by idTag)
OFFSET = re.compile(r"^(Z|[+-](\d\d):?(\d\d))$")


class PricingError(ValueError):
    """A price, cost or setting that cannot be used; the message says why."""


def choose(texts: Texts, language: str) -> str | None:
    """The text for ``language``: the same tag, else the same primary language ("de" for
    "de-CH" and the other way round), else the text without a language, else the first."""
    if not texts:
        return None
    want = language.lower()
    by_tag = {tag.lower(): text for tag, text in texts.items()}
    if want in by_tag:
        return by_tag[want]
    primary = want.split("-")[0].split("_")[0]
    for tag, text in by_tag.items():
        if tag.split("-")[0].split("_")[0] == primary:
            return text
    return by_tag.get("", next(iter(texts.values())))


def amount(value: object, decimals: int, what: str = "amount") -> Decimal:
    """A JSON number as a Decimal rounded to ``decimals`` places; PricingError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PricingError(f"{what}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PricingError(f"{what}: {value!r} is not a number") from None
    if not number.is_finite():
        raise PricingError(f"{what}: {value!r} is not a finite number")
    return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def parse_offset(text: str) -> dt.timezone:
    """A TimeOffset value ("+01:00", "-0230", "Z") as a timezone; PricingError otherwise."""
    match = OFFSET.match(text.strip())
    if match is None:
        raise PricingError(f"{text!r} is not a UTC offset like +01:00 or Z")
    if match.group(1) == "Z":
        return dt.timezone.utc
    hours, minutes = int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes > 59:
        raise PricingError(f"{text!r} is not a UTC offset like +01:00 or Z")
    sign = -1 if text.strip().startswith("-") else 1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


@dataclass(frozen=True)
class ChargingPrice:
    """What charging costs: per kWh, per hour, once per session (any may be absent)."""

    kwh: Decimal | None = None
    hour: Decimal | None = None
    flat_fee: Decimal | None = None


@dataclass(frozen=True)
class TimeOffsets:
    """Local time for the driver (TimeOffset, and its next summer/winter change)."""

    offset: dt.timezone = dt.timezone.utc
    transition_at: dt.datetime | None = None  # NextTimeOffsetTransitionDateTime
    offset_after: dt.timezone | None = None  # TimeOffsetNextTransition

    def at(self, when: dt.datetime) -> dt.timezone:
        if self.transition_at is not None and self.offset_after is not None and when >= self.transition_at:
            return self.offset_after
        return self.offset


@dataclass
class DefaultPrice:
    """The price shown to everyone before a card is identified (DefaultPrice / DefaultPriceText)."""

    texts: Texts = field(default_factory=dict)  # online
    offline_texts: Texts = field(default_factory=dict)  # while the backend cannot be reached
    charging_price: ChargingPrice | None = None


@dataclass(frozen=True)
class Cost:
    """The cost of one transaction as the backend last told it."""

    transaction_id: str  # the station's id of the transaction it is for
    amount: Decimal
    final: bool
    idle: bool = False  # RunningCost state Idle: the EV no longer charges, idle fees may run
    texts: Texts = field(default_factory=dict)  # FinalCost priceText(s), the receipt
    receipt_url: str | None = None  # FinalCost qrCodeText
    charging_price: ChargingPrice | None = None
    next_price: ChargingPrice | None = None  # RunningCost nextPeriod
    next_at: dt.datetime | None = None
    received_at: float = 0.0  # monotonic


@dataclass
class Pricing:
    """Prices and costs of the whole station, and the texts the display shows for them."""

    currency_format: str = "{amount} €"
    decimals: int = 2  # NumberOfDecimalsForCostValues
    language: str = "en"  # Language
    supported_languages: tuple[str, ...] = ("en",)  # SupportedLanguages
    offsets: TimeOffsets = field(default_factory=TimeOffsets)
    default: DefaultPrice = field(default_factory=DefaultPrice)
    final_cost_s: float = 120.0  # how long a final cost stays up once the EV has left
    user_prices: dict[str, Texts] = field(default_factory=dict)  # by idTag (SetUserPrice)
    costs: dict[int, Cost] = field(default_factory=dict)  # by connector

    # ---- what the backend says -------------------------------------------------------

    def set_user_price(self, id_tag: str, texts: Texts) -> None:
        """The price for this driver, shown once their card is identified on a connector."""
        if not texts:
            raise PricingError("priceText: missing")
        self.user_prices.pop(id_tag, None)
        self.user_prices[id_tag] = dict(texts)
        while len(self.user_prices) > USER_PRICES_KEPT:  # the oldest go first
            del self.user_prices[next(iter(self.user_prices))]

    def set_cost(self, connector_id: int, cost: Cost) -> None:
        self.costs[connector_id] = cost

    def forget_user(self, id_tag: str) -> None:
        self.user_prices.pop(id_tag, None)

    # ---- formatting ------------------------------------------------------------------

    def money(self, value: Decimal) -> str:
        rounded = value.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)
        return self.currency_format.format(amount=f"{rounded:.{self.decimals}f}")

    def text(self, texts: Texts) -> str | None:
        return choose(texts, self.language)

    def price_text(self, id_tags: list[str], online: bool) -> str | None:
        """Before a session: the identified driver's price, else the default one."""
        for id_tag in id_tags:
            if id_tag in self.user_prices:
                return self.text(self.user_prices[id_tag])
        if not online and self.default.offline_texts:
            return self.text(self.default.offline_texts)
        return self.text(self.default.texts)

    def cost_text(self, connector_id: int, transaction_id: str | None, finishing: bool, now: float) -> str | None:
        """"Cost 4.12 €" while ``transaction_id`` runs; "Total 4.12 €" after it, while the EV is
        still plugged (Finishing) or for ``final_cost_s``."""
        cost = self.costs.get(connector_id)
        if cost is None:
            return None
        if transaction_id is not None:
            if cost.transaction_id != transaction_id or cost.final:
                return None
            return f"Cost {self.money(cost.amount)}" + (" idle" if cost.idle else "")
        if cost.final and (finishing or now < cost.received_at + self.final_cost_s):
            return f"Total {self.money(cost.amount)}"
        return None

    def receipt_text(self, connector_id: int, finishing: bool, now: float) -> str | None:
        """The FinalCost priceText while its total is shown."""
        cost = self.costs.get(connector_id)
        if cost is None or not cost.final or not cost.texts:
            return None
        if finishing or now < cost.received_at + self.final_cost_s:
            return self.text(cost.texts)
        return None

    def next_period_text(self, connector_id: int, transaction_id: str | None, wall_now: dt.datetime) -> str | None:
        """"From 13:00: 0.25 €/kWh" for a price change announced in the running session."""
        cost = self.costs.get(connector_id)
        if cost is None or cost.final or transaction_id != cost.transaction_id or cost.next_at is None:
            return None
        if cost.next_at <= wall_now or cost.next_price is None:
            return None
        local = cost.next_at.astimezone(self.offsets.at(cost.next_at))
        return f"From {local:%H:%M}: {self.describe(cost.next_price)}"

    def describe(self, price: ChargingPrice) -> str:
        parts = []
        if price.kwh is not None:
            parts.append(f"{self.money(price.kwh)}/kWh")
        if price.hour:
            parts.append(f"{self.money(price.hour)}/h")
        if price.flat_fee:
            parts.append(f"{self.money(price.flat_fee)} fee")
        return ", ".join(parts) or self.money(Decimal(0))


def check_currency_format(text: str) -> None:
    """``text`` must name {amount} and nothing else."""
    try:
        filled = text.format(amount="1.00")
    except (KeyError, IndexError, ValueError) as exc:
        raise PricingError(f"only {{amount}} may be filled in ({exc})") from None
    if filled == text:
        raise PricingError("must contain {amount}")
