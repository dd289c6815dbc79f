"""Which of the backend's display messages the driver reads now (OCPP 2.0.1 functional block O).

A message (Part 2 §2.35 MessageInfoType) has a priority, and may be for one state of the
station, a time window, one transaction and one EVSE's display. This module decides, from the
messages, the EVSE's situation and the time (both passed in), which one is shown, and which
have ended and must go. Pure: no I/O, no clock.

- O01: a message is shown from its startDateTime (at once if none) until its endDateTime,
  after which it is removed; with a ``state``, only while the station is in that state
  (MessageStateEnumType: Charging, Faulted, Idle, Unavailable).
- O02: a message with a transactionId is shown only during that transaction, and removed once
  it has ended.
- Part 2 §3.55 MessagePriorityEnumType: AlwaysFront — the newest one only, in front of
  everything, never cycled; InFront — in front of the normal cycle, several are cycled;
  NormalCycle — in the cycle of messages.
- O06: a message with the id of one already there replaces it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.core.session import ConnectorStatus

CYCLE_S = 5.0  # how long each of several cycled messages stays up


class MessagePriority(enum.Enum):
    ALWAYS_FRONT = "AlwaysFront"
    IN_FRONT = "InFront"
    NORMAL_CYCLE = "NormalCycle"


class MessageState(enum.Enum):
    CHARGING = "Charging"
    FAULTED = "Faulted"
    IDLE = "Idle"
    UNAVAILABLE = "Unavailable"


@dataclass(frozen=True)
class DisplayMessage:
    id: int
    priority: MessagePriority
    content: str
    format: str = "UTF8"  # MessageFormatEnumType
    language: str | None = None
    state: MessageState | None = None  # None: in any state
    start: dt.datetime | None = None  # None: from now on
    end: dt.datetime | None = None  # None: until cleared
    transaction_id: str | None = None  # O02: shown during this transaction only
    evse_id: int | None = None  # the Display component of one EVSE; None: every display
    order: int = 0  # the order messages were set in: the newest AlwaysFront is the one shown


@dataclass(frozen=True)
class Situation:
    """One EVSE's display at one moment."""

    evse_id: int
    state: MessageState
    transaction_id: str | None  # the transaction running there
    now: dt.datetime  # the station's clock (aware)
    elapsed_s: float = 0.0  # a monotonic time, for cycling


def state_of(status: ConnectorStatus, transaction_running: bool) -> MessageState:
    """The MessageStateEnumType an EVSE is in: Faulted and Unavailable as its status says,
    Charging while a transaction runs, else Idle."""
    if status is ConnectorStatus.FAULTED:
        return MessageState.FAULTED
    if status is ConnectorStatus.UNAVAILABLE:
        return MessageState.UNAVAILABLE
    return MessageState.CHARGING if transaction_running else MessageState.IDLE


def ended(message: DisplayMessage, now: dt.datetime, transaction_running: Callable[[str], bool]) -> bool:
    """To be removed: its endDateTime has passed (O01), or its transaction ended (O02)."""
    if message.end is not None and now >= message.end:
        return True
    return message.transaction_id is not None and not transaction_running(message.transaction_id)


def visible(message: DisplayMessage, at: Situation) -> bool:
    """Whether ``message`` is for this display now: its EVSE, state, time window and transaction."""
    if message.evse_id is not None and message.evse_id != at.evse_id:
        return False
    if message.state is not None and message.state is not at.state:
        return False
    if message.start is not None and at.now < message.start:
        return False
    if message.end is not None and at.now >= message.end:
        return False
    return message.transaction_id is None or message.transaction_id == at.transaction_id


def current(messages: Iterable[DisplayMessage], at: Situation, priority: MessagePriority, *,
            fault_shown: bool = False, cycle_s: float = CYCLE_S) -> DisplayMessage | None:
    """The message of ``priority`` to show now: the newest AlwaysFront; of several InFront or
    NormalCycle ones, each in turn for ``cycle_s`` (in the order they were set). While the
    display shows a fault, an InFront or NormalCycle message shows only if it is for the
    Faulted state (the fault comes first; AlwaysFront comes before anything)."""
    candidates = sorted((m for m in messages if m.priority is priority and visible(m, at)
                         and (not fault_shown or priority is MessagePriority.ALWAYS_FRONT
                              or m.state is MessageState.FAULTED)), key=lambda m: m.order)
    if not candidates:
        return None
    if priority is MessagePriority.ALWAYS_FRONT:
        return candidates[-1]
    return candidates[int(at.elapsed_s // cycle_s) % len(candidates)]


def matching(messages: Iterable[DisplayMessage], ids: Iterable[int] | None = None,
             priority: MessagePriority | None = None, state: MessageState | None = None) -> list[DisplayMessage]:
    """O03/O04 GetDisplayMessages: the messages meeting every criterion given, by id."""
    wanted = set(ids) if ids is not None else None
    found = [m for m in messages
             if (wanted is None or m.id in wanted)
             and (priority is None or m.priority is priority)
             and (state is None or m.state is state)]
    return sorted(found, key=lambda m: m.id)
