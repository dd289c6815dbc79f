"""Diagnostics (OCPP 1.6 §5.9 GetDiagnostics, §4.4 status), whatever the protocol version.

One ``.tar.gz`` per request, named ``diagnostics-<charge point id>-<UTC time to the ms>.tar.gz``:

- ``state.json``: agent version, time, each connector's state, open transactions, the
  length of the transaction-message queue, the connector history (status changes,
  faults, sessions: agent/station/history.py), the settings and the configuration, with
  secrets removed (values of keys named like passwords, secrets, tokens or
  AuthorizationKey, and passwords inside URLs);
- ``agent.log``: the lines of the agent's log file (``[log] file``, with its rotated
  predecessors, oldest first) between startTime and stopTime, when a log file is
  configured.

The archive is uploaded as ``agent/maintenance/transfer.py`` describes (FTP STOR into the location,
or an HTTP(S) multipart POST to it), ``retries`` times ``retryInterval`` apart, reporting
Uploading, then Uploaded or UploadFailed.

GetLog (OCPP 1.6 Security Whitepaper ed. 3) asks for the same through a request with a
``request_id``: DiagnosticsLog is the archive above; SecurityLog is
``securitylog-<charge point id>-<UTC time>.tar.gz`` holding ``security.log``, the security
events the agent recorded (agent/security/security_log.py) between oldestTimestamp and
latestTimestamp. Their statuses are reported as ``LogReport`` (with the request id) for
LogStatusNotification.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import enum
import io
import json
import logging
import logging.handlers
import os
import re
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from agent import __version__
from agent.maintenance.transfer import UploadRefusal, check_location, redact_url, upload, upload_refusal, with_retries

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3  # when the request does not say (§6.25 retries)
DEFAULT_RETRY_INTERVAL_S = 60.0
LOG_MAX_BYTES = 5_000_000
LOG_BACKUPS = 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATEFMT = "%Y-%m-%dT%H:%M:%SZ"  # UTC, so startTime / stopTime compare directly
SECRET_NAME = re.compile(r"password|passwd|secret|token|authorization_?key|private_?key", re.IGNORECASE)
REDACTED = "***"
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,]\d+)?(Z)?")


class DiagnosticsStatus(enum.Enum):
    """OCPP 1.6 §7.24 DiagnosticsStatus."""

    IDLE = "Idle"
    UPLOADING = "Uploading"
    UPLOADED = "Uploaded"
    UPLOAD_FAILED = "UploadFailed"


@dataclasses.dataclass(frozen=True)
class DiagnosticsRequest:
    location: str
    file_name: str
    start: dt.datetime | None
    stop: dt.datetime | None
    attempts: int
    retry_interval_s: float
    security_log: bool = False  # GetLog SecurityLog: the security events instead of the diagnostics
    request_id: int | None = None  # GetLog's requestId


@dataclasses.dataclass(frozen=True)
class LogReport:
    """The status of a GetLog upload, for LogStatusNotification."""

    status: DiagnosticsStatus
    request_id: int
    refusal: UploadRefusal | None = None  # with UPLOAD_FAILED: the server said why


def log_file_handler(path: str | Path) -> logging.Handler:
    """The agent's log file (``[log] file``): rotated at 5 MB, two old files kept, UTC times."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    with contextlib.suppress(OSError):  # one left readable by others by an earlier start: the owner's only
        os.chmod(path, 0o600)
    formatter = logging.Formatter(LOG_FORMAT, datefmt=LOG_DATEFMT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    return handler


class DiagnosticsCollector:
    def __init__(
        self,
        *,
        config,
        store,
        station,
        settings: Callable[[], dict[str, Any]],
        directory: Path,
        report: Callable[..., None],
        now: Callable[[], dt.datetime],
        security_log_files: Callable[[], list[Path]] = list,
    ) -> None:
        self._config = config
        self._security_log_files = security_log_files
        self._store = store
        self._station = station
        self._settings = settings
        self._directory = directory
        self._report = report
        self._now = now
        self._task: asyncio.Task | None = None
        self.status = DiagnosticsStatus.IDLE
        self.request_id: int | None = None  # of the GetLog request the status belongs to

    def request(
        self,
        location: str,
        start: dt.datetime | None = None,
        stop: dt.datetime | None = None,
        retries: int | None = None,
        retry_interval_s: float | None = None,
        *,
        security_log: bool = False,
        request_id: int | None = None,
    ) -> DiagnosticsRequest:
        """§5.9: check the location and name the file (raises UnsupportedLocation)."""
        check_location(location)
        when = self._now()
        stamp = f"{when:%Y%m%dT%H%M%S}{when.microsecond // 1000:03d}Z"  # ms: two requests differ
        prefix = "securitylog" if security_log else "diagnostics"
        return DiagnosticsRequest(
            location=location,
            file_name=f"{prefix}-{_safe(self._config.charge_point.id)}-{stamp}.tar.gz",
            start=start,
            stop=stop,
            attempts=max(1, retries if retries is not None else DEFAULT_ATTEMPTS),
            retry_interval_s=max(0.0, retry_interval_s if retry_interval_s is not None else DEFAULT_RETRY_INTERVAL_S),
            security_log=security_log,
            request_id=request_id,
        )

    @property
    def busy(self) -> bool:
        """Whether an upload is under way (a new request would cancel it)."""
        return self._task is not None and not self._task.done()

    def start(self, request: DiagnosticsRequest) -> None:
        """Collect and upload in a task; a new request replaces one still running."""
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.create_task(self._work(request), name="diagnostics")

    async def _work(self, request: DiagnosticsRequest) -> None:
        path = self._directory / request.file_name
        try:
            if request.security_log:
                state, log_files, log_name = None, self._security_log_files(), "security.log"
            else:  # the state is taken on the event loop: the store is not shared with threads
                state, log_files, log_name = self.snapshot(), _log_files(self._config.log.file), "agent.log"
            await asyncio.to_thread(write_archive, path, state, log_files, request.start, request.stop, log_name=log_name)
            self._set(DiagnosticsStatus.UPLOADING, request)
            errors: list[Exception] = []

            async def attempt() -> None:
                try:
                    await upload(path, request.location)
                except Exception as exc:
                    errors.append(exc)
                    raise

            ok = await with_retries(
                f"diagnostics upload to {redact_url(request.location)}", attempt, request.attempts, request.retry_interval_s
            )
            log.log(logging.INFO if ok else logging.ERROR, "diagnostics: %s %s", request.file_name, "uploaded" if ok else "not uploaded")
            refusal = upload_refusal(errors[-1]) if errors and not ok else None
            self._set(DiagnosticsStatus.UPLOADED if ok else DiagnosticsStatus.UPLOAD_FAILED, request, final=True, refusal=refusal)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("diagnostics: collecting %s failed", request.file_name)
            self._set(DiagnosticsStatus.UPLOAD_FAILED, request, final=True)
        finally:
            path.unlink(missing_ok=True)

    def _set(
        self, status: DiagnosticsStatus, request: DiagnosticsRequest, *, final: bool = False, refusal: UploadRefusal | None = None
    ) -> None:
        self.status = DiagnosticsStatus.IDLE if final else status
        self.request_id = request.request_id
        self._report(status if request.request_id is None else LogReport(status, request.request_id, refusal))

    def snapshot(self) -> dict[str, Any]:
        """What ``state.json`` holds, secrets removed."""
        connectors = []
        for evse_id in self._station.evses():
            view = self._station.view(evse_id)
            devices = {"board": view.board, **({"meter": view.meter} if view.meter is not None else {})}
            connectors.append(
                {
                    "id": view.evse_id,
                    "status": view.status.value,
                    "fault": view.fault.value if view.fault else None,
                    "faults": sorted(f.value for f in view.faults),
                    "pilot": view.pilot.value,
                    "available": view.available,
                    "offered_a": view.offered_a,
                    "transaction_id_tag": view.transaction_id_tag,
                    "transaction_local_id": view.transaction_local_id,
                    "board_status": _plain(view.board_status),
                    "meter_reading": _plain(view.reading),
                    "failed_reads_in_a_row": {name: health.failed_reads for name, health in devices.items()},
                    "last_device_errors": {name: health.last_error for name, health in devices.items()
                                           if health.last_error is not None},
                }
            )
        return redact(
            {
                "agent_version": __version__,
                "time": self._now().isoformat(),
                "connectors": connectors,
                "open_transactions": [dataclasses.asdict(t) for t in self._store.open_transactions()],
                "outbox_length": self._store.outbox_length(),
                "history": self._station.history.recent(1000),
                "settings": self._settings(),
                "config": dataclasses.asdict(self._config),
            }
        )


def write_archive(
    path: Path,
    state: dict[str, Any] | None,
    log_files: Iterable[Path],
    start: dt.datetime | None,
    stop: dt.datetime | None,
    *,
    log_name: str = "agent.log",
) -> None:
    """Write the .tar.gz: ``state.json`` (unless ``state`` is None) and, if there is a log,
    ``log_name`` (lines in [start, stop])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        if state is not None:
            _add(archive, "state.json", json.dumps(state, indent=2, default=str).encode())
        log_files = [p for p in log_files if p.is_file()]
        if log_files:
            lines = (line for p in log_files for line in p.read_text(encoding="utf-8", errors="replace").splitlines(True))
            _add(archive, log_name, "".join(log_lines_between(lines, start, stop)).encode())


def log_lines_between(lines: Iterable[str], start: dt.datetime | None, stop: dt.datetime | None) -> Iterator[str]:
    """The lines logged in [start, stop]; a line without a time (a traceback) goes with the line before it."""
    keep = start is None
    for line in lines:
        match = _STAMP.match(line)
        if match:
            when = dt.datetime.fromisoformat(f"{match[1]}T{match[2]}")
            when = when.replace(tzinfo=dt.timezone.utc) if match[3] else when.astimezone()
            keep = (start is None or when >= start.replace(microsecond=0)) and (stop is None or when <= stop)
        if keep:
            yield line


def redact(value: Any, name: str = "") -> Any:
    """``value`` with secrets replaced by ``***``: values of secret-looking keys, passwords in URLs."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_NAME.search(str(k)) and value[k] not in (None, "") else redact(value[k], str(k)) for k in value}
    if isinstance(value, (list, tuple)):
        return [redact(item, name) for item in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def rotated_log_files(path: str | Path) -> list[Path]:
    """A log file written by ``log_file_handler`` and its rotated predecessors, oldest first."""
    return _log_files(str(path))


def _log_files(path: str) -> list[Path]:
    if not path:
        return []
    base = Path(path)
    return [base.with_name(f"{base.name}.{n}") for n in range(LOG_BACKUPS, 0, -1)] + [base]


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)
