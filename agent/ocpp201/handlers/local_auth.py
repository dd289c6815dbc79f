"""Functional blocks C and D in what the backend asks: ClearCache (C11), GetLocalListVersion
(D02) and SendLocalList (D01), over the neutral local list and cache (LocalAuthPort).

The list keys by the idToken's value and keeps its type (Part 2 §2.28): a listed token stands
for its type only; the neutral list is shared with OCPP 1.6, whose idTags have no type.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from agent.backend.services import ListEntry, LocalAuthPort
from agent.ocpp201.mapping import id_token_info

log = logging.getLogger(__name__)


class LocalAuthHandlers:
    def __init__(self, local_auth: LocalAuthPort) -> None:
        self.local = local_auth

    # D01 SendLocalList: Full replaces the list, Differential adds, changes and (no
    # idTokenInfo) removes entries; a version not newer than ours is a VersionMismatch.
    @on(Action.send_local_list)
    def on_send_local_list(self, version_number: int, update_type: str,
                           local_authorization_list: list[dict[str, Any]] | None = None, **_: Any) -> Any:
        try:
            entries = [
                ListEntry(item["id_token"]["id_token"],
                          id_token_info(item["id_token_info"]) if item.get("id_token_info") else None,
                          item["id_token"]["type"])
                for item in local_authorization_list or []
            ]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("SendLocalList %d: bad entry (%r), list left as it was", version_number, exc)
            return call_result.SendLocalList(status="Failed", status_info={"reason_code": "InvalidEntry"})
        result = self.local.update_list(version_number, entries, full=update_type == "Full")
        log.info("SendLocalList %s v%d, %d entries: %s", update_type, version_number, len(entries), result.value)
        status = {"Accepted": "Accepted", "VersionMismatch": "VersionMismatch"}.get(result.value, "Failed")
        return call_result.SendLocalList(status=status)

    # D02 GetLocalListVersion: the version installed last, also of an empty list; 0 when no
    # list is installed (D01.FR.18) or the list is disabled (LocalAuthListCtrlr.Enabled false).
    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(version_number=self.local.installed_list_version())

    # C11 ClearCache: Rejected while the cache is off (C11.FR.04 AuthCacheCtrlr.Enabled false).
    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        cleared = self.local.clear_cache()
        log.info("ClearCache: %s", "cleared" if cleared else "rejected, the cache is disabled")
        return call_result.ClearCache(status="Accepted" if cleared else "Rejected")
