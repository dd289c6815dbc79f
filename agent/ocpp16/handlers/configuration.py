"""GetConfiguration (OCPP 1.6 §5.8) and ChangeConfiguration (§5.3) over the keys of
agent/ocpp16/keys.py; a raised SecurityProfile or a new AuthorizationKey is put to use by a
reconnect once the answer is on its way."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ocpp.routing import after, on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, ConfigurationStatus

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)


class ConfigurationHandlers:
    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self.keys = adapter.keys
        self.security = adapter.services.security

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        known, unknown = self.keys.get(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> Any:
        result = self.keys.change(key, value)
        shown = "<write-only>" if key.casefold() == "authorizationkey" else value  # never log the password
        log.info("ChangeConfiguration %s=%s: %s", key, shown, result.value)
        return call_result.ChangeConfiguration(status=ConfigurationStatus(result.value))

    # A raised SecurityProfile or a new AuthorizationKey (agent/ocpp16/security_keys.py).
    @after(Action.change_configuration)
    async def after_change_configuration(self, key: str, value: str) -> None:
        self.security.reconnect_if_due()
