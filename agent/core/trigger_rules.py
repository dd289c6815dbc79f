"""Triggered messages (OCPP 1.6 §5.17 TriggerMessage, the Security Whitepaper's
ExtendedTriggerMessage §5.5, OCPP 2.0.1 F06 TriggerMessage): what the station answers and what
it then sends, decided once, as pure code. Each adapter gives its table of what can be
triggered (agent/ocpp16/trigger_rules.py, agent/ocpp201/...).

``decide`` maps (requested message, connectorId, the station's connectors, the follow-ups
already queued) to the answer and the follow-ups to queue, so the answer and what is sent
cannot disagree:

- §5.17: "if the specified connectorId is not relevant to the message, it should be
  ignored. In such cases the requested message should still be sent": BootNotification,
  Heartbeat and the status notifications of firmware, diagnostics and logs are Accepted
  and sent whatever the connectorId.
- StatusNotification (connector 0, the charge point, or a connector) and MeterValues (a
  connector: the station has no main meter of its own) depend on it: an unknown connector
  is Rejected and nothing is sent; no connectorId means every one (§5.17: "for all
  allowed connectorId values").
- ExtendedTriggerMessage FirmwareStatusNotification is answered with
  SignedFirmwareStatusNotification (L01.FR.28/29), SignChargePointCertificate with a
  SignCertificate (A02).

A flood of triggers costs a bounded amount (``FollowUpQueue``): a follow-up already queued
is not queued again (the trigger is Accepted and the message sent once), and past
``MAX_QUEUED`` follow-ups a trigger that needs a new one is Rejected.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

MAX_QUEUED = 16  # follow-ups decided on and not yet sent


class Answer(enum.Enum):  # §7.43 TriggerMessageStatus (and the whitepaper's, the same)
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_IMPLEMENTED = "NotImplemented"


class Scope(enum.Enum):
    """Which connectorId values a triggered message is about."""

    STATION = "station"  # none: a connectorId is ignored
    CONNECTORS = "connectors"  # each connector
    CONNECTORS_AND_ZERO = "connectors and 0"  # each connector and 0, the charge point


@dataclass(frozen=True)
class FollowUp:
    """One message the station sends after answering a trigger (the action's name)."""

    message: str
    connector_id: int | None = None


@dataclass(frozen=True)
class Decision:
    answer: Answer
    follow_ups: tuple[FollowUp, ...] = ()  # to queue now (those already queued are not repeated)
    reason: str = ""


def decide(
    requested: str,
    connector_id: int | None,
    *,
    triggers: dict[str, tuple[str, Scope]],
    connectors: Collection[int],
    queued: Collection[FollowUp] = (),
    max_queued: int = MAX_QUEUED,
) -> Decision:
    """The answer to a trigger for ``requested`` and what to queue for it. ``triggers``:
    TRIGGER_MESSAGE or EXTENDED_TRIGGER_MESSAGE; ``connectors``: the station's connector ids."""
    if requested not in triggers:
        return Decision(Answer.NOT_IMPLEMENTED, reason=f"{requested} cannot be triggered")
    message, scope = triggers[requested]
    if scope is Scope.STATION:
        wanted = [FollowUp(message)]  # §5.17: a connectorId that does not apply is ignored
    else:
        allowed = sorted({*connectors, 0} if scope is Scope.CONNECTORS_AND_ZERO else set(connectors))
        if connector_id is not None and connector_id not in allowed:
            return Decision(Answer.REJECTED, reason=f"no connector {connector_id} for {message}")
        wanted = [FollowUp(message, c) for c in ([connector_id] if connector_id is not None else allowed)]
    new = tuple(f for f in wanted if f not in queued)
    if len(queued) + len(new) > max_queued:
        return Decision(Answer.REJECTED, reason=f"{len(queued)} triggered messages are waiting to be sent")
    return Decision(Answer.ACCEPTED, new)


class FollowUpQueue:
    """The follow-ups decided on and not yet sent, each at most once, at most ``max_queued``.

    A follow-up is *held* from the decision until its answer has gone out (``release``),
    so no triggered message overtakes the answer; ``next`` hands out released ones in the
    order they were decided on. Once handed out, a follow-up is no longer queued: a trigger
    arriving while it is being sent queues a fresh one."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self.max_queued = max_queued
        self._queued: dict[FollowUp, str | None] = {}  # follow-up → the trigger holding it (None: released)

    def decide(
        self, requested: str, connector_id: int | None, *, triggers: dict[str, tuple[str, Scope]],
        connectors: Collection[int], request_id: str,
    ) -> Decision:
        """``decide`` against what is queued; an Accepted decision's follow-ups are queued,
        held until ``release(request_id)``."""
        decision = decide(requested, connector_id, triggers=triggers, connectors=connectors,
                          queued=self._queued.keys(), max_queued=self.max_queued)
        for follow_up in decision.follow_ups:
            self._queued[follow_up] = request_id
        return decision

    def release(self, request_id: str) -> None:
        """The answer to ``request_id`` went out: its follow-ups may be sent."""
        for follow_up, holder in self._queued.items():
            if holder == request_id:
                self._queued[follow_up] = None

    def next(self) -> FollowUp | None:
        """The oldest released follow-up (no longer queued from now on), or None."""
        for follow_up, holder in self._queued.items():
            if holder is None:
                del self._queued[follow_up]
                return follow_up
        return None

    def clear(self) -> None:
        self._queued.clear()

    def __len__(self) -> int:
        return len(self._queued)
