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
"""

from __future__ import annotations

import asyncio
import enum
import ftplib
import logging
import os
import posixpath
import shutil
import sys
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

# aiohttp is imported where an HTTP upload happens: it costs 200-370 ms at start-up on its
# own, for something a charger does a few times a year (tests/benchmarks, start-up row).

log = logging.getLogger(__name__)

SCHEMES = ("ftp", "http", "https")
TIMEOUT_S = 60.0  # per connect / read on the socket, not for the whole file


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


async def download(url: str, dest: Path, timeout_s: float = TIMEOUT_S) -> None:
    """Fetch ``url`` into ``dest`` (written to ``dest.part`` first, renamed when complete)."""
    check_location(url)
    await asyncio.to_thread(_download, url, dest, timeout_s)


def _download(url: str, dest: Path, timeout_s: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


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
