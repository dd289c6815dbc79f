"""Firmware updates (OCPP 1.6 §3.11, §5.19), whatever the protocol version.

An update goes: wait for the retrieve date → download (``attempts`` tries, ``interval``
apart) → wait until no transaction runs (§5.19: "it is RECOMMENDED to wait until the
charging session has ended") → hand the file to the installer command → restart the
agent, which reports Installed once it is connected again. Progress is reported through
``report(status)``; the protocol adapter turns that into its own messages.

The update is in the store from the moment it is accepted, with the tries it has left,
so a restart or a power cut resumes it where it was. An installation that was cut off
halfway cannot be judged: it is reported InstallationFailed.

The installer is an operator-supplied command (``[firmware] installer``): ``{file}`` in
it is replaced by the downloaded file's path (without ``{file}`` the path is appended).
It must return rather than reboot the machine: exit status 0 means installed, anything
else (or no exit within ``install_timeout_s``) InstallationFailed. The agent then
restarts itself to run what was installed.
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

from agent.store import Store
from agent.transfer import check_location, download, redact_url, with_retries

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3  # when the request does not say (§6.55 retries)
DEFAULT_RETRY_INTERVAL_S = 60.0  # when the request does not say (§6.55 retryInterval)
IDLE_POLL_S = 1.0


class FirmwareStatus(enum.Enum):
    """OCPP 1.6 §7.25 FirmwareStatus (the same names serve other versions' adapters)."""

    IDLE = "Idle"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Downloaded"
    DOWNLOAD_FAILED = "DownloadFailed"
    INSTALLING = "Installing"
    INSTALLED = "Installed"
    INSTALLATION_FAILED = "InstallationFailed"


class Stage(enum.Enum):
    """Where a stored update is (the ``state`` column)."""

    SCHEDULED = "scheduled"  # to download at retrieve_at
    DOWNLOADED = "downloaded"  # waiting for the station to be idle
    INSTALLING = "installing"  # the installer runs
    INSTALLED = "installed"  # installed; Installed not yet confirmed by the backend


class FirmwareBusy(Exception):
    """An installation runs; a new update cannot replace it."""


@dataclass(frozen=True)
class PendingUpdate:
    location: str
    retrieve_at: dt.datetime
    attempts_left: int
    retry_interval_s: float
    stage: Stage
    file: str | None = None


def transactions_running(station) -> bool:
    """Whether any connector has a transaction (running, restored or being closed)."""
    return any(c.session.transaction is not None or c.tx_local_id is not None for c in station.connectors.values())


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
        self._task: asyncio.Task | None = None
        self.status = FirmwareStatus.IDLE

    # ---- what the backend asks ------------------------------------------------------

    def check(self, location: str) -> None:
        """Whether ``update(location, ...)`` can be accepted: raises UnsupportedLocation for a
        URL this agent cannot download, FirmwareBusy while an installation runs."""
        check_location(location)
        current = self._load()
        if current is not None and current.stage is Stage.INSTALLING:
            raise FirmwareBusy("a firmware installation is running")

    def update(self, location: str, retrieve_at: dt.datetime, retries: int | None, retry_interval_s: float | None) -> None:
        """§5.19 UpdateFirmware: store the update and start on it (replacing one not yet installing)."""
        self.check(location)
        if self._task is not None:
            self._task.cancel()
        replaced = self._load()
        if replaced is not None and replaced.file:
            Path(replaced.file).unlink(missing_ok=True)
        update = PendingUpdate(
            location=location,
            retrieve_at=retrieve_at if retrieve_at.tzinfo else retrieve_at.replace(tzinfo=dt.timezone.utc),
            attempts_left=max(1, retries if retries is not None else DEFAULT_ATTEMPTS),
            retry_interval_s=max(0.0, retry_interval_s if retry_interval_s is not None else DEFAULT_RETRY_INTERVAL_S),
            stage=Stage.SCHEDULED,
        )
        self._save(update)
        log.info("firmware: update from %s at %s accepted", redact_url(location), update.retrieve_at.isoformat())
        self._start(update)

    # ---- running --------------------------------------------------------------------

    async def run(self) -> None:
        """Resume what the store holds (after a restart), then keep working until cancelled."""
        update = self._load() if self._task is None else None  # None: update() came first
        if update is not None:
            if update.stage is Stage.INSTALLED:
                log.info("firmware: installed before this restart; reporting Installed")
                self._report(FirmwareStatus.INSTALLED, self._clear_installed)
            elif update.stage is Stage.INSTALLING:
                log.error("firmware: the agent stopped while the installer ran; reporting InstallationFailed")
                self._clear()
                self._report(FirmwareStatus.INSTALLATION_FAILED)
            else:
                self._start(update)
        try:
            await asyncio.Future()
        finally:
            if self._task is not None:
                self._task.cancel()

    def _start(self, update: PendingUpdate) -> None:
        self._task = asyncio.create_task(self._work(update), name="firmware-update")

    async def _work(self, update: PendingUpdate) -> None:
        try:
            if update.stage is Stage.DOWNLOADED and not (update.file and Path(update.file).is_file()):
                log.warning("firmware: the downloaded file is gone; downloading again")
                update = replace(update, stage=Stage.SCHEDULED, attempts_left=max(1, update.attempts_left))
            if update.stage is Stage.SCHEDULED:
                update = await self._download(update)
                if update is None:
                    return
            await self._install(update)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("firmware: update failed")
            self._clear()
            self._set(FirmwareStatus.IDLE)

    async def _download(self, update: PendingUpdate) -> PendingUpdate | None:
        delay = (update.retrieve_at - self._now()).total_seconds()
        if delay > 0:
            log.info("firmware: download in %.0f s", delay)
            await asyncio.sleep(delay)
        dest = self._directory / _file_name(update.location)
        attempts = update.attempts_left

        def before_attempt(number: int) -> None:
            self._save(replace(update, attempts_left=attempts - number))

        self._set(FirmwareStatus.DOWNLOADING)
        ok = await with_retries(
            f"firmware download from {redact_url(update.location)}",
            lambda: download(update.location, dest),
            attempts,
            update.retry_interval_s,
            before_attempt=before_attempt,
        )
        if not ok:
            log.error("firmware: download failed after %d attempt(s)", attempts)
            self._clear()
            self._set(FirmwareStatus.DOWNLOAD_FAILED, final=True)
            return None
        log.info("firmware: downloaded %s (%d bytes)", dest, dest.stat().st_size)
        update = replace(update, stage=Stage.DOWNLOADED, file=str(dest))
        self._save(update)
        self._set(FirmwareStatus.DOWNLOADED)
        return update

    async def _install(self, update: PendingUpdate) -> None:
        if self._busy():
            log.info("firmware: waiting for the running transactions to end before installing")
            while self._busy():
                await asyncio.sleep(self._idle_poll_s)
        self._save(replace(update, stage=Stage.INSTALLING))
        self._set(FirmwareStatus.INSTALLING)
        installed = await self._run_installer(Path(update.file))
        Path(update.file).unlink(missing_ok=True)
        if not installed:
            self._clear()
            self._set(FirmwareStatus.INSTALLATION_FAILED, final=True)
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

    def _set(self, status: FirmwareStatus, *, final: bool = False) -> None:
        self.status = FirmwareStatus.IDLE if final else status
        self._report(status)

    def _load(self) -> PendingUpdate | None:
        row = self._store.execute("SELECT * FROM firmware_update WHERE id = 1").fetchone()
        if row is None:
            return None
        return PendingUpdate(
            location=row["location"],
            retrieve_at=dt.datetime.fromisoformat(row["retrieve_at"]),
            attempts_left=row["attempts_left"],
            retry_interval_s=row["retry_interval_s"],
            stage=Stage(row["state"]),
            file=row["file"],
        )

    def _save(self, update: PendingUpdate) -> None:
        with self._store.atomic():
            self._store.execute(
                "INSERT OR REPLACE INTO firmware_update(id, location, retrieve_at, attempts_left, retry_interval_s, state, file)"
                " VALUES (1, ?, ?, ?, ?, ?, ?)",
                (
                    update.location,
                    update.retrieve_at.isoformat(),
                    update.attempts_left,
                    update.retry_interval_s,
                    update.stage.value,
                    update.file,
                ),
            )

    def _clear(self) -> None:
        with self._store.atomic():
            self._store.execute("DELETE FROM firmware_update")

    def _clear_installed(self) -> None:
        """The backend has Installed; a newer update stored meanwhile stays."""
        with self._store.atomic():
            self._store.execute("DELETE FROM firmware_update WHERE state = ?", (Stage.INSTALLED.value,))


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
