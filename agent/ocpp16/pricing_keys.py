"""Configuration keys of the OCPP & California Pricing Requirements whitepaper (OCPP 1.6),
added to ``ConfigurationKeys`` through its ``add`` hook (``ExtraKeys``).

Read-only: CustomDisplayCostAndPrice (true), CustomMultiLanguageMessages (true),
CustomIdleFeeAfterStop (false: a transaction ends when the driver stops it, it is not
extended until the cable is unplugged), SupportedLanguages (``[ev_driver] supported_languages``).
Read-write, persisted: DefaultPrice (JSON: priceText, priceTextOffline?, chargingPrice?),
DefaultPriceText (GetConfiguration: JSON {"priceTexts": [...]}; set one language with the key
``DefaultPriceText,<language>`` and JSON {priceText, priceTextOffline?}), Language (one of
SupportedLanguages), NumberOfDecimalsForCostValues (0-6), TimeOffset, TimeOffsetNextTransition
("+01:00", "Z"), NextTimeOffsetTransitionDateTime (RFC 3339, "" = none).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import jsonschema

from agent.ocpp16.costmsg import _PRICE, charging_price
from agent.ocpp16.keys import ChangeResult
from agent.backend.services import DefaultPrice, KeyValuePort, Pricing, PricingError, TimeOffsets, parse_offset

log = logging.getLogger(__name__)

READ_ONLY = {
    "CustomDisplayCostAndPrice": "true",
    "CustomMultiLanguageMessages": "true",
    "CustomIdleFeeAfterStop": "false",
}
WRITABLE = ("DefaultPrice", "DefaultPriceText", "Language", "NumberOfDecimalsForCostValues", "TimeOffset",
            "NextTimeOffsetTransitionDateTime", "TimeOffsetNextTransition")
_DEFAULT_PRICE = {"type": "object", "required": ["priceText"], "additionalProperties": False,
                  "properties": {"priceText": {"type": "string"}, "priceTextOffline": {"type": "string"},
                                 "chargingPrice": _PRICE}}
_PRICE_TEXT = {"type": "object", "required": ["priceText"], "additionalProperties": False,
               "properties": {"priceText": {"type": "string"}, "priceTextOffline": {"type": "string"},
                              "language": {"type": "string"}}}
STORE_PREFIX = "costmsg."


class PricingKeys:
    def __init__(self, pricing: Pricing, store: KeyValuePort, changed=lambda: None) -> None:
        self.pricing = pricing
        self._store = store
        self.changed = changed
        self._raw: dict[str, str] = {
            "DefaultPrice": "", "DefaultPriceText": "", "Language": pricing.language,
            "NumberOfDecimalsForCostValues": str(pricing.decimals), "TimeOffset": "+00:00",
            "NextTimeOffsetTransitionDateTime": "", "TimeOffsetNextTransition": "",
        }
        stored = {k[len(STORE_PREFIX):]: v for k, v in store.settings().items() if k.startswith(STORE_PREFIX)}
        for name in WRITABLE:
            value = stored.get(name, self._raw[name])
            try:
                self._apply(name, value)
            except (PricingError, ValueError) as exc:  # a stored value that no longer fits
                log.warning("%s: stored value %r not used: %s", name, value, exc)

    def set_default_price_text(self, text: str) -> None:
        """The config file's default price text, unless the backend set a DefaultPrice."""
        if text and not self._raw["DefaultPrice"]:
            self._apply("DefaultPrice", json.dumps({"priceText": text}))

    # ---- ExtraKeys ---------------------------------------------------------------------

    def names(self) -> list[str]:
        return [*READ_ONLY, "SupportedLanguages", *WRITABLE]

    def entry(self, name: str) -> dict[str, Any]:
        if name in READ_ONLY:
            return {"key": name, "readonly": True, "value": READ_ONLY[name]}
        if name == "SupportedLanguages":
            return {"key": name, "readonly": True, "value": ",".join(self.pricing.supported_languages)}
        return {"key": name, "readonly": False, "value": self._raw[name]}

    def change(self, name: str, value: str) -> ChangeResult:
        base, _, language = name.partition(",")
        if base in READ_ONLY or base == "SupportedLanguages":
            return ChangeResult.REJECTED
        if base not in WRITABLE or (language and base != "DefaultPriceText"):
            return ChangeResult.NOT_SUPPORTED
        try:
            if language:
                value = self._with_language(language, value)
            self._apply(base, value)
        except (PricingError, ValueError) as exc:
            log.warning("ChangeConfiguration %s rejected: %s", name, exc)
            return ChangeResult.REJECTED
        self._store.put_setting(STORE_PREFIX + base, self._raw[base])
        self.changed()
        return ChangeResult.ACCEPTED

    # ---- parsing -----------------------------------------------------------------------

    def _with_language(self, language: str, value: str) -> str:
        """``DefaultPriceText,<language>``: one language's texts into the whole list."""
        if language.lower() not in {s.lower() for s in self.pricing.supported_languages}:
            raise PricingError(f"language {language!r} is not in SupportedLanguages")
        item = _json(value, _PRICE_TEXT)
        item["language"] = language
        texts = json.loads(self._raw["DefaultPriceText"] or '{"priceTexts": []}')["priceTexts"]
        texts = [t for t in texts if t["language"].lower() != language.lower()] + [item]
        return json.dumps({"priceTexts": texts})

    def _apply(self, name: str, value: str) -> None:
        p = self.pricing
        if name == "Language":
            match = [s for s in p.supported_languages if s.lower() == value.strip().lower()]
            if not match:
                raise PricingError(f"{value!r} is not in SupportedLanguages ({','.join(p.supported_languages)})")
            p.language = match[0]
        elif name == "NumberOfDecimalsForCostValues":
            if not value.strip().isdigit() or not 0 <= int(value) <= 6:
                raise PricingError(f"{value!r} is not a number of decimals from 0 to 6")
            p.decimals = int(value)
        elif name in ("TimeOffset", "TimeOffsetNextTransition", "NextTimeOffsetTransitionDateTime"):
            raw = {**self._raw, name: value}
            p.offsets = TimeOffsets(
                parse_offset(raw["TimeOffset"]),
                _moment(raw["NextTimeOffsetTransitionDateTime"]),
                parse_offset(raw["TimeOffsetNextTransition"]) if raw["TimeOffsetNextTransition"] else None,
            )
        else:
            raw = {**self._raw, name: value}
            p.default = self._default_price(raw["DefaultPrice"], raw["DefaultPriceText"])
        self._raw[name] = value

    def _default_price(self, default_price: str, default_price_text: str) -> DefaultPrice:
        price = DefaultPrice()
        if default_price:
            body = _json(default_price, _DEFAULT_PRICE)
            price.texts[""] = body["priceText"]
            if "priceTextOffline" in body:
                price.offline_texts[""] = body["priceTextOffline"]
            price.charging_price = charging_price(body.get("chargingPrice"), self.pricing.decimals)
        if default_price_text:
            body = _json(default_price_text, {"type": "object", "required": ["priceTexts"], "properties": {
                "priceTexts": {"type": "array", "items": {**_PRICE_TEXT, "required": ["priceText", "language"]}}}})
            for item in body["priceTexts"]:
                price.texts[item["language"]] = item["priceText"]
                if "priceTextOffline" in item:
                    price.offline_texts[item["language"]] = item["priceTextOffline"]
        return price


def _json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PricingError(f"not JSON: {exc}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(body))
    if error is not None:
        raise PricingError(error.message)
    return body


def _moment(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PricingError(f"{text!r} is not an RFC 3339 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
