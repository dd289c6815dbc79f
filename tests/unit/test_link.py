import random

from agent.backend.link import backoff_delay, endpoint_url


def test_endpoint_url_appends_the_encoded_id():
    assert endpoint_url("ws://h:9000/ocpp/", "CP 1") == "ws://h:9000/ocpp/CP%201"
    assert endpoint_url("wss://h/ocpp", "CP-1") == "wss://h/ocpp/CP-1"


def test_backoff_grows_is_capped_and_jittered():
    rng = random.Random(1)
    delays = [backoff_delay(n, 1, 300, rng) for n in range(20)]
    assert all(1 <= d <= 300 for d in delays)
    assert max(delays[:3]) <= 8
    late = [backoff_delay(15, 1, 300, rng) for _ in range(50)]
    assert max(late) <= 300 and len({round(d) for d in late}) > 10  # spread, not one instant


# ---- ReconnectBackoff: the failures are forgotten only after a lasting connection --------

from agent.backend.link import STABLE_AFTER_S, ReconnectBackoff  # noqa: E402


def test_a_connection_lasts_thirty_seconds_before_failures_are_forgotten():
    assert STABLE_AFTER_S == 30.0
    assert ReconnectBackoff(1, 300).stable_after_s == STABLE_AFTER_S


def failed_quickly(backoff: ReconnectBackoff, times: int) -> None:
    for _ in range(times):
        backoff.ended(0.5)
        backoff.next_delay()


def test_every_attempt_doubles_the_ceiling_up_to_the_cap():
    backoff = ReconnectBackoff(1, 300, rng=random.Random(1))
    ceilings = []
    for _ in range(11):
        ceilings.append(backoff.ceiling_s)
        backoff.ended(0.0)
        assert 1 <= backoff.next_delay() <= ceilings[-1]
    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_a_connection_that_lasted_thirty_seconds_forgets_past_failures():
    backoff = ReconnectBackoff(1, 300, rng=random.Random(1))
    failed_quickly(backoff, 6)
    assert backoff.ceiling_s == 64
    backoff.ended(30.0)
    assert backoff.failures == 0 and backoff.ceiling_s == 1
    assert backoff.next_delay() == 1.0


def test_a_connection_that_dropped_before_thirty_seconds_keeps_them():
    """A backend that accepts and drops at once (or after 29.9 s) is not hammered."""
    backoff = ReconnectBackoff(1, 300, rng=random.Random(1))
    failed_quickly(backoff, 6)
    backoff.ended(29.9)
    assert backoff.failures == 6 and backoff.ceiling_s == 64
    assert backoff.next_delay() <= 64


def test_the_stable_time_can_be_given():
    backoff = ReconnectBackoff(0.1, 1, stable_after_s=2.0)
    failed_quickly(backoff, 3)
    backoff.ended(2.0)
    assert backoff.failures == 0
