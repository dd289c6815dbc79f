"""What the driver reads beside the connector's state: messages, price, cost, reservation.

``MessageBoard`` keeps the messages the backend sent (``agent/ocpp16/display_messages.py``),
each for a connector (0: all), with a priority, texts in several languages and an end.
``DriverInfo`` puts, for each connector, the one text of each kind that should be read now
into ``agent.ui.displays.ScreenNotes`` (which the display draws), every ``refresh_s`` and at
once when the backend changed something (``changed()``):

- price: the identified driver's price (SetUserPrice), else the default price text
  (its offline text while the backend cannot be reached);
- cost: the running cost of the session, then the final cost while the EV is still
  plugged in or for ``Pricing.final_cost_s``;
- message, the first of: an AlwaysFront message; while no fault is shown, an InFront
  message, the final cost's receipt text, "Reserved for 1234 - 12 min left", a NormalCycle
  message, the next price period; else the idle text on a free connector.

Priorities as OCPP 2.0.1 MessagePriorityEnumType: AlwaysFront is shown whatever the station
has to say; InFront and NormalCycle give way to a fault.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.station.clock import Clock
from agent.core.display_messages import MessagePriority, Situation, state_of
from agent.core.pricing import Pricing, Texts, choose
from agent.core.session import ConnectorStatus

if TYPE_CHECKING:
    from agent.station.display_messages import DisplayMessages
    from agent.station.station import Station
    from agent.station.view import ConnectorView
    from agent.ui.displays import ScreenNotes

log = logging.getLogger(__name__)

MAX_MESSAGES = 20  # messages kept at once; the oldest go first


class Priority(enum.Enum):
    ALWAYS_FRONT = "AlwaysFront"
    IN_FRONT = "InFront"
    NORMAL_CYCLE = "NormalCycle"


@dataclass(frozen=True)
class DriverMessage:
    message_id: int | None  # the same id replaces; None: a message of its own
    connector_id: int  # 0: every connector
    texts: Texts
    priority: Priority
    until: float | None  # monotonic; None: until cleared


class MessageBoard:
    def __init__(self, monotonic: Callable[[], float] = Clock.monotonic) -> None:
        self._monotonic = monotonic
        self._messages: list[DriverMessage] = []

    def show(self, message: DriverMessage) -> None:
        if message.message_id is not None:
            self._messages = [m for m in self._messages if m.message_id != message.message_id]
        self._messages.append(message)
        del self._messages[:-MAX_MESSAGES]

    def clear(self, message_id: int) -> bool:
        before = len(self._messages)
        self._messages = [m for m in self._messages if m.message_id != message_id]
        return len(self._messages) != before

    def all(self) -> list[DriverMessage]:
        """Every message that has not ended, oldest first."""
        now = self._monotonic()
        self._messages = [m for m in self._messages if m.until is None or now < m.until]
        return list(self._messages)

    def current(self, connector_id: int, priority: Priority) -> DriverMessage | None:
        """The newest message of ``priority`` for the connector that has not ended."""
        now = self._monotonic()
        self._messages = [m for m in self._messages if m.until is None or now < m.until]
        for m in reversed(self._messages):
            if m.priority is priority and m.connector_id in (0, connector_id):
                return m
        return None


def reservation_text(id_tag: str, seconds_left: float) -> str:
    return f"Reserved for {id_tag[-4:]} - {max(1, math.ceil(seconds_left / 60))} min left"


class DriverInfo:
    def __init__(self, station: Station, notes: ScreenNotes, pricing: Pricing, board: MessageBoard, *,
                 online: Callable[[], bool], idle_text: Texts | None = None, refresh_s: float = 0.5,
                 monotonic: Callable[[], float] = Clock.monotonic, scheduled: DisplayMessages | None = None) -> None:
        self.station = station
        self.notes = notes
        self.pricing = pricing
        self.board = board
        self.online = online
        self.idle_text = idle_text or {}
        self.refresh_s = refresh_s
        self._monotonic = monotonic
        self.scheduled = scheduled  # OCPP 2.0.1 SetDisplayMessage messages (block O)
        self._identified: dict[int, set[str]] = {}  # idTags on each connector at the last refresh

    def changed(self) -> None:
        """Something the driver should read changed (a backend message): show it now."""
        try:
            self.refresh()
        except Exception:  # the driver's texts never stop the agent, nor the answer to the backend
            log.exception("driver info: refresh failed")

    async def run(self) -> None:
        while True:
            self.changed()
            await asyncio.sleep(self.refresh_s)

    def refresh(self) -> None:
        views = [self.station.view(evse_id) for evse_id in self.station.evses()]
        for view in views:
            price, cost, message, seconds = self.texts(view)
            self.notes.set_price(view.evse_id, price)
            self.notes.set_cost(view.evse_id, cost)
            self.notes.show_message(view.evse_id, message or "", seconds if message else 0.0)
        self._forget_gone_drivers(views)

    def _forget_gone_drivers(self, views: list[ConnectorView]) -> None:
        """A driver's price (SetUserPrice) is for their session: forgotten once their idTag has
        left every connector (session over, card refused, timed out)."""
        now = {view.evse_id: set(view.identified) for view in views}
        present = set().union(*now.values())
        for tag in set().union(*self._identified.values()) - present:
            self.pricing.forget_user(tag)
        self._identified = now

    def texts(self, view: ConnectorView) -> tuple[str | None, str | None, str | None, float]:
        """(price, cost, message, seconds the message may stay up) for one connector."""
        now = self._monotonic()
        status = view.status
        identified = list(view.identified)
        running = view.transaction.transaction_id if view.transaction is not None else None
        after = not identified and running is None  # the last session's final cost may show
        finishing = status is ConnectorStatus.FINISHING
        price = self.pricing.price_text(identified, self.online())
        cost = self.pricing.cost_text(view.evse_id, running, finishing, now) if running is not None or after else None
        hold = 2 * self.refresh_s + 1.0  # state-made texts are renewed each refresh

        def backend(priority: Priority) -> tuple[str, float] | None:
            m = self.board.current(view.evse_id, priority)
            if m is None:
                return self._scheduled(view, priority, now, hold)
            text = choose(m.texts, self.pricing.language)
            return (text, m.until - now if m.until is not None else hold) if text else None

        candidates = [lambda: backend(Priority.ALWAYS_FRONT)]
        if view.fault is not None:  # messages for the Faulted state (OCPP 2.0.1 O01)
            candidates += [lambda p=p: self._scheduled(view, p, now, hold, fault_shown=True)
                           for p in (Priority.IN_FRONT, Priority.NORMAL_CYCLE)]
        if view.fault is None:
            candidates += [
                lambda: backend(Priority.IN_FRONT),
                lambda: _held(self.pricing.receipt_text(view.evse_id, finishing, now) if after else None, hold),
                lambda: _held(self._reservation(view, now), hold),
                lambda: backend(Priority.NORMAL_CYCLE),
                lambda: _held(self.pricing.next_period_text(view.evse_id, running, self.station.clock.now()), hold),
                lambda: _held(choose(self.idle_text, self.pricing.language)
                              if status is ConnectorStatus.AVAILABLE else None, hold),
            ]
        for candidate in candidates:
            found = candidate()
            if found is not None:
                return price, cost, found[0], found[1]
        return price, cost, None, 0.0

    def _scheduled(self, view: ConnectorView, priority: Priority, now: float, hold: float, *,
                   fault_shown: bool = False) -> tuple[str, float] | None:
        """The OCPP 2.0.1 display message of ``priority`` this connector shows now (agent/core/display_messages.py)."""
        if self.scheduled is None:
            return None
        transaction_id = view.transaction.transaction_id if view.transaction is not None else None
        at = Situation(view.evse_id, state_of(view.status, transaction_id is not None), transaction_id,
                       self.station.clock.now(), now)
        m = self.scheduled.shown(at, MessagePriority(priority.value), fault_shown=fault_shown)
        return (m.content, hold) if m is not None and m.content else None

    def _reservation(self, view: ConnectorView, now: float) -> str | None:
        r = view.reservation
        if view.status is not ConnectorStatus.RESERVED or r is None:
            return None
        return reservation_text(r.id_tag, r.expires_at - now)


def _held(text: str | None, seconds: float) -> tuple[str, float] | None:
    return (text, seconds) if text else None
