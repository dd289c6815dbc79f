"""Firmware updates (OCPP 1.6 §3.11, §5.19), whatever the protocol version.

An update goes: wait for the retrieve date → download (``attempts`` tries, ``interval``
apart) → wait until no transaction runs (§5.19: "it is RECOMMENDED to wait until the
charging session has ended") → hand the file to the installer command → restart the
agent, which reports Installed once it is connected again. Progress is reported through
``report(status)``; the protocol adapter turns that into its own messages.

The update is in the store from the moment it is accepted, with the tries it has left,
so a restart or a power cut resumes it where it was. An installation that was cut off
halfway cannot be judged: it is reported InstallationFailed.

A signed update (OCPP 1.6 Security Whitepaper ed. 3, SignedUpdateFirmware; the request
is checked in ``agent/ocpp16/signed_firmware.py``) goes the same way with the whitepaper's
statuses and its request id: DownloadScheduled while waiting for the retrieve date, then
after the download the signature is verified over the file (``agent/security/firmware_signature.py``):
a bad one is reported InvalidSignature (security event InvalidFirmwareSignature) and the file
deleted, never installed; a good one SignatureVerified, InstallScheduled until the install
date, Installing, and Installed after the restart (security event FirmwareUpdated, as for
an unsigned update).

What may be installed (OCPP 1.6 Security Whitepaper, secure firmware update): only a file
whose signature verified with a signing certificate that chains to a trust anchor of the
installation (``trust_anchors``: ``[firmware] manufacturer_roots``, never one the backend
chose unless the operator allowed it). The chain is checked when the request comes and again
before the installer runs, so an update stored before the anchors changed cannot slip
through. An unsigned update is installed only when the operator set ``[firmware]
allow_unsigned``; otherwise it is refused when asked for (``UnsignedRefused``) and, if one is
found stored, reported InstallationFailed without a download.

OCPP 2.0.1 (L01, L02) names every update by the requestId of its UpdateFirmwareRequest, signed
or not: ``update(..., request_id=)`` gives an unsigned one its id, and an update with an id is
reported with it (``SignedReport``), DownloadScheduled included (L01.FR.13, L02.FR.07).

While the installation waits for the running transactions to end (L01.FR.06), the EVSEs not in
use are held Unavailable, and one that becomes free too, until the firmware is installed
(L01.FR.07, L02.FR.04), unless AllowNewSessionsPendingFirmwareUpdate (the setting
``allow_new_sessions_pending_firmware_update``) says new sessions may start meanwhile. The hold
is the station's (``hold_sessions``), not stored: a failed installation lifts it, the restart
after a good one starts without it. The download does not wait for transactions, only the
installation does (``DOWNLOAD_WAITS_FOR_TRANSACTIONS``, ``INSTALL_WAITS_FOR_TRANSACTIONS``).

A download is bounded (agent/maintenance/transfer.py ``DownloadLimits``: size, free space left, overall
deadline); one past a bound fails the attempt and leaves no file behind.

The installer is an operator-supplied command (``[firmware] installer``): ``{file}`` in
it is replaced by the downloaded file's path (without ``{file}`` the path is appended).
It must return rather than reboot the machine: exit status 0 means installed, anything
else (or no exit within ``install_timeout_s``) InstallationFailed. The agent then
restarts itself to run what was installed. When the new software rolled itself back
because it did not come up (``agent/maintenance/self_update.py``), ``rollback_reason`` says so after
the restart and the update is reported InstallationFailed instead of Installed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from agent.security.firmware_signature import FirmwareSignatureError, check_still_anchored, verify_file_signature
from agent.security.events import SecurityEvent
from agent.persistence.store import Store
from agent.maintenance.transfer import DownloadLimits, check_location, download, redact_url, with_retries

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3  # when the request does not say (§6.55 retries)
DEFAULT_RETRY_INTERVAL_S = 60.0  # when the request does not say (§6.55 retryInterval)
IDLE_POLL_S = 1.0
SCHEDULED_AFTER_S = 0.5  # a wait shorter than this (clocks a moment apart) is not reported as scheduled
# What waits for running transactions to end (L01.FR.06): the installation, not the download.
DOWNLOAD_WAITS_FOR_TRANSACTIONS = False
INSTALL_WAITS_FOR_TRANSACTIONS = True


class FirmwareStatus(enum.Enum):
    """OCPP 1.6 §7.25 FirmwareStatus (the same names serve other versions' adapters), and
    below it the Security Whitepaper's FirmwareStatusEnumType additions (signed updates only)."""

    IDLE = "Idle"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Downloaded"
    DOWNLOAD_FAILED = "DownloadFailed"
    INSTALLING = "Installing"
    INSTALLED = "Installed"
    INSTALLATION_FAILED = "InstallationFailed"
    DOWNLOAD_SCHEDULED = "DownloadScheduled"
    INVALID_SIGNATURE = "InvalidSignature"
    SIGNATURE_VERIFIED = "SignatureVerified"
    INSTALL_SCHEDULED = "InstallScheduled"


class Stage(enum.Enum):
    """Where a stored update is (the ``state`` column)."""

    SCHEDULED = "scheduled"  # to download at retrieve_at
    DOWNLOADED = "downloaded"  # waiting for the station to be idle
    INSTALLING = "installing"  # the installer runs
    INSTALLED = "installed"  # installed; Installed not yet confirmed by the backend


class FirmwareBusy(Exception):
    """An installation runs; a new update cannot replace it."""


class UnsignedRefused(Exception):
    """An unsigned update, and ``[firmware] allow_unsigned`` is false."""


@dataclass(frozen=True)
class Signed:
    """What a signed update adds (SignedUpdateFirmware.req): its request id, the signing
    certificate (PEM, already checked against the manufacturer root) and the file's signature."""

    request_id: int
    signing_certificate: str
    signature: str  # base64
    install_at: dt.datetime | None = None


@dataclass(frozen=True)
class SignedReport:
    """A status of an update with a request id: a signed one (1.6 SignedFirmwareStatusNotification)
    or any OCPP 2.0.1 update (FirmwareStatusNotification with its requestId)."""

    status: FirmwareStatus
    request_id: int


@dataclass(frozen=True)
class PendingUpdate:
    location: str
    retrieve_at: dt.datetime
    attempts_left: int
    retry_interval_s: float
    stage: Stage
    file: str | None = None
    signed: Signed | None = None
    unsigned_request_id: int | None = None  # an OCPP 2.0.1 update without a signature (L02)

    @property
    def request_id(self) -> int | None:
        return self.signed.request_id if self.signed is not None else self.unsigned_request_id


def transactions_running(station) -> bool:
    """Whether any connector has a transaction (running, restored or being closed)."""
    return any(station.view(evse_id).transaction_open for evse_id in station.evses())


class FirmwareUpdater:
    def __init__(
        self,
        store: Store,
        *,
        directory: Path,
        installer: str,
        busy: Callable[[], bool],
        report: Callable[..., None],
        restart: Callable[[], None],
        now: Callable[[], dt.datetime],
        install_timeout_s: float = 1800.0,
        idle_poll_s: float = IDLE_POLL_S,
        security_events=None,
        rollback_reason: Callable[[], str | None] = lambda: None,
        allow_unsigned: bool = False,
        trust_anchors: Callable[[], list] = lambda: [],
        download_limits: DownloadLimits | None = None,
        hold_sessions: Callable[[bool], None] = lambda hold: None,
        allow_new_sessions: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._directory = directory
        self._installer = installer
        self._busy = busy
        self._report = report
        self._restart = restart
        self._now = now
        self._install_timeout_s = install_timeout_s
        self._idle_poll_s = idle_poll_s
        self._security_events = security_events  # agent.security.events.SecurityEvents
        self._rollback_reason = rollback_reason
        self.allow_unsigned = allow_unsigned
        self._trust_anchors = trust_anchors  # () -> the manufacturer root certificates
        self._download_limits = download_limits or DownloadLimits()
        self._hold_sessions = hold_sessions  # L01.FR.07: True holds the free EVSEs Unavailable
        self._allow_new_sessions = allow_new_sessions  # AllowNewSessionsPendingFirmwareUpdate
        self._holding = False
        self._task: asyncio.Task | None = None
        self.status = FirmwareStatus.IDLE
        self.request_id: int | None = None  # of the signed update the status belongs to

    # ---- what the backend asks ------------------------------------------------------

    def check(self, location: str) -> None:
        """Whether ``update(location, ...)`` can be accepted: raises UnsupportedLocation for a
        URL this agent cannot download, FirmwareBusy while an installation runs."""
        check_location(location)
        current = self._load()
        if current is not None and current.stage is Stage.INSTALLING:
            raise FirmwareBusy("a firmware installation is running")

    def pending(self) -> bool:
        """Whether an update waits to be downloaded or installed (a new one would cancel it)."""
        current = self._load()
        return current is not None and current.stage in (Stage.SCHEDULED, Stage.DOWNLOADED)

    def update(
        self,
        location: str,
        retrieve_at: dt.datetime,
        retries: int | None,
        retry_interval_s: float | None,
        signed: Signed | None = None,
        request_id: int | None = None,
    ) -> bool:
        """§5.19 UpdateFirmware (or SignedUpdateFirmware with ``signed``): store the update and
        start on it, replacing one not yet installing. True when it replaced one still to
        download or install (the whitepaper's AcceptedCanceled, L01.FR.24). Raises
        UnsignedRefused for an unsigned one unless allowed. ``request_id``: an unsigned OCPP
        2.0.1 update's (a signed one carries its own)."""
        if signed is None and not self.allow_unsigned:
            raise UnsignedRefused("unsigned firmware updates are off ([firmware] allow_unsigned = false)")
        self.check(location)
        if self._task is not None:
            self._task.cancel()
        self._hold(False)
        replaced = self._load()
        if replaced is not None and replaced.file:
            Path(replaced.file).unlink(missing_ok=True)
        update = PendingUpdate(
            location=location,
            retrieve_at=_aware(retrieve_at),
            attempts_left=max(1, retries if retries is not None else DEFAULT_ATTEMPTS),
            retry_interval_s=max(0.0, retry_interval_s if retry_interval_s is not None else DEFAULT_RETRY_INTERVAL_S),
            stage=Stage.SCHEDULED,
            signed=signed,
            unsigned_request_id=request_id if signed is None else None,
        )
        self._save(update)
        log.info("firmware: %supdate from %s at %s accepted",
                 "signed " if signed else "", redact_url(location), update.retrieve_at.isoformat())
        self._start(update)
        return replaced is not None and replaced.stage in (Stage.SCHEDULED, Stage.DOWNLOADED)

    # ---- running --------------------------------------------------------------------

    async def run(self) -> None:
        """Resume what the store holds (after a restart), then keep working until cancelled."""
        update = self._load() if self._task is None else None  # None: update() came first
        if update is not None:
            if update.stage is Stage.INSTALLED:
                self._installed_before_restart(update)
            elif update.stage is Stage.INSTALLING:
                log.error("firmware: the agent stopped while the installer ran; reporting InstallationFailed")
                self._clear()
                self._report(_report_of(update, FirmwareStatus.INSTALLATION_FAILED))
            else:
                self._start(update)
        try:
            await asyncio.Future()
        finally:
            if self._task is not None:
                self._task.cancel()

    def _installed_before_restart(self, update: PendingUpdate) -> None:
        reason = self._rollback_reason()
        if reason:
            log.error("firmware: the installed software did not come up and was rolled back (%s); reporting InstallationFailed", reason)
            self._clear()
            self._report(_report_of(update, FirmwareStatus.INSTALLATION_FAILED))
            return
        log.info("firmware: installed before this restart; reporting Installed")
        self._security_event(SecurityEvent.FIRMWARE_UPDATED, f"firmware from {redact_url(update.location)} installed")
        self._report(_report_of(update, FirmwareStatus.INSTALLED), self._clear_installed)

    def _start(self, update: PendingUpdate) -> None:
        self._task = asyncio.create_task(self._work(update), name="firmware-update")

    async def _work(self, update: PendingUpdate) -> None:
        if update.signed is None and not self.allow_unsigned:  # stored before it was switched off
            log.error("firmware: a stored unsigned update from %s is refused ([firmware] allow_unsigned = false)",
                      redact_url(update.location))
            if update.file:
                Path(update.file).unlink(missing_ok=True)
            self._clear()
            self._security_event(SecurityEvent.INVALID_FIRMWARE_SIGNATURE,
                                 "unsigned firmware update refused (firmware.allow_unsigned = false)")
            self._set(FirmwareStatus.INSTALLATION_FAILED, update, final=True)
            return
        try:
            if update.stage is Stage.DOWNLOADED and not (update.file and Path(update.file).is_file()):
                log.warning("firmware: the downloaded file is gone; downloading again")
                update = replace(update, stage=Stage.SCHEDULED, attempts_left=max(1, update.attempts_left))
            if update.stage is Stage.SCHEDULED:
                update = await self._download(update)
                if update is None:
                    return
            if update.signed is not None and not await self._signature_verified(update):
                return
            await self._install(update)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("firmware: update failed")
            self._clear()
            self._hold(False)
            self._set(FirmwareStatus.IDLE, update)

    async def _signature_verified(self, update: PendingUpdate) -> bool:
        """Security Whitepaper: the signature over the downloaded file, before anything installs it."""
        signed, file = update.signed, Path(update.file)
        try:
            # The trust anchors of now: those of the installation, whatever was true when the
            # request came (an update stored before the anchors changed).
            check_still_anchored(signed.signing_certificate, self._trust_anchors(), self._now())
        except FirmwareSignatureError as exc:
            log.error("firmware: %s: not installed", exc)
            file.unlink(missing_ok=True)
            self._clear()
            self._security_event(SecurityEvent.INVALID_FIRMWARE_SIGNING_CERTIFICATE, str(exc))
            self._set(FirmwareStatus.INVALID_SIGNATURE, update, final=True)
            return False
        try:
            await asyncio.to_thread(verify_file_signature, signed.signing_certificate, signed.signature, file)
        except (FirmwareSignatureError, OSError) as exc:
            log.error("firmware: %s: not installed", exc)
            file.unlink(missing_ok=True)
            self._clear()
            self._security_event(SecurityEvent.INVALID_FIRMWARE_SIGNATURE, str(exc))
            self._set(FirmwareStatus.INVALID_SIGNATURE, update, final=True)
            return False
        log.info("firmware: the signature over %s verified", file.name)
        self._set(FirmwareStatus.SIGNATURE_VERIFIED, update)
        delay = (signed.install_at - self._now()).total_seconds() if signed.install_at else 0
        if delay > 0:
            log.info("firmware: installing in %.0f s (installDateTime)", delay)
            if delay >= SCHEDULED_AFTER_S:
                self._set(FirmwareStatus.INSTALL_SCHEDULED, update)
            await asyncio.sleep(delay)
        return True

    async def _download(self, update: PendingUpdate) -> PendingUpdate | None:
        delay = (update.retrieve_at - self._now()).total_seconds()
        if delay > 0:
            log.info("firmware: download in %.0f s", delay)
            if update.request_id is not None and delay >= SCHEDULED_AFTER_S:  # L01.FR.13, L02.FR.07
                self._set(FirmwareStatus.DOWNLOAD_SCHEDULED, update)
            await asyncio.sleep(delay)
        dest = self._directory / _file_name(update.location)
        attempts = update.attempts_left

        def before_attempt(number: int) -> None:
            self._save(replace(update, attempts_left=attempts - number))

        self._set(FirmwareStatus.DOWNLOADING, update)
        ok = await with_retries(
            f"firmware download from {redact_url(update.location)}",
            lambda: download(update.location, dest, limits=self._download_limits),
            attempts,
            update.retry_interval_s,
            before_attempt=before_attempt,
        )
        if not ok:
            log.error("firmware: download failed after %d attempt(s)", attempts)
            self._clear()
            self._set(FirmwareStatus.DOWNLOAD_FAILED, update, final=True)
            return None
        log.info("firmware: downloaded %s (%d bytes)", dest, dest.stat().st_size)
        update = replace(update, stage=Stage.DOWNLOADED, file=str(dest))
        self._save(update)
        self._set(FirmwareStatus.DOWNLOADED, update)
        return update

    async def _install(self, update: PendingUpdate) -> None:
        if INSTALL_WAITS_FOR_TRANSACTIONS and self._busy():
            # L01.FR.06: after the running transactions; L01.FR.07: no new ones meanwhile, unless allowed.
            new_sessions = self._allow_new_sessions()
            log.info("firmware: waiting for the running transactions to end before installing (new sessions %s)",
                     "allowed" if new_sessions else "held off")
            if not new_sessions:
                self._hold(True)
            while self._busy():
                await asyncio.sleep(self._idle_poll_s)
        self._save(replace(update, stage=Stage.INSTALLING))
        self._set(FirmwareStatus.INSTALLING, update)
        installed = await self._run_installer(Path(update.file))
        Path(update.file).unlink(missing_ok=True)
        if not installed:
            self._clear()
            self._hold(False)  # the station goes on with the firmware it has
            self._set(FirmwareStatus.INSTALLATION_FAILED, update, final=True)
            return
        # §5.19: Installed is reported after the restart that runs the new firmware.
        self._save(replace(update, stage=Stage.INSTALLED))
        log.info("firmware: installed; restarting")
        self._restart()

    async def _run_installer(self, file: Path) -> bool:
        argv = installer_command(self._installer, file)
        log.info("firmware: running %s", shlex.join(argv))
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as exc:
            log.error("firmware: cannot run the installer %s: %s", argv[0], exc)
            return False
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), self._install_timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.error("firmware: the installer did not finish within %.0f s", self._install_timeout_s)
            return False
        tail = output.decode(errors="replace").strip()[-2000:]
        level = logging.INFO if proc.returncode == 0 else logging.ERROR
        log.log(level, "firmware: installer exited with %d%s", proc.returncode, f": {tail}" if tail else "")
        return proc.returncode == 0

    # ---- status and storage ---------------------------------------------------------

    def _set(self, status: FirmwareStatus, update: PendingUpdate, *, final: bool = False) -> None:
        self.status = FirmwareStatus.IDLE if final else status
        self.request_id = update.request_id
        self._report(_report_of(update, status))

    def _hold(self, hold: bool) -> None:
        if hold != self._holding:
            self._holding = hold
            self._hold_sessions(hold)

    def _security_event(self, event: SecurityEvent, tech_info: str) -> None:
        if self._security_events is not None:
            self._security_events.record(event, tech_info)

    def _load(self) -> PendingUpdate | None:
        row = self._store.execute("SELECT * FROM firmware_update WHERE id = 1").fetchone()
        if row is None:
            return None
        signed = self._store.execute("SELECT * FROM signed_firmware_update WHERE id = 1").fetchone()
        return PendingUpdate(
            location=row["location"],
            retrieve_at=dt.datetime.fromisoformat(row["retrieve_at"]),
            attempts_left=row["attempts_left"],
            retry_interval_s=row["retry_interval_s"],
            stage=Stage(row["state"]),
            file=row["file"],
            unsigned_request_id=row["request_id"],
            signed=None if signed is None else Signed(
                request_id=signed["request_id"],
                signing_certificate=signed["signing_certificate"],
                signature=signed["signature"],
                install_at=dt.datetime.fromisoformat(signed["install_at"]) if signed["install_at"] else None,
            ),
        )

    def _save(self, update: PendingUpdate) -> None:
        with self._store.atomic():
            self._store.execute(
                "INSERT OR REPLACE INTO firmware_update(id, location, retrieve_at, attempts_left, retry_interval_s, state, file,"
                " request_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (
                    update.location,
                    update.retrieve_at.isoformat(),
                    update.attempts_left,
                    update.retry_interval_s,
                    update.stage.value,
                    update.file,
                    update.unsigned_request_id,
                ),
            )
            self._store.execute("DELETE FROM signed_firmware_update")
            if update.signed is not None:
                signed = update.signed
                self._store.execute(
                    "INSERT INTO signed_firmware_update(id, request_id, signing_certificate, signature, install_at)"
                    " VALUES (1, ?, ?, ?, ?)",
                    (signed.request_id, signed.signing_certificate, signed.signature,
                     _aware(signed.install_at).isoformat() if signed.install_at else None),
                )

    def _clear(self) -> None:
        with self._store.atomic():
            self._store.execute("DELETE FROM firmware_update")
            self._store.execute("DELETE FROM signed_firmware_update")

    def _clear_installed(self) -> None:
        """The backend has Installed; a newer update stored meanwhile stays."""
        with self._store.atomic():
            deleted = self._store.execute("DELETE FROM firmware_update WHERE state = ?", (Stage.INSTALLED.value,)).rowcount
            if deleted:
                self._store.execute("DELETE FROM signed_firmware_update")


def _report_of(update: PendingUpdate, status: FirmwareStatus) -> FirmwareStatus | SignedReport:
    """What the protocol adapter gets: the bare status, or with the update's request id."""
    return status if update.request_id is None else SignedReport(status, update.request_id)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def installer_command(template: str, file: Path) -> list[str]:
    """``[firmware] installer`` → argv: ``{file}`` replaced, else the path appended."""
    argv = shlex.split(template)
    if not any("{file}" in arg for arg in argv):
        return [*argv, str(file)]
    return [arg.replace("{file}", str(file)) for arg in argv]


def _file_name(location: str) -> str:
    name = unquote(urlsplit(location).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name or "firmware.bin"
