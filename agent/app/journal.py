"""Log records to the systemd journal with fields support can filter on.

journald's native protocol (systemd.journal-fields(7), "Native Protocol" in
systemd-journald.service(8)): one datagram per entry on /run/systemd/journal/socket,
``FIELD=value`` lines (a value with a newline is sent as the field name, a newline,
its length as 64-bit little-endian and the raw bytes). Each entry carries
CHARGE_POINT_ID and, for lines about one connector, CONNECTOR_ID, so
``journalctl -u evse-agent CONNECTOR_ID=2`` shows one connector's story.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import struct

JOURNAL_SOCKET = "/run/systemd/journal/socket"
# The agent's lines about a connector start with "connector N:" (agent/station/station.py).
CONNECTOR = re.compile(r"^connector (\d+)\b")
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def under_systemd() -> bool:
    """journald is reading our output (systemd sets $JOURNAL_STREAM for the service)."""
    return bool(os.environ.get("JOURNAL_STREAM")) and os.path.exists(JOURNAL_SOCKET)


class JournalHandler(logging.Handler):
    def __init__(self, charge_point_id: str, path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.charge_point_id = charge_point_id
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            fields = {
                "MESSAGE": message,
                "PRIORITY": str(PRIORITIES.get(record.levelno, 6)),
                "SYSLOG_IDENTIFIER": "evse-agent",
                "LOGGER": record.name,
                "CHARGE_POINT_ID": self.charge_point_id,
            }
            if match := CONNECTOR.match(record.getMessage()):
                fields["CONNECTOR_ID"] = match.group(1)
            self._sock.sendto(encode(fields), self.path)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def encode(fields: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += name.encode() + b"=" + data + b"\n"
    return bytes(out)
