"""TriggerMessage / ExtendedTriggerMessage decided as pure code (agent/ocpp16/trigger_rules.py,
OCPP 1.6 §5.17, Security Whitepaper §5.5): the answer and what is sent, from one decision.
No event loop."""

from __future__ import annotations

from agent.ocpp16.trigger_rules import (
    EXTENDED_TRIGGER_MESSAGE,
    TRIGGER_MESSAGE,
    Answer,
    FollowUp,
    FollowUpQueue,
    decide,
)

CONNECTORS = (1, 2)


def trigger(requested: str, connector_id: int | None = None, *, extended: bool = False, queued=()):
    return decide(requested, connector_id, triggers=EXTENDED_TRIGGER_MESSAGE if extended else TRIGGER_MESSAGE,
                  connectors=CONNECTORS, queued=queued)


def test_a_connector_id_that_does_not_apply_is_ignored_and_the_message_sent():
    # §5.17: "if the specified connectorId is not relevant to the message, it should be ignored".
    for requested in ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat"):
        for connector_id in (None, 0, 1, 7, -3):
            decision = trigger(requested, connector_id)
            assert decision.answer is Answer.ACCEPTED
            assert decision.follow_ups == (FollowUp(requested),)
    assert trigger("LogStatusNotification", 7, extended=True).follow_ups == (FollowUp("LogStatusNotification"),)
    assert trigger("SignChargePointCertificate", 9, extended=True).follow_ups == (FollowUp("SignCertificate"),)


def test_an_unknown_connector_is_rejected_for_a_message_about_connectors_and_nothing_is_sent():
    for extended in (False, True):
        for requested, connector_id in (("StatusNotification", 7), ("StatusNotification", -1), ("MeterValues", 3),
                                        ("MeterValues", 0)):  # MeterValues: no main meter on connector 0
            decision = trigger(requested, connector_id, extended=extended)
            assert decision.answer is Answer.REJECTED and decision.follow_ups == (), (requested, connector_id)
            assert decision.reason


def test_a_message_about_connectors_goes_for_the_one_asked_or_every_one():
    assert trigger("StatusNotification", 2).follow_ups == (FollowUp("StatusNotification", 2),)
    assert trigger("StatusNotification", 0).follow_ups == (FollowUp("StatusNotification", 0),)  # the charge point
    # §5.17: absent = "for all allowed connectorId values".
    assert trigger("StatusNotification").follow_ups == tuple(FollowUp("StatusNotification", c) for c in (0, 1, 2))
    assert trigger("MeterValues").follow_ups == (FollowUp("MeterValues", 1), FollowUp("MeterValues", 2))
    assert trigger("MeterValues", 1, extended=True).follow_ups == (FollowUp("MeterValues", 1),)


def test_extended_firmware_status_is_the_signed_notification():
    # Security Whitepaper L01.FR.28/29.
    decision = trigger("FirmwareStatusNotification", extended=True)
    assert decision.follow_ups == (FollowUp("SignedFirmwareStatusNotification"),)
    assert trigger("FirmwareStatusNotification").follow_ups == (FollowUp("FirmwareStatusNotification"),)


def test_what_cannot_be_triggered_is_not_implemented():
    assert trigger("LogStatusNotification").answer is Answer.NOT_IMPLEMENTED  # not a 1.6 TriggerMessage
    assert trigger("DiagnosticsStatusNotification", extended=True).answer is Answer.NOT_IMPLEMENTED
    assert trigger("SignChargePointCertificate").follow_ups == ()


def test_a_message_already_queued_is_accepted_and_sent_once():
    queued = {FollowUp("Heartbeat"), FollowUp("StatusNotification", 1)}
    again = trigger("Heartbeat", queued=queued)
    assert again.answer is Answer.ACCEPTED and again.follow_ups == ()
    every = trigger("StatusNotification", queued=queued)
    assert every.follow_ups == (FollowUp("StatusNotification", 0), FollowUp("StatusNotification", 2))


def test_past_the_bound_a_trigger_needing_a_new_message_is_rejected():
    queued = {FollowUp("MeterValues", c) for c in range(1, 5)}
    full = decide("Heartbeat", None, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS, queued=queued, max_queued=4)
    assert full.answer is Answer.REJECTED and full.follow_ups == ()
    # ... but one already queued is still Accepted (it will be sent).
    queued_one = decide("MeterValues", 1, triggers=TRIGGER_MESSAGE, connectors=range(1, 5), queued=queued, max_queued=4)
    assert queued_one.answer is Answer.ACCEPTED
    # All or nothing: three connectors' statuses do not fit where two places are left.
    two_left = decide("StatusNotification", None, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS,
                      queued={FollowUp("Heartbeat"), FollowUp("BootNotification")}, max_queued=4)
    assert two_left.answer is Answer.REJECTED


def test_the_queue_holds_follow_ups_until_their_answer_is_out_and_hands_each_out_once():
    queue = FollowUpQueue(max_queued=4)
    first = queue.decide("StatusNotification", None, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS, request_id="a")
    assert first.answer is Answer.ACCEPTED and len(queue) == 3
    assert queue.next() is None  # held: the answer to "a" is not out yet
    again = queue.decide("StatusNotification", 1, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS, request_id="b")
    assert again.answer is Answer.ACCEPTED and again.follow_ups == ()  # coalesced with "a"
    queue.release("b")
    assert queue.next() is None
    queue.release("a")
    assert [queue.next() for _ in range(4)] == [FollowUp("StatusNotification", c) for c in (0, 1, 2)] + [None]
    # Handed out: a new trigger queues it again (it is being sent, with what was true before).
    assert queue.decide("StatusNotification", 1, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS,
                        request_id="c").follow_ups == (FollowUp("StatusNotification", 1),)


def test_a_flood_of_triggers_costs_at_most_the_bound():
    queue = FollowUpQueue(max_queued=4)
    answers = []
    for n in range(20_000):
        requested = ("Heartbeat", "StatusNotification", "MeterValues", "BootNotification", "FirmwareStatusNotification")[n % 5]
        answers.append(queue.decide(requested, None, triggers=TRIGGER_MESSAGE, connectors=CONNECTORS,
                                    request_id=str(n)).answer)
        queue.release(str(n))
        assert len(queue) <= 4
    assert answers.count(Answer.ACCEPTED) > 0 and answers.count(Answer.REJECTED) > 0
    sent = []
    while (follow_up := queue.next()) is not None:
        sent.append(follow_up)
    assert len(sent) == len(set(sent)) <= 4
