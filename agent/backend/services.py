"""The version-neutral services a backend adapter is handed by the composition root.

Each is a small Protocol of what an adapter may call; the objects behind them are built in
agent/app/composition.py (firmware updates, diagnostics, certificates and link security,
security events, what the person at the charger sees, the local authorization list,
charging limits, settings, the clock). The value types an adapter needs from them are
re-exported here, so an adapter imports the agent only through ``agent.core`` and
``agent.backend`` (the import contracts in setup.cfg say so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.backend.network_profiles import NetworkProfile, NetworkProfiles, ProfileRefused
from agent.backend.outbox import OutboxPump
from agent.backend.reports import ReportQueue
from agent.core.display_messages import DisplayMessage, MessagePriority, MessageState
from agent.core.pricing import ChargingPrice, Cost, DefaultPrice, Pricing, PricingError, Texts, TimeOffsets, amount, parse_offset
from agent.core.smart_charging import Composite, Kind, Limits, Period, Profile, ProfileRejected, Purpose, RateUnit, Recurrency, Schedule
from agent.core.smart_charging import conflicting
from agent.maintenance.diagnostics import DiagnosticsRequest, DiagnosticsStatus, LogReport
from agent.maintenance.firmware import FirmwareBusy, FirmwareStatus, Signed, SignedReport, UnsignedRefused
from agent.maintenance.transfer import UnsupportedLocation, redact_url
from agent.persistence.store import StorageError
from agent.security.certificate_operations import (
    DeleteResult,
    InstallResult,
    accept_signed_certificate,
    delete_root,
    install_root,
)
from agent.security.certificates import CertificateError, CertificateId, NotManaged, RootKind, StoreFull
from agent.security.events import SecurityEvent
from agent.security.firmware_signature import FirmwareSignatureError, check_signing_certificate
from agent.security.link_security import PASSWORD_BYTES
from agent.security.secret_files import learn_secret
from agent.station.authorization import ListEntry, UpdateStatus
from agent.ui.notes import DriverMessage as UserMessage
from agent.ui.notes import MessageBoard, Priority

__all__ = [
    "PASSWORD_BYTES", "AdapterServices", "ChargingPrice", "CertificateError", "CertificateId", "Composite", "Cost",
    "DefaultPrice", "DeleteResult", "DiagnosticsRequest", "InstallResult", "DiagnosticsStatus", "FirmwareBusy",
    "FirmwareSignatureError", "FirmwareStatus", "Kind", "Limits", "ListEntry", "LogReport", "MessageBoard", "NetworkProfile",
    "NetworkProfiles", "NotManaged", "Period", "Pricing", "PricingError", "Priority", "Profile", "ProfileRefused",
    "ProfileRejected", "Purpose", "RateUnit", "Recurrency", "RootKind", "Schedule", "SecurityEvent", "Signed", "SignedReport",
    "StorageError", "StoreFull", "Texts", "TimeOffsets", "UnsignedRefused", "UnsupportedLocation", "UpdateStatus", "UserMessage",
    "accept_signed_certificate", "amount", "check_signing_certificate", "conflicting", "delete_root", "install_root", "learn_secret",
    "parse_offset", "redact_url",
]


class SettingsPort(Protocol):
    """The agent's run-time settings (agent/persistence/settings.py), persisted."""

    def __getitem__(self, name: str) -> Any: ...

    def set(self, name: str, value: Any) -> None: ...

    def on_change(self, listener: Callable[[str, Any], None]) -> None: ...


class KeyValuePort(Protocol):
    """Small persisted values an adapter keeps for itself (the store's settings table)."""

    def settings(self) -> dict[str, str]: ...

    def put_setting(self, key: str, value: str) -> None: ...


class ClockPort(Protocol):
    def now(self) -> dt.datetime: ...

    def iso(self) -> str: ...

    def sync(self, backend_time: str) -> None:
        """The backend's time (BootNotification / Heartbeat answers), within what the clock accepts."""
        ...


class LifecyclePort(Protocol):
    def request_restart(self, reason: str) -> None: ...


class LocalAuthPort(Protocol):
    """The local authorization list and the authorization cache (agent/station/authorization.py)."""

    def update_list(self, version: int, entries: list[ListEntry], *, full: bool) -> UpdateStatus: ...

    def list_version(self) -> int: ...

    def installed_list_version(self) -> int: ...

    def list_size(self) -> int: ...

    def clear_cache(self) -> bool: ...

    def remember(self, id_tag: str, info: Any, token_type: str | None = None) -> None:
        """An IdTokenInfo the backend sent (Authorize, transaction answers), of a token of
        ``token_type`` (OCPP 2.0.1; None: an OCPP 1.6 idTag)."""
        ...


class ChargingLimitsPort(Protocol):
    """Charging profiles and the limits they set (agent/station/charging_limits.py)."""

    def install(self, profile: Profile, *, same_level_replaces: bool = True) -> None: ...

    def clear(self, **criteria: Any) -> bool: ...

    def add_pending(self, profile: Profile, connector_id: int | None, id_tag: str) -> None: ...

    def drop_pending(self, id_tag: str) -> None: ...

    def composite(self, connector_id: int, duration_s: int, unit: RateUnit) -> tuple[dt.datetime, Composite]: ...

    def count(self) -> int: ...

    def profiles(self) -> list[Profile]: ...


class FirmwarePort(Protocol):
    """Firmware updates (agent/maintenance/firmware.py)."""

    status: FirmwareStatus
    request_id: int | None
    allow_unsigned: bool  # updates no signature vouches for (the operator's local choice)

    def check(self, location: str) -> None: ...

    def pending(self) -> bool: ...

    def update(self, location: str, retrieve_at: dt.datetime, retries: int | None, retry_interval_s: float | None,
               signed: Signed | None = None, request_id: int | None = None) -> bool: ...


class DiagnosticsPort(Protocol):
    """Diagnostics archives and log uploads (agent/maintenance/diagnostics.py)."""

    status: DiagnosticsStatus
    request_id: int | None

    @property
    def busy(self) -> bool: ...

    def request(self, location: str, start: dt.datetime | None, stop: dt.datetime | None, retries: int | None,
                retry_interval_s: float | None, *, security_log: bool = False,
                request_id: int | None = None) -> DiagnosticsRequest: ...

    def start(self, request: DiagnosticsRequest) -> None: ...


class CertificatesPort(Protocol):
    """The certificate store (agent/security/certificates.py)."""

    max_certificates: int

    def roots(self, kind: RootKind) -> list[Any]: ...

    def install_root(self, kind: RootKind, pem: str, now: dt.datetime) -> CertificateId: ...

    def ids(self, kind: RootKind, algorithm: str = "SHA256") -> list[CertificateId]: ...

    def find(self, wanted: CertificateId) -> tuple[RootKind, Any] | None: ...

    def delete(self, wanted: CertificateId) -> RootKind | None: ...

    def new_csr(self, common_name: str, organization: str) -> str: ...

    def accept_signed_chain(self, pem_chain: str, trusted: list[Any], now: dt.datetime) -> Any: ...


class LinkSecurityPort(Protocol):
    """Security profiles, the AuthorizationKey and the charge point certificate of the link
    (agent/security/link_security.py)."""

    certificates: CertificatesPort

    @property
    def profile(self) -> int: ...

    @property
    def additional_root_certificate_check(self) -> bool: ...

    def certificate_operations_refused(self) -> str | None: ...

    def new_root_refused(self, pem: str) -> str | None: ...

    def root_installed(self, installed: CertificateId) -> None: ...

    def raise_profile(self, new: int) -> str | None: ...

    def set_authorization_key(self, text: str, allowed: range = ...) -> str | None: ...

    def use_client_certificate(self, installed: Any) -> None: ...

    def reconnect_if_due(self) -> None: ...

    def trusted_roots(self) -> list[Any]: ...


class SecurityEventsPort(Protocol):
    def record(self, event: SecurityEvent, tech_info: str | None = None) -> None: ...


class DisplayMessagesPort(Protocol):
    """The backend's display messages, stored (agent/station/display_messages.py)."""

    max_messages: int

    def full(self, message_id: int) -> bool: ...

    def put(self, message: DisplayMessage) -> None: ...

    def clear(self, message_id: int) -> bool: ...

    def all(self) -> list[DisplayMessage]: ...

    def find(self, ids: list[int] | None = None, priority: MessagePriority | None = None,
             state: MessageState | None = None) -> list[DisplayMessage]: ...


class UserInfoPort(Protocol):
    """What the person at the charger sees (agent/ui): prices and costs, backend messages."""

    pricing: Pricing
    messages: MessageBoard
    default_price_text: str  # the configuration's, until the backend sets one
    display_messages: DisplayMessagesPort | None  # OCPP 2.0.1 SetDisplayMessage messages (block O)

    def changed(self) -> None:
        """Something shown changed: redraw now."""
        ...


class CustomerDataPort(Protocol):
    """The data the station holds about a customer, by idToken (agent/station/customer_data.py):
    one line per place it is held (N09 report) or was cleared or kept (N10 clear)."""

    def report(self, id_token: str) -> list[str]: ...

    def clear(self, id_token: str) -> list[str]: ...


DataTransferHandler = Callable[[str | None, str | None], tuple[str, str | None]]


@dataclass
class AdapterServices:
    """Everything neutral an adapter works with besides the station port."""

    settings: SettingsPort
    store: KeyValuePort
    clock: ClockPort
    lifecycle: LifecyclePort
    outbox: OutboxPump
    reports: ReportQueue
    local_auth: LocalAuthPort
    charging_limits: ChargingLimitsPort
    security: LinkSecurityPort
    security_events: SecurityEventsPort
    user_info: UserInfoPort
    firmware: FirmwarePort | None = None
    diagnostics: DiagnosticsPort | None = None
    # The network connection profiles the link connects with (OCPP 2.0.1 B09/B10).
    network: NetworkProfiles | None = None
    # Vendor DataTransfer handlers by vendorId: (messageId, data) -> (status, data).
    data_transfer: dict[str, DataTransferHandler] = field(default_factory=dict)
    # Told once per start when the backend accepts the station (a new release confirms itself).
    on_registered: Callable[[], None] = lambda: None
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The customer data held by idToken (OCPP 2.0.1 N09/N10 CustomerInformation).
    customer_data: CustomerDataPort | None = None
