"""Firmware updates (agent/maintenance/firmware.py, agent/maintenance/transfer.py) against real FTP and HTTP servers on
loopback, a real SQLite store and real installer scripts."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

import pytest

from agent.maintenance.firmware import FirmwareBusy, FirmwareStatus, FirmwareUpdater, Stage, UnsignedRefused, installer_command
from agent.persistence.store import Store
from agent.maintenance.transfer import DownloadLimits, DownloadRefused, UnsupportedLocation, check_location, download, redact_url, with_retries
from tests.file_servers import Stream, closed_port, ftp_server, http_server  # noqa: F401 (fixtures)

FIRMWARE = b"\x7fELF new firmware " * 1000


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def installer(tmp_path: Path, exit_status: int) -> str:
    """A tiny installer: copies the file it is given next to itself, then exits."""
    script = tmp_path / "install.py"
    script.write_text(
        "import shutil, sys\n"
        f"shutil.copy(sys.argv[1], {str(tmp_path / 'installed.bin')!r})\n"
        f"print('installer says hello')\nsys.exit({exit_status})\n"
    )
    return f"{sys.executable} {script} {{file}}"


class Harness:
    """A FirmwareUpdater on a real store, with the reports and restarts it made."""

    def __init__(self, tmp_path: Path, installer_command: str, busy: bool = False, allow_unsigned: bool = True,
                 allow_new_sessions: bool = False) -> None:
        self.tmp_path = tmp_path
        self.store = Store(tmp_path / "agent.db")
        self.reports: list[FirmwareStatus] = []
        self.delivered: list = []
        self.changed = asyncio.Event()
        self.restarts = 0
        self.busy = busy
        self.busy_asked = 0
        self.holds: list[bool] = []  # what hold_sessions was told (L01.FR.07)
        self.updater = FirmwareUpdater(
            self.store,
            directory=tmp_path / "firmware",
            installer=installer_command,
            busy=self._busy,
            report=self._report,
            restart=self._restart,
            now=now,
            idle_poll_s=0.01,
            allow_unsigned=allow_unsigned,  # these updates carry no signature ([firmware] allow_unsigned)
            hold_sessions=self.holds.append,
            allow_new_sessions=lambda: allow_new_sessions,
        )
        self.task = asyncio.create_task(self.updater.run())

    def _busy(self) -> bool:
        self.busy_asked += 1
        self.changed.set()
        return self.busy

    def _report(self, status: FirmwareStatus, on_delivered=None) -> None:
        self.reports.append(status)
        if on_delivered is not None:
            self.delivered.append(on_delivered)
        self.changed.set()

    def _restart(self) -> None:
        self.restarts += 1
        self.changed.set()

    async def until(self, predicate, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def stored(self):
        return self.store.execute("SELECT * FROM firmware_update").fetchone()

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.store.close()


# ---- transfers ----------------------------------------------------------------------


def test_locations_other_than_ftp_and_http_are_refused_with_the_reason():
    check_location("https://example.com/fw.bin")
    with pytest.raises(UnsupportedLocation, match="scheme 'file'"):
        check_location("file:///etc/shadow")
    with pytest.raises(UnsupportedLocation, match="no host"):
        check_location("http:///fw.bin")


def test_passwords_in_urls_are_hidden():
    assert redact_url("ftp://user:secret@host:2121/dir/") == "ftp://user:***@host:2121/dir/"
    assert redact_url("https://host/fw.bin") == "https://host/fw.bin"


async def test_download_over_http_and_ftp(tmp_path, http_server, ftp_server):
    http_server.files["fw.bin"] = FIRMWARE
    await download(http_server.url("/files/fw.bin"), tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == FIRMWARE

    (ftp_server.root / "fw.bin").write_bytes(FIRMWARE)
    await download(ftp_server.url("/fw.bin"), tmp_path / "b.bin")
    assert (tmp_path / "b.bin").read_bytes() == FIRMWARE
    assert not list(tmp_path.glob("*.part"))


async def test_a_failing_download_is_tried_exactly_the_number_of_attempts(tmp_path, http_server):
    tried: list[int] = []
    ok = await with_retries(
        "test", lambda: download(http_server.url("/files/missing.bin"), tmp_path / "x"), 3, 0, before_attempt=tried.append
    )
    assert not ok
    assert tried == [1, 2, 3]
    assert http_server.requests["missing.bin"] == 3
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()


async def test_a_download_that_fails_then_works_succeeds_on_a_retry(tmp_path, http_server):
    async def attempt():
        if http_server.requests["late.bin"] == 1:
            http_server.files["late.bin"] = FIRMWARE  # there from the second request on
        await download(http_server.url("/files/late.bin"), tmp_path / "late.bin")

    assert await with_retries("test", attempt, 3, 0)
    assert http_server.requests["late.bin"] == 2
    assert (tmp_path / "late.bin").read_bytes() == FIRMWARE


async def test_a_download_announced_bigger_than_the_cap_is_refused_before_a_byte_is_written(tmp_path, http_server):
    http_server.files["big.bin"] = bytes(200_000)
    with pytest.raises(DownloadRefused, match="announced 200000 bytes, more than the 100000 allowed"):
        await download(http_server.url("/files/big.bin"), tmp_path / "big.bin", limits=DownloadLimits(max_bytes=100_000))
    assert list(tmp_path.iterdir()) == []


async def test_a_download_that_grows_past_the_cap_stops_at_the_cap_and_leaves_no_file(tmp_path, http_server):
    """Chunked, no Content-Length: the cap holds while the file is written."""
    http_server.streams["endless.bin"] = Stream(size=None, chunk=4096, pause_s=0.002)
    cap = 300_000
    largest = 0
    part = tmp_path / "endless.bin.part"

    async def watch():
        nonlocal largest
        while True:  # a measurement: the largest partial file seen
            largest = max(largest, part.stat().st_size if part.exists() else 0)
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(watch())
    try:
        with pytest.raises(DownloadRefused, match=f"more than the {cap} allowed"):
            await download(http_server.url("/streams/endless.bin"), tmp_path / "endless.bin", limits=DownloadLimits(max_bytes=cap))
    finally:
        watcher.cancel()
    print(f"cap {cap} bytes: largest partial file seen {largest} bytes, server sent {http_server.sent['endless.bin']} bytes")
    assert largest <= cap
    assert list(tmp_path.iterdir()) == []


async def test_a_download_that_drips_past_its_deadline_is_cut_off(tmp_path, http_server):
    """A byte now and then keeps every socket read alive; the deadline is for the whole download."""
    http_server.streams["drip.bin"] = Stream(size=None, chunk=100, pause_s=0.02)
    started = time.monotonic()
    with pytest.raises(DownloadRefused, match="not complete within 1 s"):
        await download(http_server.url("/streams/drip.bin"), tmp_path / "drip.bin", limits=DownloadLimits(deadline_s=1.0))
    took = time.monotonic() - started
    print(f"deadline 1 s: cut off after {took:.2f} s, {http_server.sent['drip.bin']} bytes sent")
    assert list(tmp_path.iterdir()) == []


async def test_a_download_that_would_fill_the_file_system_is_refused(tmp_path, http_server):
    http_server.streams["fw.bin"] = Stream(size=100_000)
    stat = os.statvfs(tmp_path)
    free = stat.f_bavail * stat.f_frsize
    # More to keep free than the disk has, with room for what other tests free meanwhile.
    with pytest.raises(DownloadRefused, match="would keep less than"):
        await download(http_server.url("/streams/fw.bin"), tmp_path / "fw.bin",
                       limits=DownloadLimits(keep_free_bytes=free + (1 << 30)))
    assert list(tmp_path.iterdir()) == []
    # Within every bound: downloaded.
    await download(http_server.url("/streams/fw.bin"), tmp_path / "fw.bin",
                   limits=DownloadLimits(max_bytes=100_000, keep_free_bytes=1 << 20, deadline_s=30))
    assert (tmp_path / "fw.bin").stat().st_size == 100_000


def test_installer_command_places_the_file():
    assert installer_command("/bin/inst --file {file} -v", Path("/d/f w.bin")) == ["/bin/inst", "--file", "/d/f w.bin", "-v"]
    assert installer_command("'/opt/my installer'", Path("/d/f.bin")) == ["/opt/my installer", "/d/f.bin"]


# ---- the update --------------------------------------------------------------------


async def test_download_fails_after_the_retries_and_nothing_stays_stored(tmp_path, http_server):
    h = Harness(tmp_path, installer(tmp_path, 0))
    try:
        h.updater.update(http_server.url("/files/missing.bin"), now(), retries=2, retry_interval_s=0)
        await h.until(lambda: FirmwareStatus.DOWNLOAD_FAILED in h.reports)
        assert h.reports == [FirmwareStatus.DOWNLOADING, FirmwareStatus.DOWNLOAD_FAILED]
        assert http_server.requests["missing.bin"] == 2
        assert h.stored() is None and h.updater.status is FirmwareStatus.IDLE
    finally:
        await h.close()


async def test_installed_then_restart_then_installed_is_reported_once_delivered(tmp_path, ftp_server):
    (ftp_server.root / "fw.bin").write_bytes(FIRMWARE)
    h = Harness(tmp_path, installer(tmp_path, 0))
    try:
        h.updater.update(ftp_server.url("/fw.bin"), now(), retries=1, retry_interval_s=0)
        await h.until(lambda: h.restarts == 1)
        assert h.reports == [FirmwareStatus.DOWNLOADING, FirmwareStatus.DOWNLOADED, FirmwareStatus.INSTALLING]
        assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE
        assert h.stored()["state"] == Stage.INSTALLED.value
        assert not list((tmp_path / "firmware").iterdir())  # the downloaded file is removed
    finally:
        await h.close()

    # The restarted agent reports Installed, and forgets the update once the backend has it.
    again = Harness(tmp_path, installer(tmp_path, 0))
    try:
        await again.until(lambda: again.reports == [FirmwareStatus.INSTALLED])
        assert again.stored() is not None
        again.delivered[0]()
        assert again.stored() is None and again.restarts == 0
    finally:
        await again.close()


async def test_installer_failure_reports_installation_failed_without_restart(tmp_path, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, installer(tmp_path, 1))
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), retries=None, retry_interval_s=None)
        await h.until(lambda: FirmwareStatus.INSTALLATION_FAILED in h.reports)
        assert h.reports[-2:] == [FirmwareStatus.INSTALLING, FirmwareStatus.INSTALLATION_FAILED]
        assert h.restarts == 0 and h.stored() is None
    finally:
        await h.close()


async def test_a_missing_installer_is_an_installation_failure(tmp_path, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, str(tmp_path / "no-such-installer"))
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), retries=1, retry_interval_s=0)
        await h.until(lambda: FirmwareStatus.INSTALLATION_FAILED in h.reports)
    finally:
        await h.close()


async def test_install_waits_until_no_transaction_runs(tmp_path, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, installer(tmp_path, 1), busy=True)
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), retries=1, retry_interval_s=0)
        await h.until(lambda: h.busy_asked >= 5)  # checked again and again...
        assert h.reports == [FirmwareStatus.DOWNLOADING, FirmwareStatus.DOWNLOADED]  # ...and not installed
        assert h.updater.status is FirmwareStatus.DOWNLOADED
        h.busy = False
        await h.until(lambda: FirmwareStatus.INSTALLING in h.reports)
    finally:
        await h.close()


async def test_the_update_is_stored_and_resumed_after_a_restart(tmp_path, http_server):
    h = Harness(tmp_path, installer(tmp_path, 1))
    later = now() + dt.timedelta(hours=1)
    try:
        h.updater.update(http_server.url("/files/fw.bin"), later, retries=4, retry_interval_s=7)
        row = h.stored()
        assert (row["state"], row["attempts_left"], row["retry_interval_s"]) == ("scheduled", 4, 7)
        assert dt.datetime.fromisoformat(row["retrieve_at"]) == later
        assert h.reports == []  # waiting for the retrieve date
    finally:
        await h.close()

    # After the restart the retrieve date has passed (moved into the past here) and the file is there.
    store = Store(tmp_path / "agent.db")
    with store.atomic():
        store.execute("UPDATE firmware_update SET retrieve_at = ?", ((now() - dt.timedelta(seconds=1)).isoformat(),))
    store.close()
    http_server.files["fw.bin"] = FIRMWARE
    again = Harness(tmp_path, installer(tmp_path, 1))
    try:
        await again.until(lambda: FirmwareStatus.INSTALLATION_FAILED in again.reports)
        assert again.reports[0] is FirmwareStatus.DOWNLOADING
        assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE
    finally:
        await again.close()


async def test_unsigned_updates_are_refused_unless_allowed_even_one_stored_before(tmp_path, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    refusing = Harness(tmp_path, installer(tmp_path, 0), allow_unsigned=False)
    try:
        with pytest.raises(UnsignedRefused):
            refusing.updater.update(http_server.url("/files/fw.bin"), now(), 1, 0)
        assert refusing.stored() is None
    finally:
        await refusing.close()
    # Stored while they were allowed; the agent restarts with allow_unsigned = false.
    allowing = Harness(tmp_path, installer(tmp_path, 0))
    try:
        allowing.updater.update(http_server.url("/files/fw.bin"), now() + dt.timedelta(seconds=0.5), 1, 0)
    finally:
        await allowing.close()
    again = Harness(tmp_path, installer(tmp_path, 0), allow_unsigned=False)
    try:
        await again.until(lambda: again.reports)
        assert again.reports == [FirmwareStatus.INSTALLATION_FAILED]
        assert again.stored() is None and http_server.requests["fw.bin"] == 0
        assert not (tmp_path / "installed.bin").exists() and again.restarts == 0
    finally:
        await again.close()


async def test_an_installation_cut_off_by_a_restart_is_reported_failed(tmp_path):
    h = Harness(tmp_path, "true")
    with h.store.atomic():
        h.store.execute(
            "INSERT INTO firmware_update(id, location, retrieve_at, attempts_left, retry_interval_s, state, file)"
            " VALUES (1, 'http://x/fw.bin', ?, 1, 0, 'installing', NULL)", (now().isoformat(),)
        )
    await h.close()
    again = Harness(tmp_path, "true")
    try:
        await again.until(lambda: again.reports == [FirmwareStatus.INSTALLATION_FAILED])
        assert again.stored() is None
    finally:
        await again.close()


async def test_a_new_update_is_refused_while_installing_and_bad_locations_before_anything(tmp_path):
    h = Harness(tmp_path, "true")
    try:
        with pytest.raises(UnsupportedLocation):
            h.updater.update("file:///tmp/fw.bin", now(), 1, 0)
        assert h.stored() is None
        with h.store.atomic():
            h.store.execute(
                "INSERT INTO firmware_update(id, location, retrieve_at, attempts_left, retry_interval_s, state, file)"
                " VALUES (1, 'http://x/fw.bin', ?, 1, 0, 'installing', NULL)", (now().isoformat(),)
            )
        with pytest.raises(FirmwareBusy):
            h.updater.check("http://127.0.0.1:%d/fw.bin" % closed_port())
    finally:
        await h.close()


# ---- OCPP 2.0.1: request ids and new sessions while an installation waits --------------------


async def test_an_unsigned_2_0_1_update_reports_its_request_id_from_download_scheduled_on(tmp_path, http_server):
    """L02.FR.06/07: every status with the requestId, DownloadScheduled too; kept across a restart."""
    from agent.maintenance.firmware import SignedReport

    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, installer(tmp_path, 0))
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now() + dt.timedelta(hours=1), 1, 0, request_id=42)
        await h.until(lambda: h.reports)
        assert h.reports == [SignedReport(FirmwareStatus.DOWNLOAD_SCHEDULED, 42)]
        assert h.stored()["request_id"] == 42 and h.updater.request_id == 42
    finally:
        await h.close()
    store = Store(tmp_path / "agent.db")
    with store.atomic():
        store.execute("UPDATE firmware_update SET retrieve_at = ?", ((now() - dt.timedelta(seconds=1)).isoformat(),))
    store.close()
    again = Harness(tmp_path, installer(tmp_path, 0))
    try:
        await again.until(lambda: again.restarts == 1)
        assert again.reports == [SignedReport(s, 42) for s in (FirmwareStatus.DOWNLOADING, FirmwareStatus.DOWNLOADED,
                                                               FirmwareStatus.INSTALLING)]
    finally:
        await again.close()


async def test_new_sessions_are_held_off_while_the_installation_waits_and_let_go_when_it_fails(tmp_path, http_server):
    """L01.FR.06/07: the free EVSEs are held Unavailable while a transaction runs; a failed
    installation lets them go (the station goes on with the firmware it has)."""
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, installer(tmp_path, 1), busy=True)
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), 1, 0)
        await h.until(lambda: h.holds == [True])
        assert FirmwareStatus.INSTALLING not in h.reports
        h.busy = False
        await h.until(lambda: FirmwareStatus.INSTALLATION_FAILED in h.reports)
        assert h.holds == [True, False]
    finally:
        await h.close()


async def test_new_sessions_go_on_while_the_installation_waits_when_allowed(tmp_path, http_server):
    """AllowNewSessionsPendingFirmwareUpdate true: no hold, the installation still waits."""
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, installer(tmp_path, 0), busy=True, allow_new_sessions=True)
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), 1, 0)
        await h.until(lambda: FirmwareStatus.DOWNLOADED in h.reports and h.busy_asked > 2)
        assert h.holds == [] and FirmwareStatus.INSTALLING not in h.reports
        h.busy = False
        await h.until(lambda: h.restarts == 1)
        assert h.holds == []
    finally:
        await h.close()
