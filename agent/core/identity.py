"""Who charges and where: id tokens, EVSEs and their connectors, whatever the OCPP version.

OCPP 1.6 knows an idTag (a string) and a connector id; OCPP 2.0.1 an IdToken (value and type)
and an EVSE with connectors. The core keeps the richer form; the 1.6 adapter reads the value
and uses the EVSE id as its connector id (the station has one connector per EVSE today).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class IdTokenType(enum.Enum):
    """OCPP 2.0.1 IdTokenEnumType (the same spelling)."""

    CENTRAL = "Central"  # made up by the backend (a remote start)
    E_MAID = "eMAID"  # an e-mobility account id (ISO 15118 / Plug & Charge)
    ISO14443 = "ISO14443"  # the UID of a contactless card (Mifare, DESFire, ...)
    ISO15693 = "ISO15693"  # the UID of a vicinity card
    KEY_CODE = "KeyCode"  # typed on a keypad
    LOCAL = "Local"  # made up by the station (free vend)
    MAC_ADDRESS = "MacAddress"  # the EV's MAC address (Autocharge)
    NO_AUTHORIZATION = "NoAuthorization"  # no token: the transaction needs none


@dataclass(frozen=True)
class IdToken:
    value: str
    type: IdTokenType = IdTokenType.ISO14443

    def __str__(self) -> str:
        return self.value

    def same(self, other: IdToken | str | None) -> bool:
        """The same identifier: values compare case-insensitively (OCPP 1.6 CiString20,
        OCPP 2.0.1 §C "case insensitive" identifiers)."""
        if other is None:
            return False
        value = other.value if isinstance(other, IdToken) else other
        return self.value.casefold() == value.casefold()


def card(uid_hex: str) -> IdToken:
    """A contactless card's UID (uppercase hex) as read by a reader."""
    return IdToken(uid_hex, IdTokenType.ISO14443)


def central(value: str) -> IdToken:
    """A token the backend names in a remote start (OCPP 1.6 idTag; 2.0.1 gives its own type)."""
    return IdToken(value, IdTokenType.CENTRAL)


@dataclass(frozen=True, order=True)
class ConnectorRef:
    """A connector of an EVSE: OCPP 2.0.1 (evse id, connector id); OCPP 1.6's connectorId is
    the EVSE id (one connector per EVSE)."""

    evse_id: int
    connector_id: int = 1
