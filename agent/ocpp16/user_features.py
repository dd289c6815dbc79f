"""What the driver sees and how they start, wired to the OCPP 1.6 adapter: price and cost
(California Pricing DataTransfer + keys), backend display messages, free vend and the
reversed-byte-order card match. Called once by the composition root (``agent/app/composition.py``)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from agent.station.clock import Clock
from agent.ui.displays import ScreenNotes
from agent.ui.notes import DriverInfo, MessageBoard
from agent.ocpp16 import costmsg, display_messages
from agent.ocpp16.pricing_keys import PricingKeys
from agent.core.pricing import Pricing

if TYPE_CHECKING:
    from agent.app.config import AgentConfig
    from agent.ocpp16.adapter import Ocpp16Backend


def install_driver_features(config: AgentConfig, backend: Ocpp16Backend) -> tuple[ScreenNotes, list[Coroutine[Any, Any, None]]]:
    """(the displays' notes, what must run)."""
    station, d = backend.station, config.driver
    notes = ScreenNotes()
    pricing = Pricing(currency_format=d.currency_format, decimals=d.decimals, language=d.language,
                      supported_languages=tuple(d.supported_languages), final_cost_s=d.final_cost_s)
    board = MessageBoard()
    info = DriverInfo(station, notes, pricing, board, online=lambda: backend.online,
                      idle_text={"": d.idle_text} if d.idle_text else None)
    keys = PricingKeys(pricing, station.store, changed=info.changed)
    keys.set_default_price_text(d.default_price_text)
    backend.keys.add(keys)
    costs = costmsg.CostMessages(backend, pricing, info.changed)
    backend.data_transfer_handlers[costmsg.VENDOR_ID] = costs
    backend.data_transfer_handlers[display_messages.VENDOR_ID] = display_messages.DisplayMessages(
        board, set(station.connectors), lambda: pricing.language, Clock.monotonic, info.changed)
    work = [info.run(), costs.run()]
    if config.free_vend.id_tag:
        from agent.station.free_vend import FreeVend

        work.append(FreeVend(station, config.free_vend.id_tag).run())
    if config.card_reader.match_reversed and station.card_reader is not None:
        from agent.station.card_ids import ReversedMatchReader

        station.card_reader = ReversedMatchReader(station.card_reader, station.authorizer.local)
    return notes, work
