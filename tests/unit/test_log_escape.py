"""A backend string with control characters never forges a log line (agent/security/log_escape.py)."""

from __future__ import annotations

import io
import logging

import pytest

from agent.persistence.store import Store
from agent.security import log_escape
from agent.security.events import SecurityEvent, SecurityEvents
from agent.security.security_log import EVENTS_LOGGER, install_security_log
from agent.station.clock import Clock

FORGED = "2026-01-01 00:00:00,000 CRITICAL [CP-1] agent.firmware: firmware installed"


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log_escape.install([handler])
    logger = logging.getLogger("test.log_escape")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "tag, shown",
    [
        ("A\n" + FORGED, "A\\n" + FORGED),
        ("A\r\n" + FORGED, "A\\r\\n" + FORGED),
        ("A\x1b[2J\x85B", "A\\x1b[2J\\x85B"),
        ("A\u2028B\u2029C", "A\\u2028B\\u2029C"),
        ("A\ud800B", "A\\ud800B"),
        ("A\tB", "A\\tB"),
    ],
)
def test_control_characters_in_a_message_are_escaped(logged, tag, shown):
    logger, stream = logged
    logger.info("RemoteStartTransaction %s on %d", tag, 1)
    assert stream.getvalue() == f"INFO RemoteStartTransaction {shown} on 1\n"


def test_plain_text_and_tracebacks_are_left_alone(logged):
    logger, stream = logged
    logger.info("connector %d: Charging (%s)", 1, "Grüße, 16 A")
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("it failed")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "INFO connector 1: Charging (Grüße, 16 A)"
    assert lines[1] == "ERROR it failed" and lines[2] == "Traceback (most recent call last):"


def test_a_security_event_is_one_line_of_the_security_log(tmp_path):
    files = install_security_log(tmp_path / "data")
    try:
        SecurityEvents(Store(tmp_path / "agent.db"), Clock()).record(SecurityEvent.INVALID_MESSAGES, "x\n" + FORGED)
        lines = [line for path in files() if path.exists() for line in path.read_text().splitlines()]
        assert len(lines) == 1 and lines[0].endswith("security event InvalidMessages: x\\n" + FORGED)
    finally:
        for handler in logging.getLogger(EVENTS_LOGGER).handlers[:]:
            if getattr(handler, "security_log", None):
                logging.getLogger(EVENTS_LOGGER).removeHandler(handler)
                handler.close()
