"""OCPP 1.6 Local Auth List Management profile and ClearCache, over the neutral local list
and cache (agent/backend/services.py LocalAuthPort).

§5.15 SendLocalList, §5.10 GetLocalListVersion, §5.4 ClearCache (Core), and the
translation between the wire's IdTagInfo (§7.20) and the agent's neutral one.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, ClearCacheStatus, UpdateStatus, UpdateType

from agent.backend.ports import AuthorizationStatus, IdTagInfo
from agent.backend.services import ListEntry, LocalAuthPort

log = logging.getLogger(__name__)


def id_tag_info(wire: dict[str, Any]) -> IdTagInfo:
    """§7.20 IdTagInfo (as the library hands it over, snake_case) → neutral; ValueError if malformed."""
    status = AuthorizationStatus(wire["status"])
    expiry = None
    if wire.get("expiry_date"):
        expiry = dt.datetime.fromisoformat(wire["expiry_date"].replace("Z", "+00:00"))
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=dt.timezone.utc)  # OCPP-J §3.1.4: times are UTC
    return IdTagInfo(status, expiry, wire.get("parent_id_tag"))


class LocalAuthListHandlers:
    def __init__(self, local_auth: LocalAuthPort) -> None:
        self.local = local_auth

    # §5.15 SendLocalList
    @on(Action.send_local_list)
    def on_send_local_list(self, list_version: int, update_type: str, local_authorization_list: list | None = None):
        try:
            entries = [
                ListEntry(item["id_tag"], id_tag_info(item["id_tag_info"]) if item.get("id_tag_info") else None)
                for item in local_authorization_list or []
            ]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("SendLocalList %d: bad entry (%r), list left as it was", list_version, exc)
            return call_result.SendLocalList(status=UpdateStatus.failed)
        full = update_type == UpdateType.full
        result = self.local.update_list(list_version, entries, full=full)
        log.info("SendLocalList %s v%d, %d entries: %s", update_type, list_version, len(entries), result.value)
        return call_result.SendLocalList(status=UpdateStatus(result.value))

    # §5.10 GetLocalListVersion
    @on(Action.get_local_list_version)
    def on_get_local_list_version(self):
        return call_result.GetLocalListVersion(list_version=self.local.list_version())

    # §5.4 ClearCache
    @on(Action.clear_cache)
    def on_clear_cache(self):
        cleared = self.local.clear_cache()
        log.info("ClearCache: %s", "cleared" if cleared else "rejected, the cache is disabled")
        return call_result.ClearCache(status=ClearCacheStatus.accepted if cleared else ClearCacheStatus.rejected)
