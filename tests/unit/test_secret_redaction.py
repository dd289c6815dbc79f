"""An AuthorizationKey sent by the backend never reaches a log line, however its frame is escaped
(agent/security/secret_files.py, agent/ocppj/wire.py)."""

from __future__ import annotations

import io
import logging

import pytest
from ocpp.messages import unpack

from agent.ocppj.wire import SpecConnection
from agent.security.secret_files import RedactSecrets

KEY = "00112233445566778899aabbccddeeff"


class Socket:
    """The websocket as SpecConnection uses it: frames in, frames out."""

    def __init__(self, frames: list[str]) -> None:
        self.frames, self.sent = list(frames), []

    async def recv(self) -> str:
        return self.frames.pop(0)

    async def send(self, frame: str) -> None:
        self.sent.append(frame)


@pytest.fixture
def log_text():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(tuple))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "frame",
    [
        '[2,"a1","ChangeConfiguration",{"key":"Authorization\\u004bey","value":"' + KEY + '"}]',
        '[2,"a2","ChangeConfiguration",{"value":"\\u0030\\u0030' + KEY[2:] + '","key":"AuthorizationKey"}]',
        '[2,"a3","ChangeConfiguration",{"key":"AuthorizationKey","value":"' + KEY + '","extra":1}]',
        '[2,"a4","ChangeConfiguration",{"key":"authorizationkey","value":"' + KEY + '"}]',
    ],
)
async def test_the_key_is_removed_from_the_frame_the_library_logs_and_from_its_error(log_text, frame):
    logger, stream = log_text
    received = await SpecConnection(Socket([frame])).recv()
    # What the ocpp library logs: the raw frame (DEBUG), and the parsed request when it refuses it.
    logger.debug("CP-1: receive message %s", received)
    message = unpack(received)
    try:
        raise ValueError(f"refused: {message.payload}")
    except ValueError:
        logger.exception("Error while handling request '%s'", message)
    text = stream.getvalue()
    assert "receive message" in text and "Error while handling request" in text
    assert KEY not in text and KEY.upper() not in text
    assert "\\u0030\\u0030" not in text
    assert text.count("<redacted>") >= 3


async def test_other_values_stay_readable(log_text):
    logger, stream = log_text
    frame = '[2,"b1","ChangeConfiguration",{"key":"HeartbeatInterval","value":"300"}]'
    logger.info("receive message %s", await SpecConnection(Socket([frame])).recv())
    assert '"value":"300"' in stream.getvalue()
