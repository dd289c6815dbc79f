"""Stopping and restarting the agent process from inside (Reset, firmware installed).

A restart is a clean stop of everything followed by re-executing the same command
line (``cli.main`` does the exec), so the new process starts from storage exactly as
after a power cut, and sends BootNotification again (OCPP 1.6 §5.14 Reset).
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.restart_requested = False
        self.reason: str | None = None

    def request_stop(self, reason: str = "stop requested") -> None:
        self.reason = self.reason or reason
        self.stopping.set()

    def request_restart(self, reason: str) -> None:
        log.info("restart requested: %s", reason)
        self.restart_requested = True
        self.request_stop(reason)
