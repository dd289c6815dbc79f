"""The agent's last log lines, kept in memory for the service page.

A handler on the root logger keeps the newest ``KEEP`` records as text, secrets removed by the
same filter as every other log handler (agent/security/secret_files.py), each with the
connector it is about when its message starts with "connector N:" (the convention
agent/app/journal.py files as CONNECTOR_ID). It keeps what was logged since this process
started, whatever the log goes to (the journal, a file, stderr).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.app.journal import CONNECTOR
from agent.security.secret_files import RedactSecrets

KEEP = 2000


@dataclass(frozen=True)
class LogLine:
    at: float  # wall clock
    level: str
    logger: str
    connector: int | None
    message: str

    def as_json(self) -> dict:
        return {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)), "level": self.level,
                "logger": self.logger, "connector": self.connector, "message": self.message}


class LogBuffer(logging.Handler):
    def __init__(self, secrets: Callable[[], Iterable[str]] = tuple, keep: int = KEEP) -> None:
        super().__init__(logging.DEBUG)
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=keep)
        self.addFilter(RedactSecrets(secrets))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_text:
                message += "\n" + record.exc_text
            match = CONNECTOR.match(message)
            self.lines.append(LogLine(record.created, record.levelname, record.name,
                                      int(match.group(1)) if match else None, message))
        except Exception:
            self.handleError(record)

    def recent(self, limit: int = 200, connector: int | None = None, min_level: int = logging.DEBUG,
               contains: str = "") -> list[LogLine]:
        """The newest ``limit`` lines (oldest first) about ``connector`` (None: all)."""
        needle = contains.lower()
        found = []
        for line in reversed(self.lines):
            if connector is not None and line.connector != connector:
                continue
            if logging.getLevelName(line.level) < min_level or (needle and needle not in line.message.lower()):
                continue
            found.append(line)
            if len(found) >= limit:
                break
        return found[::-1]

    def last_problem(self, matches: Callable[[LogLine], bool]) -> LogLine | None:
        """The newest warning or error that ``matches`` (a device's last error)."""
        for line in reversed(self.lines):
            if logging.getLevelName(line.level) >= logging.WARNING and matches(line):
                return line
        return None


def install(secrets: Callable[[], Iterable[str]] = tuple) -> LogBuffer:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LogBuffer)]:
        root.removeHandler(old)  # an agent run earlier in this process
    buffer = LogBuffer(secrets)
    root.addHandler(buffer)
    return buffer
