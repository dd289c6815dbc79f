"""The security log (agent/security/security_log.py): every security event recorded, kept in the data
directory for GetLog SecurityLog, with secrets removed, selectable by time."""

from __future__ import annotations

import datetime as dt
import logging

from agent.station.clock import Clock
from agent.maintenance.diagnostics import log_lines_between
from agent.security.events import SecurityEvent, SecurityEvents
from agent.security.security_log import EVENTS_LOGGER, install_security_log
from agent.persistence.store import Store


def test_security_events_are_kept_in_the_security_log(tmp_path):
    files = install_security_log(tmp_path / "data", lambda: ["hunter2-password"])
    try:
        assert install_security_log(tmp_path / "data")() == files()  # once per data directory
        events = SecurityEvents(Store(tmp_path / "agent.db"), Clock())
        events.record(SecurityEvent.STARTUP_OF_THE_DEVICE)
        events.record(SecurityEvent.INVALID_FIRMWARE_SIGNATURE, "signature does not match fw.bin")
        events.record(SecurityEvent.FAILED_TO_AUTHENTICATE_AT_CENTRAL_SYSTEM, "HTTP 401 for hunter2-password")
        logging.getLogger("agent.other").warning("not a security event")
        lines = [line for path in files() if path.exists() for line in path.read_text().splitlines(True)]
        text = "".join(lines)
        assert "security event StartupOfTheDevice" in text
        assert "security event InvalidFirmwareSignature: signature does not match fw.bin" in text
        assert "hunter2-password" not in text and "HTTP 401 for <redacted>" in text
        assert "not a security event" not in text
        # UTC times that GetLog's oldestTimestamp / latestTimestamp select by.
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
        assert list(log_lines_between(lines, later, None)) == []
        assert len(list(log_lines_between(lines, None, later))) == 3
    finally:
        for handler in logging.getLogger(EVENTS_LOGGER).handlers[:]:
            if getattr(handler, "security_log", None):
                logging.getLogger(EVENTS_LOGGER).removeHandler(handler)
                handler.close()
