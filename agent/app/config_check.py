"""What ``evse-agent check-config`` checks beyond the file's schema (agent/app/config.py): the
settings the file sets, the files it names (CA bundle, client certificate, the service page's
certificate) and the manufacturer roots. The service page's form runs the same (agent/service/config_edit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.app.config import AgentConfig, ConfigError


def initial_settings(config: AgentConfig) -> dict[str, Any]:
    """The settings the configuration file sets (``[ocpp.keys]``, OCPP 1.6 key names)."""
    from agent.ocpp16.keys import KeysError
    from agent.ocpp16.keys import initial_settings as from_keys

    try:
        return from_keys(config.ocpp.keys, len(config.connectors))
    except KeysError as exc:
        raise ConfigError(str(exc)) from None


def check(config: AgentConfig) -> None:
    """Checks that need more than the schema (raises ConfigError)."""
    from agent.security.link_security import check_files
    from agent.security.setup import manufacturer_roots

    initial_settings(config)
    check_files(config)
    check_service_page_files(config)
    try:
        manufacturer_roots(config)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_service_page_files(config: AgentConfig) -> None:
    """The operator's certificate and key load (check-config; raises ConfigError)."""
    page = config.service_page
    if page.listen and page.cert:
        from agent.service.tls import server_context

        try:
            server_context(Path(page.cert), Path(page.key))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"service_page.cert, service_page.key: cannot be used: {exc}") from None
