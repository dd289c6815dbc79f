"""File transfers to and from the backend's file servers (firmware in, diagnostics out).

OCPP 1.6 leaves the protocol to the URL (§5.9, §5.19; Edition 2 §8 names FTP, FTPS,
HTTP and HTTPS); this agent speaks ``ftp://``, ``http://`` and ``https://``:

- download: ``urllib.request`` (HTTP redirects, HTTPS with certificate checks, FTP with
  ``user:password@`` from the URL), in a worker thread so the event loop never blocks;
- upload to FTP: ``ftplib`` STOR of the file into the location, which §5.9 calls a
  directory (``ftp://user:password@host/dir/`` → ``/dir/<file name>``), passive mode;
- upload to HTTP(S): one POST of ``multipart/form-data`` to the location URL, the file in
  the field ``file`` with its name as the part's filename (aiohttp writes the encoding).
  Any 2xx answer counts as uploaded.

Every transfer is tried ``attempts`` times, ``interval_s`` apart (``retries`` /
``retryInterval`` of the request). Passwords never reach the log (``redact_url``).

A download is bounded (``DownloadLimits``): at most ``max_bytes``, leaving at least
``keep_free_bytes`` free on the file system it is written to, within ``deadline_s`` for the
whole attempt. A server that announces more, sends more, or takes longer fails the attempt
(``DownloadRefused``), and the partial file is deleted, so a retry starts from nothing.
"""

from __future__ import annotations

import asyncio
import enum
import ftplib
import logging
import os
import posixpath
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

# aiohttp is imported where an HTTP upload happens: it costs 200-370 ms at start-up on its
# own, for something a charger does a few times a year (tests/benchmarks, start-up row).

log = logging.getLogger(__name__)

SCHEMES = ("ftp", "http", "https")
TIMEOUT_S = 60.0  # per connect / read on the socket, not for the whole file
CHUNK = 1 << 16


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int | None = None  # the file's size
    keep_free_bytes: int = 0  # free space left on the file system written to
    deadline_s: float | None = None  # the whole attempt, connect to last byte


class DownloadRefused(OSError):
    """A download went past one of its DownloadLimits; the message says which."""


class UnsupportedLocation(ValueError):
    """A location this agent cannot transfer to or from."""


class UploadRefusal(enum.Enum):
    """Why a server refused an upload, when it said so (the Security Whitepaper's
    UploadLogStatus tells these apart from an upload that just failed)."""

    PERMISSION_DENIED = "PermissionDenied"  # FTP 530/532/550/553, HTTP 401/403
    NOT_SUPPORTED = "NotSupportedOperation"  # FTP 502/504, HTTP 405/501
    BAD_MESSAGE = "BadMessage"  # FTP 500/501 or a garbled reply, HTTP 400/413/415


def upload_refusal(exc: BaseException) -> UploadRefusal | None:
    """The refusal ``exc`` (from ``upload``) reports, or None for any other failure."""
    if isinstance(exc, ftplib.error_perm):
        code = str(exc)[:3]
        if code in ("530", "532", "550", "553"):
            return UploadRefusal.PERMISSION_DENIED
        if code in ("502", "504"):
            return UploadRefusal.NOT_SUPPORTED
        if code in ("500", "501"):
            return UploadRefusal.BAD_MESSAGE
    elif isinstance(exc, ftplib.error_proto):
        return UploadRefusal.BAD_MESSAGE
    elif (aiohttp := sys.modules.get("aiohttp")) is not None and isinstance(exc, aiohttp.ClientResponseError):
        if exc.status in (401, 403):
            return UploadRefusal.PERMISSION_DENIED
        if exc.status in (405, 501):
            return UploadRefusal.NOT_SUPPORTED
        if exc.status in (400, 413, 415):
            return UploadRefusal.BAD_MESSAGE
    return None


def check_location(url: str) -> None:
    """Raise UnsupportedLocation naming the problem, for a URL that is not ftp/http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise UnsupportedLocation(f"{redact_url(url)}: scheme {parts.scheme or '(none)'!r} is not one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise UnsupportedLocation(f"{redact_url(url)}: no host")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and diagnostics)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


async def with_retries(
    what: str,
    attempt: Callable[[], Awaitable[None]],
    attempts: int,
    interval_s: float,
    *,
    before_attempt: Callable[[int], None] | None = None,
) -> bool:
    """Run ``attempt`` until it succeeds, at most ``attempts`` times, ``interval_s`` apart.

    ``before_attempt(n)`` runs before the n-th try (1-based), e.g. to store the tries left."""
    attempts = max(1, attempts)
    for number in range(1, attempts + 1):
        if before_attempt is not None:
            before_attempt(number)
        try:
            await attempt()
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every transfer error counts as a failed attempt
            log.warning("%s: attempt %d of %d failed: %s", what, number, attempts, exc)
        if number < attempts:
            await asyncio.sleep(interval_s)
    return False


async def download(url: str, dest: Path, timeout_s: float = TIMEOUT_S, limits: DownloadLimits = DownloadLimits()) -> None:
    """Fetch ``url`` into ``dest`` (written to ``dest.part`` first, renamed when complete)
    within ``limits`` (else DownloadRefused, and no file is left)."""
    check_location(url)
    await asyncio.to_thread(_download, url, dest, timeout_s, limits)


def _download(url: str, dest: Path, timeout_s: float, limits: DownloadLimits) -> None:
    deadline = time.monotonic() + limits.deadline_s if limits.deadline_s is not None else None
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=_socket_timeout(timeout_s, deadline)) as response, open(part, "wb") as out:
            announced = response.headers.get("Content-Length") if response.headers else None
            if announced is not None and announced.isdigit():
                _check_room(int(announced), out.fileno(), limits, "announced")
            written = 0
            # read1: what has arrived (up to CHUNK), so that a server dripping bytes meets the
            # deadline; read() would wait for a whole CHUNK. A silent one meets timeout_s.
            read = getattr(response, "read1", response.read)
            while chunk := read(CHUNK):
                if deadline is not None and time.monotonic() > deadline:
                    raise DownloadRefused(f"not complete within {limits.deadline_s:.0f} s ({written} bytes so far)")
                _check_room(written + len(chunk), out.fileno(), limits, "reached", len(chunk))
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _socket_timeout(timeout_s: float, deadline: float | None) -> float:
    return timeout_s if deadline is None else max(0.1, min(timeout_s, deadline - time.monotonic()))


def _check_room(size: int, fd: int, limits: DownloadLimits, how: str, more: int | None = None) -> None:
    """Whether a file of ``size`` bytes fits ``limits``; ``more``: the bytes about to be written
    (else the whole ``size`` is still to come)."""
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise DownloadRefused(f"{how} {size} bytes, more than the {limits.max_bytes} allowed")
    if limits.keep_free_bytes:
        stat = os.fstatvfs(fd)
        free = stat.f_bavail * stat.f_frsize
        if free - (size if more is None else more) < limits.keep_free_bytes:
            raise DownloadRefused(
                f"{how} {size} bytes; the file system would keep less than {limits.keep_free_bytes} bytes free ({free} free)"
            )


async def upload(path: Path, location: str, timeout_s: float = TIMEOUT_S) -> None:
    """Send ``path`` to ``location`` (see the module docstring for how, per scheme)."""
    check_location(location)
    if urlsplit(location).scheme.lower() == "ftp":
        await asyncio.to_thread(_upload_ftp, path, location, timeout_s)
    else:
        await _upload_http(path, location, timeout_s)


def _upload_ftp(path: Path, location: str, timeout_s: float) -> None:
    parts = urlsplit(location)
    directory = unquote(parts.path) or "/"
    with ftplib.FTP(timeout=timeout_s) as ftp:
        ftp.connect(parts.hostname, parts.port or 21)
        ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
        with open(path, "rb") as source:
            ftp.storbinary(f"STOR {posixpath.join(directory, path.name)}", source)


async def _upload_http(path: Path, location: str, timeout_s: float) -> None:
    import aiohttp

    timeout = aiohttp.ClientTimeout(sock_connect=timeout_s, sock_read=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        with open(path, "rb") as source:
            form = aiohttp.FormData()
            form.add_field("file", source, filename=path.name, content_type="application/octet-stream")
            async with http.post(location, data=form) as response:
                response.raise_for_status()
