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
        self.boot_reason: str = "ApplicationReset"  # what the next start tells the backend (2.0.1 BootReason)

    def request_stop(self, reason: str = "stop requested") -> None:
        self.reason = self.reason or reason
        self.stopping.set()

    def request_restart(self, reason: str, boot_reason: str = "ApplicationReset") -> None:
        """``boot_reason``: why, in OCPP 2.0.1 §3.5 BootReasonEnumType words ("RemoteReset" for a
        backend's Reset, "FirmwareUpdate" after an install); the next start reports it."""
        log.info("restart requested: %s", reason)
        self.restart_requested = True
        self.boot_reason = boot_reason
        self.request_stop(reason)
