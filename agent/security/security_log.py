"""The security log: every security event the agent records, kept in the data directory.

OCPP 1.6 Security Whitepaper (ed. 3), GetLog with logType SecurityLog: "the security
logging of the Charge Point". ``agent/security/events.py`` logs each event it records
(``security event <type>: <techInfo>``) before queueing its SecurityEventNotification; the
queue forgets an event once the backend has it, the log keeps it. A handler on that
module's logger writes those lines to ``<data_dir>/security.log`` (rotated like the agent's
log file, UTC times, so GetLog's oldestTimestamp / latestTimestamp select lines the same way),
whatever ``[log] file`` says, with secrets removed as in every other log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from agent.maintenance.diagnostics import log_file_handler, rotated_log_files
from agent.security.log_escape import EscapeControlCharacters
from agent.security.secret_files import RedactSecrets

SECURITY_LOG_NAME = "security.log"
EVENTS_LOGGER = "agent.security.events"


def install_security_log(data_dir: Path, secrets: Callable[[], Iterable[str]] = tuple) -> Callable[[], list[Path]]:
    """Start writing the security log; returns what lists its files (oldest first).

    An unwritable data directory leaves the agent without a security log (logged), not stopped."""
    path = Path(data_dir) / SECURITY_LOG_NAME
    logger = logging.getLogger(EVENTS_LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, "security_log", path) != path]:
        logger.removeHandler(handler)  # an agent run earlier in this process, elsewhere
        handler.close()
    if not any(getattr(h, "security_log", None) == path for h in logger.handlers):
        try:
            handler = log_file_handler(path)
        except OSError as exc:
            logging.getLogger(__name__).error("security log %s: %s; security events go to the agent's log only", path, exc)
            return list
        handler.security_log = path
        handler.setLevel(logging.INFO)
        handler.addFilter(EscapeControlCharacters())  # one event, one line
        handler.addFilter(RedactSecrets(secrets))
        logger.addHandler(handler)
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
    return lambda: rotated_log_files(path)
