"""OCPP & California Pricing Requirements for OCPP 1.6 (Open Charge Alliance whitepaper):
DataTransfer with vendorId ``org.openchargealliance.costmsg`` from the backend.

- ``SetUserPrice`` {idToken, priceText, priceTextExtra?}: the driver's price, shown once
  their card is identified (before Authorize.conf, or any time after).
- ``RunningCost`` {transactionId, timestamp, meterValue, cost, state Charging|Idle,
  chargingPrice, idlePrice?, nextPeriod?, triggerMeterValue?}: the cost so far; the
  trigger asks for MeterValues at a time (atTime), at a meter reading (atEnergykWh), when
  the power crosses a level (atPowerkW) or on entering a status (atCPStatus).
- ``FinalCost`` {transactionId, cost, priceText, priceTextExtra?, qrCodeText?}: the total
  after StopTransaction, with a receipt text.

``data`` is a JSON text, checked against the schemas below (jsonschema, the ``ocpp``
library's own validator); a message that does not fit is answered Rejected with the reason
in ``data`` and changes nothing. The texts go to ``agent.core.pricing.Pricing`` (version-neutral);
configuration keys are in ``agent/ocpp16/pricing_keys.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema

from agent.backend.ports import TransactionView
from agent.backend.services import ChargingPrice, Cost, Pricing, PricingError, Texts, amount

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)

VENDOR_ID = "org.openchargealliance.costmsg"

_NUMBER = {"type": "number"}
_PRICE = {"type": "object", "additionalProperties": False,
          "properties": {"kWhPrice": _NUMBER, "hourPrice": _NUMBER, "flatFee": _NUMBER}}
_IDLE = {"type": "object", "additionalProperties": False,
         "properties": {"graceMinutes": {"type": "integer", "minimum": 0}, "hourPrice": _NUMBER}}
_EXTRA = {"type": "array", "items": {
    "type": "object", "required": ["language", "content"],
    "properties": {"format": {"enum": ["ASCII", "HTML", "URI", "UTF8"]}, "language": {"type": "string"},
                   "content": {"type": "string"}}}}
_TIME = {"type": "string", "format": "date-time"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "SetUserPrice": {
        "type": "object", "required": ["idToken", "priceText"],
        "properties": {"idToken": {"type": "string", "minLength": 1}, "priceText": {"type": "string"},
                       "priceTextExtra": _EXTRA},
    },
    "RunningCost": {
        "type": "object", "required": ["transactionId", "timestamp", "meterValue", "cost", "state", "chargingPrice"],
        "properties": {
            "transactionId": {"type": "integer"}, "timestamp": _TIME, "meterValue": {"type": "integer"},
            "cost": _NUMBER, "state": {"enum": ["Charging", "Idle"]}, "chargingPrice": _PRICE, "idlePrice": _IDLE,
            "nextPeriod": {"type": "object", "required": ["atTime"], "additionalProperties": False,
                           "properties": {"atTime": _TIME, "chargingPrice": _PRICE, "idlePrice": _IDLE}},
            "triggerMeterValue": {"type": "object", "additionalProperties": False, "properties": {
                "atTime": _TIME, "atEnergykWh": _NUMBER, "atPowerkW": _NUMBER,
                "atCPStatus": {"type": "array", "items": {"enum": [
                    "Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
                    "Reserved", "Unavailable", "Faulted"]}}}},
        },
    },
    "FinalCost": {
        "type": "object", "required": ["transactionId", "cost", "priceText"],
        "properties": {"transactionId": {"type": "integer"}, "cost": _NUMBER, "priceText": {"type": "string"},
                       "priceTextExtra": _EXTRA, "qrCodeText": {"type": "string"}},
    },
}
_VALIDATORS = {name: jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
               for name, schema in SCHEMAS.items()}


class Rejected(Exception):
    """The message cannot be used; the text goes back in DataTransfer.conf ``data``."""


def parse(message_id: str | None, data: str | None) -> dict[str, Any]:
    """``data`` as the JSON object ``message_id`` defines; Rejected saying what is wrong."""
    validator = _VALIDATORS[message_id]
    try:
        body = json.loads(data or "")
    except ValueError as exc:
        raise Rejected(f"data is not JSON: {exc}") from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "data"
        raise Rejected(f"{where}: {error.message}")
    return body


def texts(body: dict[str, Any]) -> Texts:
    """priceText (language not given) and the plain-text priceTextExtra items, by language."""
    found: Texts = {"": body["priceText"]} if body.get("priceText") else {}
    for extra in body.get("priceTextExtra", []):
        if extra.get("format", "UTF8") in ("UTF8", "ASCII"):
            found[extra["language"]] = extra["content"]
    return found


def charging_price(wire: dict[str, Any] | None, decimals: int) -> ChargingPrice | None:
    if wire is None:
        return None
    get = {key: amount(wire[key], decimals, key) if key in wire else None for key in ("kWhPrice", "hourPrice", "flatFee")}
    return ChargingPrice(get["kWhPrice"], get["hourPrice"], get["flatFee"])


def when(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f"{text!r} is not a date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


@dataclass
class MeterTrigger:
    """RunningCost triggerMeterValue of one transaction: each condition sends MeterValues."""

    transaction_id: str
    at_time: dt.datetime | None = None
    at_energy_wh: float | None = None
    at_power_w: float | None = None
    at_status: frozenset[str] = frozenset()
    power_above: bool | None = None  # which side of at_power_w the power was last seen on
    last_status: str | None = None
    fired: set[str] = field(default_factory=set)

    def due(self, now: dt.datetime, energy_wh: float | None, power_w: float | None, status: str) -> list[str]:
        """The conditions met now (atTime and atEnergykWh once, the others at each change)."""
        met = []
        if self.at_time is not None and now >= self.at_time and "atTime" not in self.fired:
            met.append("atTime")
        if self.at_energy_wh is not None and energy_wh is not None and energy_wh >= self.at_energy_wh \
                and "atEnergykWh" not in self.fired:
            met.append("atEnergykWh")
        self.fired.update(met)
        if self.at_power_w is not None and power_w is not None:
            above = power_w > self.at_power_w
            if self.power_above is not None and above != self.power_above:
                met.append("atPowerkW")
            self.power_above = above
        if status != self.last_status and status in self.at_status and self.last_status is not None:
            met.append("atCPStatus")
        self.last_status = status
        return met


TRIGGER_MEASURANDS = ["Energy.Active.Import.Register", "Power.Active.Import"]


class CostMessages:
    """The DataTransfer handler for ``VENDOR_ID`` and the MeterValues triggers it sets up."""

    def __init__(self, adapter: Ocpp16Adapter, pricing: Pricing, changed=lambda: None, *,
                 monotonic=None, check_s: float = 1.0) -> None:
        import time

        self.adapter = adapter
        self.station = adapter.station
        self.pricing = pricing
        self.changed = changed  # what the person at the charger sees changed
        self._monotonic = monotonic or time.monotonic
        self.check_s = check_s
        self.triggers: dict[int, MeterTrigger] = {}  # by connector

    def __call__(self, message_id: str | None, data: str | None) -> tuple[str, str | None]:
        if message_id not in SCHEMAS:
            return "UnknownMessageId", None
        try:
            body = parse(message_id, data)
            getattr(self, f"_{message_id}")(body)
        except (Rejected, PricingError) as exc:
            log.warning("DataTransfer %s %s rejected: %s", VENDOR_ID, message_id, exc)
            return "Rejected", str(exc)
        self.changed()
        return "Accepted", None

    def _SetUserPrice(self, body: dict[str, Any]) -> None:
        self.pricing.set_user_price(body["idToken"], texts(body))
        log.info("SetUserPrice for %s", body["idToken"])

    def _RunningCost(self, body: dict[str, Any]) -> None:
        transaction = self._running(body["transactionId"])
        decimals = self.pricing.decimals
        next_period = body.get("nextPeriod") or {}
        cost = Cost(
            transaction_id=transaction.transaction_id, amount=amount(body["cost"], decimals, "cost"), final=False,
            idle=body["state"] == "Idle", charging_price=charging_price(body["chargingPrice"], decimals),
            next_price=charging_price(next_period.get("chargingPrice"), decimals),
            next_at=when(next_period["atTime"]) if next_period else None, received_at=self._monotonic(),
        )
        self.pricing.set_cost(transaction.evse_id, cost)
        trigger = body.get("triggerMeterValue")
        if trigger:
            self.triggers[transaction.evse_id] = MeterTrigger(
                transaction.transaction_id,
                at_time=when(trigger["atTime"]) if "atTime" in trigger else None,
                at_energy_wh=trigger["atEnergykWh"] * 1000 if "atEnergykWh" in trigger else None,
                at_power_w=trigger["atPowerkW"] * 1000 if "atPowerkW" in trigger else None,
                at_status=frozenset(trigger.get("atCPStatus", ())),
            )
        log.info("RunningCost of transaction %d: %s (%s)", body["transactionId"], cost.amount, body["state"])

    def _FinalCost(self, body: dict[str, Any]) -> None:
        transaction = self.station.transaction_by_backend_id(str(body["transactionId"]))
        if transaction is None:
            raise Rejected(f"transactionId {body['transactionId']}: no such transaction here")
        cost = Cost(transaction_id=transaction.transaction_id, amount=amount(body["cost"], self.pricing.decimals, "cost"),
                    final=True, texts=texts(body), receipt_url=body.get("qrCodeText"), received_at=self._monotonic())
        self.pricing.set_cost(transaction.evse_id, cost)
        self.triggers.pop(transaction.evse_id, None)
        log.info("FinalCost of transaction %d: %s", body["transactionId"], cost.amount)

    def _running(self, backend_id: int) -> TransactionView:
        transaction = self.station.transaction_by_backend_id(str(backend_id))
        if transaction is None or not transaction.running:
            raise Rejected(f"transactionId {backend_id}: no transaction of that id is running")
        return transaction

    # ---- triggerMeterValue -------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            statuses = {ref.evse_id: status for ref, (status, _) in self.station.statuses().items()}
            for cid, trigger in list(self.triggers.items()):
                transaction = self.station.transaction_on(cid)
                if transaction is None or transaction.transaction_id != trigger.transaction_id:
                    del self.triggers[cid]  # its transaction is over
                    continue
                values = {v.measurand: v.value for v in self.station.sample(cid, "Trigger", TRIGGER_MEASURANDS).values if v.phase is None}
                met = trigger.due(self.adapter.services.clock.now(), values.get("Energy.Active.Import.Register"),
                                  values.get("Power.Active.Import"), statuses[cid].value)
                if met and self.adapter.online:
                    log.info("connector %d: RunningCost trigger %s: MeterValues", cid, ", ".join(met))
                    try:
                        await self.adapter.send_meter_values_now(cid)
                    except Exception as exc:  # a missed trigger is only logged
                        log.warning("connector %d: triggered MeterValues failed: %r", cid, exc)
