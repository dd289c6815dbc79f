"""Local authorization: the local authorization list, the authorization cache, and the
rules that decide whether an idTag may charge (OCPP 1.6 §3.5, version-neutral).

- The local authorization list (§3.5.3) is the backend's: versioned, replaced (Full) or
  edited (Differential) as a whole, never touched by anything else.
- The authorization cache (§3.5.2) remembers every idTagInfo the backend sent
  (Authorize, StartTransaction, StopTransaction confirmations), except for idTags
  that are in the list: the list wins over the cache.
- An entry whose expiry date has passed counts as Expired (§3.5.2).
- OCPP 2.0.1 names a token by value and type (§2.28 IdTokenType): an entry keeps the type it
  was given (migration 11) and then stands for that type only; an entry without one (OCPP 1.6,
  whose idTags have no type) for a value of any type. A lookup without a type (1.6) finds either.
  The value stays the key: a list holds one entry per value, whatever its type.

Both live in SQLite (tables from migration 2 in ``agent/persistence/store.py``) and survive restarts.
Nothing here awaits anything except ``Authorizer.authorize`` / ``parent_of``, which ask
the backend through ``agent.backend.ports.BackendPort``.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.backend.ports import AuthorizationStatus, BackendPort, IdTagInfo
from agent.core.identity import IdToken
from agent.persistence.settings import Settings
from agent.persistence.store import Store

log = logging.getLogger(__name__)

# The cache is bounded; when it is full, the entries the backend confirmed longest ago
# go first (§3.5.2 leaves the policy to the charge point).
CACHE_MAX_ENTRIES = 1000


class UpdateStatus(enum.Enum):
    """Result of a list update (OCPP 1.6 §7.47 UpdateStatus, same spelling)."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    VERSION_MISMATCH = "VersionMismatch"


@dataclass(frozen=True)
class ListEntry:
    """One item of a list update; ``info`` None deletes the idTag (Differential only)."""

    id_tag: str
    info: IdTagInfo | None
    token_type: str | None = None  # OCPP 2.0.1 IdTokenEnumType; None: any (1.6)


@dataclass(frozen=True)
class Verdict:
    """Whether an idTag may charge, its parent (group) idTag, and why, for the log."""

    accepted: bool
    parent_id_tag: str | None
    why: str


class LocalAuthorization:
    """The local authorization list and the authorization cache, persisted in ``store``."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        now: Callable[[], dt.datetime],
        cache_max_entries: int = CACHE_MAX_ENTRIES,
    ) -> None:
        self._store = store
        self._settings = settings
        self._now = now
        self._cache_max_entries = cache_max_entries

    # ---- the local authorization list (§3.5.3, §5.10, §5.15) -------------------------

    @property
    def list_enabled(self) -> bool:
        return bool(self._settings["local_auth_list_enabled"])

    def list_version(self) -> int:
        """§5.10: -1 when the list is not in use, 0 when it is empty, else its version."""
        if not self.list_enabled:
            return -1
        if self.list_size() == 0:
            return 0
        return self._store.execute("SELECT list_version FROM local_auth_meta").fetchone()[0]

    def installed_list_version(self) -> int:
        """OCPP 2.0.1 D02.FR.01: the version of the list the backend installed last, also when
        that list is empty (D01.FR.18: 0 means no list is installed); 0 when the list is off."""
        if not self.list_enabled:
            return 0
        return self._store.execute("SELECT list_version FROM local_auth_meta").fetchone()[0]

    def list_size(self) -> int:
        return self._store.execute("SELECT count(*) FROM local_auth_list").fetchone()[0]

    def update_list(self, version: int, entries: list[ListEntry], *, full: bool) -> UpdateStatus:
        """§5.15 SendLocalList: apply a Full or Differential update, all or nothing."""
        if not self.list_enabled:
            return UpdateStatus.NOT_SUPPORTED
        if len(entries) > self._settings["send_local_list_max_length"]:
            log.warning("local list: update of %d entries exceeds SendLocalListMaxLength", len(entries))
            return UpdateStatus.FAILED
        if len({e.id_tag.upper() for e in entries}) != len(entries):
            log.warning("local list: update names an idTag twice")
            return UpdateStatus.FAILED
        if full and any(e.info is None for e in entries):
            log.warning("local list: a Full update entry has no idTagInfo")
            return UpdateStatus.FAILED
        if not full and version <= self.list_version():
            return UpdateStatus.VERSION_MISMATCH
        try:
            with self._store.atomic():
                if full:
                    self._store.execute("DELETE FROM local_auth_list")
                for entry in entries:
                    if entry.info is None:
                        self._store.execute("DELETE FROM local_auth_list WHERE id_tag=?", (entry.id_tag,))
                    else:
                        self._store.execute(
                            """INSERT INTO local_auth_list(id_tag, status, expiry, parent_id_tag, token_type)
                               VALUES (?,?,?,?,?) ON CONFLICT(id_tag) DO UPDATE SET status=excluded.status,
                               expiry=excluded.expiry, parent_id_tag=excluded.parent_id_tag,
                               token_type=excluded.token_type""",
                            (*_row(entry.id_tag, entry.info), entry.token_type),
                        )
                size = self.list_size()
                if size > self._settings["local_auth_list_max_length"]:
                    raise _ListTooLong(size)  # rolls the whole update back: the old list stays
                self._store.execute("UPDATE local_auth_meta SET list_version=?", (version,))
        except _ListTooLong as exc:
            log.warning("local list: %d entries would exceed LocalAuthListMaxLength", exc.args[0])
            return UpdateStatus.FAILED
        return UpdateStatus.ACCEPTED

    def list_entry(self, id_tag: str, token_type: str | None = None) -> IdTagInfo | None:
        if not self.list_enabled:
            return None
        return self._read("local_auth_list", id_tag, token_type)

    # ---- the authorization cache (§3.5.2, §5.4) --------------------------------------

    @property
    def cache_enabled(self) -> bool:
        return bool(self._settings["authorization_cache_enabled"])

    def remember(self, id_tag: str, info: IdTagInfo, token_type: str | None = None) -> None:
        """An idTagInfo from the backend: cache it, unless the idTag is in the list (§4.1)."""
        if not self.cache_enabled or self.list_entry(id_tag, token_type) is not None:
            return
        with self._store.atomic():
            self._store.execute(
                """INSERT INTO auth_cache(id_tag, status, expiry, parent_id_tag, updated_at, token_type)
                   VALUES (?,?,?,?,?,?) ON CONFLICT(id_tag) DO UPDATE SET status=excluded.status,
                   expiry=excluded.expiry, parent_id_tag=excluded.parent_id_tag, updated_at=excluded.updated_at,
                   token_type=excluded.token_type""",
                (*_row(id_tag, info), time.time(), token_type),
            )
            surplus = self.cache_size() - self._cache_max_entries
            if surplus > 0:
                self._store.execute(
                    """DELETE FROM auth_cache WHERE id_tag IN (SELECT id_tag FROM auth_cache
                       WHERE id_tag != ? ORDER BY updated_at, rowid LIMIT ?)""",
                    (id_tag, surplus),
                )

    def cached(self, id_tag: str, token_type: str | None = None) -> IdTagInfo | None:
        """The cached idTagInfo; an entry not used for AuthCacheCtrlr.LifeTime is gone (OCPP 2.0.1
        §2.4.3; 1.6 leaves the policy to the charge point), one used is kept longer (LRU)."""
        if not self.cache_enabled:
            return None
        info = self._read("auth_cache", id_tag, token_type)
        if info is None:
            return None
        now = time.time()
        with self._store.atomic():
            row = self._store.execute("SELECT updated_at FROM auth_cache WHERE id_tag=?", (id_tag,)).fetchone()
            if row is not None and now - row["updated_at"] > self._settings["auth_cache_lifetime_s"]:
                self._store.execute("DELETE FROM auth_cache WHERE id_tag=?", (id_tag,))
                log.info("cache: %s not used for AuthCacheLifeTime, forgotten", id_tag)
                return None
            self._store.execute("UPDATE auth_cache SET updated_at=? WHERE id_tag=?", (now, id_tag))
        return info

    def cache_size(self) -> int:
        return self._store.execute("SELECT count(*) FROM auth_cache").fetchone()[0]

    def clear_cache(self) -> bool:
        """§5.4 ClearCache: False (Rejected) when the cache is disabled."""
        if not self.cache_enabled:
            return False
        with self._store.atomic():
            self._store.execute("DELETE FROM auth_cache")
        return True

    # ---- both ------------------------------------------------------------------------

    def lookup(self, id_tag: str, token_type: str | None = None) -> IdTagInfo | None:
        """What is known locally about ``id_tag`` (of ``token_type``, None: any): the list
        first, then the cache (§3.5.3)."""
        info = self.list_entry(id_tag, token_type)
        if info is None:
            info = self.cached(id_tag, token_type)
        return info

    def post_authorize_disabled(self, id_tag: str, token_type: str | None = None) -> bool:
        """OCPP 2.0.1 §2.4.6 AuthCacheDisablePostAuthorize / §2.5.6 LocalAuthListDisablePostAuthorize:
        a token the list (or, not listed, the cache) holds as not Accepted is refused without
        asking the backend again (otherwise C10/C12/C14 ask it)."""
        listed = self.list_entry(id_tag, token_type)
        if listed is not None:
            return bool(self._settings["local_auth_list_disable_post_authorize"])
        return self.cached(id_tag, token_type) is not None and bool(self._settings["auth_cache_disable_post_authorize"])

    def _read(self, table: str, id_tag: str, token_type: str | None = None) -> IdTagInfo | None:
        try:
            row = self._store.execute(
                f"SELECT status, expiry, parent_id_tag, token_type FROM {table} WHERE id_tag=?", (id_tag,)
            ).fetchone()
        except (sqlite3.Error, UnicodeError) as exc:  # an idTag SQLite cannot take is not known here
            log.warning("%s: %r cannot be looked up: %s", table, id_tag, exc)
            return None
        if row is None or token_type is not None and row["token_type"] not in (None, token_type):
            return None  # OCPP 2.0.1 §2.28: the same value of another type is another token
        expiry = dt.datetime.fromisoformat(row["expiry"]) if row["expiry"] else None
        status = AuthorizationStatus(row["status"])
        if status is AuthorizationStatus.ACCEPTED and expiry is not None and expiry <= self._now():
            status = AuthorizationStatus.EXPIRED  # §3.5.2: valid once, expired by the passage of time
        return IdTagInfo(status, expiry, row["parent_id_tag"])


class _ListTooLong(Exception):
    pass


def _row(id_tag: str, info: IdTagInfo) -> tuple[str, str, str | None, str | None]:
    expiry = info.expiry.astimezone(dt.timezone.utc).isoformat() if info.expiry else None
    return id_tag, info.status.value, expiry, info.parent_id_tag


def offline_verdict(known: IdTagInfo | None, settings: Settings) -> Verdict:
    """The backend cannot be asked: decide from what is known locally (§3.5, §3.5.4)."""
    if known is not None and known.status is not AuthorizationStatus.ACCEPTED:
        # §3.5.4: known identifiers that are not valid (or expired by time) MUST be rejected.
        return Verdict(False, known.parent_id_tag, f"offline, locally {known.status.value}")
    if known is not None and settings["local_authorize_offline"]:
        return Verdict(True, known.parent_id_tag, "offline, accepted by the local list/cache")
    if settings["allow_offline_tx_for_unknown_id"]:
        return Verdict(True, None, "offline, unknown idTag allowed (AllowOfflineTxForUnknownId)")
    return Verdict(False, None, "offline, unknown idTag refused")


class Authorizer:
    """Decides for the station whether an idTag may charge, asking the backend when it can."""

    def __init__(self, local: LocalAuthorization, settings: Settings) -> None:
        self.local = local
        self._settings = settings

    async def authorize(self, id_tag: str, backend: BackendPort | None, token: IdToken | None = None) -> Verdict:
        """``token``: the idToken with its type, when known (a card; a remote start's, named by the backend)."""
        token_type = token.type.value if token is not None else None
        known = self.local.lookup(id_tag, token_type)
        if backend is not None and backend.online:
            if (
                self._settings["local_pre_authorize"]
                and known is not None
                and known.status is AuthorizationStatus.ACCEPTED
            ):
                # §3.5.1 LocalPreAuthorize: start at once, without asking the backend.
                return Verdict(True, known.parent_id_tag, "accepted locally (LocalPreAuthorize)")
            if (known is not None and known.status is not AuthorizationStatus.ACCEPTED
                    and self.local.post_authorize_disabled(id_tag, token_type)):
                return Verdict(False, known.parent_id_tag, f"locally {known.status.value}, not asked again "
                                                           "(DisablePostAuthorize)")
            info = await backend.authorize(token or IdToken(id_tag))  # the adapter caches what it is told
            if info is not None:
                accepted = info.status is AuthorizationStatus.ACCEPTED
                return Verdict(accepted, info.parent_id_tag, f"backend: {info.status.value}")
            known = self.local.lookup(id_tag, token_type)
        return offline_verdict(known, self._settings)

    async def parent_of(self, id_tag: str, backend: BackendPort | None, token: IdToken | None = None) -> str | None:
        """The idTag's parent (group) idTag: known locally, else asked of the backend (§5.16)."""
        info = self.local.lookup(id_tag, token.type.value if token is not None else None)
        if info is None and backend is not None and backend.online:
            info = await backend.authorize(token or IdToken(id_tag))  # the adapter caches what it is told
        # Only a card that is itself valid speaks for its group.
        if info is None or info.status is not AuthorizationStatus.ACCEPTED:
            return None
        return info.parent_id_tag

