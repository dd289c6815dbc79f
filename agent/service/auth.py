"""Who may use the service page: passwords, sessions, login throttling, CSRF tokens.

- Two roles: ``installer`` (everything) and ``support`` (reads only: status, configuration,
  logs, history, the diagnostics archive). Each has one password, set with
  ``evse-agent service-password [--role ...]``; there is none by default, and a role without
  one cannot log in.
- Passwords are stored as Argon2id hashes (argon2-cffi, RFC 9106 "low memory" parameters:
  64 MiB, 3 passes, 4 lanes), in ``<data_dir>/service-page/passwords.json`` (0600). A hash is
  computed in a thread, one at a time, so a flood of logins cannot exhaust a Pi's memory.
- A session is a random 256-bit token in a cookie (Secure, HttpOnly, SameSite=Strict). Only
  its SHA-256 is stored, with its role, expiry and CSRF token, in ``sessions.json`` (0600), so a
  restart of the agent (a configuration applied) does not log the installer out. Sessions
  expire ``session_lifetime_s`` after login, whatever happens in between.
- Every request that changes something carries the session's CSRF token in the
  ``X-CSRF-Token`` header (agent/service/server.py checks it).
- Failed logins are throttled per client address (``FREE_FAILURES`` free, then a lock doubling
  from ``LOCK_BASE_S`` up to ``LOCK_MAX_S``) and for all clients together (``GLOBAL_FAILURES``
  per minute), and a locked client is refused even with the right password.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from agent.security.secret_files import write_secret

log = logging.getLogger(__name__)

ROLES = ("installer", "support")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
PASSWORDS_NAME = "passwords.json"
SESSIONS_NAME = "sessions.json"
MAX_SESSIONS = 32

FREE_FAILURES = 5  # failed logins in a row from one address before it is locked out
LOCK_BASE_S = 30.0
LOCK_MAX_S = 900.0
GLOBAL_FAILURES = 30  # failed logins per minute from all addresses together
GLOBAL_WINDOW_S = 60.0
MAX_SOURCES = 1000

_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
_dummy_hash: list[str] = []  # verified when the role has no password: the answer takes as long


def _dummy() -> str:
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


class PasswordError(ValueError):
    """A password that may not be set (too short, ...)."""


def check_new_password(password: str, role: str, charge_point_id: str = "") -> None:
    if role not in ROLES:
        raise PasswordError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in {r for r in ROLES} | {charge_point_id.lower(), "evse-agent", "password"} or len(set(password)) < 4:
        raise PasswordError("that password is too easy to guess")


class PasswordFile:
    """The roles' password hashes (``<data_dir>/service-page/passwords.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hashing: asyncio.Semaphore | None = None  # one Argon2 computation (64 MiB) at a time
        self._ids: tuple[float, dict[str, str]] | None = None

    def ids(self) -> dict[str, str]:
        """A short fingerprint of each role's password hash: a session made with another one
        (the password changed or was removed since) is over."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return {}
        if self._ids is None or self._ids[0] != mtime:
            self._ids = (mtime, {role: hashlib.sha256(value.encode()).hexdigest()[:16]
                                 for role, value in self.hashes().items()})
        return self._ids[1]

    def hashes(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("service page: %s cannot be read: %s; nobody can log in", self.path, exc)
            return {}
        return {role: value for role, value in data.items() if role in ROLES and isinstance(value, str)}

    def roles(self) -> list[str]:
        return [role for role in ROLES if role in self.hashes()]

    def set(self, role: str, password: str, charge_point_id: str = "") -> None:
        check_new_password(password, role, charge_point_id)
        hashes = self.hashes()
        hashes[role] = _hasher.hash(password)
        write_secret(self.path, json.dumps(hashes, indent=2).encode())

    def remove(self, role: str) -> bool:
        hashes = self.hashes()
        if hashes.pop(role, None) is None:
            return False
        write_secret(self.path, json.dumps(hashes, indent=2).encode())
        return True

    def verify(self, role: str, password: str) -> bool:
        """Blocking (about 0.1 s here, more on a Pi): call it through ``verify_async``."""
        stored = self.hashes().get(role)
        try:
            _hasher.verify(stored or _dummy(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored is not None

    async def verify_async(self, role: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        if self._hashing is None:
            self._hashing = asyncio.Semaphore(1)
        async with self._hashing:
            return await asyncio.to_thread(self.verify, role, password)


# ---- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    role: str
    created: float  # wall clock (kept across restarts)
    expires: float
    csrf: str
    source: str
    password_id: str = ""  # PasswordFile.ids() of the role at login

    @property
    def may_change(self) -> bool:
        return self.role == "installer"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Logged-in sessions, by the SHA-256 of their token, kept in a 0600 file."""

    def __init__(self, path: Path, lifetime_s: float, now: Callable[[], float] = time.time) -> None:
        self.path = path
        self.lifetime_s = lifetime_s
        self._now = now
        self._sessions: dict[str, Session] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            self._sessions = {key: Session(**value) for key, value in data.items()}
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError) as exc:
            log.warning("service page: sessions in %s not read (%s): everyone logs in again", self.path, exc)
        self._prune()

    def _save(self) -> None:
        try:
            write_secret(self.path, json.dumps({k: asdict(v) for k, v in self._sessions.items()}).encode())
        except OSError as exc:  # sessions then last until the agent restarts
            log.warning("service page: sessions not stored in %s: %s", self.path, exc)

    def _prune(self) -> None:
        now = self._now()
        self._sessions = {k: s for k, s in self._sessions.items() if s.created <= now < s.expires}

    def create(self, role: str, source: str, password_id: str = "") -> tuple[str, Session]:
        """A new session: (the token for the cookie, the session)."""
        self._prune()
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=lambda k: self._sessions[k].created)
            del self._sessions[oldest]
        token = secrets.token_urlsafe(32)
        now = self._now()
        session = Session(role, now, now + self.lifetime_s, secrets.token_urlsafe(32), source, password_id)
        self._sessions[_digest(token)] = session
        self._save()
        return token, session

    def get(self, token: str | None, password_ids: dict[str, str] | None = None) -> tuple[Session | None, bool]:
        """(the session of ``token`` or None, whether it existed and has expired); with
        ``password_ids``, a session whose role's password changed since has expired too."""
        if not token:
            return None, False
        key = _digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None, False
        now = self._now()
        stale = password_ids is not None and password_ids.get(session.role) != session.password_id
        if stale or not session.created <= now < session.expires:
            del self._sessions[key]
            self._save()
            return None, True
        return session, False

    def end(self, token: str | None) -> None:
        if token and self._sessions.pop(_digest(token), None) is not None:
            self._save()


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), sent.encode())


# ---- throttling ------------------------------------------------------------------------------


@dataclass
class _Source:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Failed logins, per client address and in all (monotonic times passed in)."""

    def __init__(self, free_failures: int = FREE_FAILURES, lock_base_s: float = LOCK_BASE_S,
                 lock_max_s: float = LOCK_MAX_S, global_failures: int = GLOBAL_FAILURES,
                 global_window_s: float = GLOBAL_WINDOW_S) -> None:
        self.free_failures = free_failures
        self.lock_base_s = lock_base_s
        self.lock_max_s = lock_max_s
        self.global_failures = global_failures
        self.global_window_s = global_window_s
        self._sources: collections.OrderedDict[str, _Source] = collections.OrderedDict()
        self._recent: collections.deque[float] = collections.deque()

    def wait_s(self, source: str, now: float) -> float:
        """Seconds before ``source`` may try again (0: now)."""
        while self._recent and self._recent[0] <= now - self.global_window_s:
            self._recent.popleft()
        wait = 0.0
        if len(self._recent) >= self.global_failures:
            wait = self._recent[0] + self.global_window_s - now
        entry = self._sources.get(source)
        if entry is not None:
            wait = max(wait, entry.locked_until - now)
        return max(0.0, wait)

    def failed(self, source: str, now: float) -> float:
        """Record a failure; the lock it earned (0: none yet)."""
        self._recent.append(now)
        entry = self._sources.pop(source, None) or _Source()
        self._sources[source] = entry
        while len(self._sources) > MAX_SOURCES:
            self._sources.popitem(last=False)
        entry.failures += 1
        over = entry.failures - self.free_failures
        if over < 0:
            return 0.0
        lock = min(self.lock_max_s, self.lock_base_s * (2 ** over))
        entry.locked_until = now + lock
        return lock

    def succeeded(self, source: str) -> None:
        self._sources.pop(source, None)


def private_file_owner(path: Path, like: Path) -> None:
    """Give ``path`` the owner of ``like`` (when run as root, e.g. ``sudo evse-agent
    service-password``, so the agent's own user can still read it)."""
    if os.geteuid() != 0:
        return
    try:
        st = like.stat()
        os.chown(path, st.st_uid, st.st_gid)
    except OSError as exc:
        log.warning("%s: cannot give it to the owner of %s: %s", path, like, exc)
