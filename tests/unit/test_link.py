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
