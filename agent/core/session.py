"""The charging session of one connector, as a pure state machine.

Rules of this module (after h11's ``_state.py``): everything that decides what a
connector does lives here. It performs no I/O and reads no clock: events go in
with the time they happened, commands come out, and the caller (``station``)
carries them out. That keeps the IEC 61851-1 / OCPP logic testable without an
event loop and shared by every OCPP version.

The connector status is derived from the facts held here (pilot, authorisation,
transaction, fault, availability) instead of being stored, so it cannot drift
from them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from agent.core.identity import IdTokenType
from agent.core.offer_pacing import OfferPacing
from agent.core.transaction_points import (
    ChargingState,
    EvseFacts,
    TransactionPoints,
    charging_state,
)
from drivers.interfaces import PilotState

# Below this the pilot PWM cannot signal a current: IEC 61851-1 Annex A.
MIN_OFFER_A = 6.0


class ConnectorStatus(enum.Enum):
    """Version-neutral connector status; OCPP 1.6 §4.9 uses the same names."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"
    RESERVED = "Reserved"


class Fault(enum.Enum):
    """Why a connector cannot charge; each maps to an OCPP error code in the adapter."""

    RCD = "rcd"  # residual current: GroundFailure
    EMERGENCY_STOP = "emergency_stop"  # e-stop pressed: Faulted until released
    WELDED = "welded"  # contactor feedback closed while commanded open: PowerSwitchFailure
    CONTACTOR = "contactor"  # contactor feedback open while commanded closed: PowerSwitchFailure
    RCM_TEST = "rcm_test"  # the RCM self-test did not trip: GroundFailure
    LOCK = "lock"  # the cable lock does not reach its position: ConnectorLockFailure
    PILOT = "pilot"  # pilot short / diode check: EVCommunicationError
    OVERCURRENT = "overcurrent"  # EV draws more than offered: OverCurrentFailure
    BOARD_COMM = "board_comm"  # EVSE board does not answer: InternalError
    METER_COMM = "meter_comm"  # meter does not answer: PowerMeterFailure
    STORAGE = "storage"  # transactions cannot be stored: nothing may be charged unbilled
    # A transaction's start could not be recorded for another reason: cleared at unplug.
    NOT_RECORDED = "not_recorded"
    HIGH_TEMPERATURE = "high_temperature"  # above the stop threshold (agent/station/thermal.py): suspends
    TEMP_SENSOR = "temp_sensor"  # the temperature sensor does not answer: suspends
    OTHER = "other"


# Faults after which the session cannot be continued safely: the transaction ends.
# A silent board or meter only suspends it; it resumes when the device is back.
ENDS_TRANSACTION = frozenset({Fault.RCD, Fault.PILOT, Fault.OVERCURRENT, Fault.STORAGE, Fault.OTHER,
                              Fault.EMERGENCY_STOP, Fault.WELDED, Fault.CONTACTOR, Fault.RCM_TEST,
                              Fault.NOT_RECORDED})


class StopReason(enum.Enum):
    """Why a transaction ended (OCPP 1.6 §7.45 Reason, same spelling)."""

    LOCAL = "Local"
    REMOTE = "Remote"
    EV_DISCONNECTED = "EVDisconnected"
    DEAUTHORIZED = "DeAuthorized"
    POWER_LOSS = "PowerLoss"
    REBOOT = "Reboot"
    SOFT_RESET = "SoftReset"
    HARD_RESET = "HardReset"
    UNLOCK_COMMAND = "UnlockCommand"
    EMERGENCY_STOP = "EmergencyStop"
    OTHER = "Other"
    # OCPP 2.0.1 only (§3.67 ReasonEnumType), reached only with its transaction points
    # (agent/core/transaction_points.py): no EV came within EVConnectionTimeOut; the EV stopped
    # taking energy while EnergyTransfer is a stop point.
    TIMEOUT = "Timeout"
    STOPPED_BY_EV = "StoppedByEV"


# ---- events (in) -------------------------------------------------------------------


@dataclass(frozen=True)
class PilotChanged:
    pilot: PilotState


@dataclass(frozen=True)
class CardPresented:
    id_tag: str
    parent_id_tag: str | None = None  # the card's group (OCPP 1.6 §5.16), when known
    token_type: str = "ISO14443"  # agent/core/identity.py IdTokenType: a contactless card's UID


@dataclass(frozen=True)
class AuthorizationResult:
    id_tag: str
    accepted: bool
    parent_id_tag: str | None = None


@dataclass(frozen=True)
class RemoteStartRequested:
    id_tag: str
    parent_id_tag: str | None = None  # its group, when known (a reservation may admit it)
    token_type: str = "Central"  # agent/core/identity.py IdTokenType: named by the backend
    remote_start_id: int | None = None  # OCPP 2.0.1 RequestStartTransaction remoteStartId


@dataclass(frozen=True)
class StopRequested:
    reason: StopReason
    id_tag: str | None = None  # the token that ended it, when one did (OCPP 2.0.1 C16 master pass)


@dataclass(frozen=True)
class TransactionRecorded:
    """The station stored the transaction's start and queued its StartTransaction (one
    database commit): only now may the session offer energy, which can then be billed.
    ``start`` is the StartTransaction command's: a late confirmation of an earlier start
    never counts for a newer transaction."""

    start: int


@dataclass(frozen=True)
class TransactionRejected:
    """StartTransaction.conf came back with an idTagInfo that is not Accepted."""

    stop: bool  # StopTransactionOnInvalidId: stop (True) or only stop offering energy (False)


@dataclass(frozen=True)
class FaultRaised:
    fault: Fault


@dataclass(frozen=True)
class FaultCleared:
    fault: Fault


@dataclass(frozen=True)
class AvailabilityChanged:
    available: bool


@dataclass(frozen=True)
class LimitChanged:
    """The current the connector may offer (config maximum, smart charging, ...)."""

    amps: float


@dataclass(frozen=True)
class DerateChanged:
    """Thermal derating (agent/station/thermal.py), kept apart from ``LimitChanged``; None = none."""

    amps: float | None


@dataclass(frozen=True)
class Tick:
    """Time passes; timeouts are checked."""


class ReserveResult(enum.Enum):
    """Answer to a reservation request (OCPP 1.6 ReserveNow.conf ReservationStatus, same spelling)."""

    ACCEPTED = "Accepted"
    OCCUPIED = "Occupied"
    FAULTED = "Faulted"
    UNAVAILABLE = "Unavailable"
    REJECTED = "Rejected"


@dataclass(frozen=True)
class Reservation:
    """The connector is held for ``id_tag`` (or its group) until ``expires_at`` (monotonic)."""

    reservation_id: int
    id_tag: str
    parent_id_tag: str | None
    expires_at: float


class HeldFor(Protocol):
    """Whom a reservation is held for: an idTag and its group."""

    @property
    def id_tag(self) -> str: ...

    @property
    def parent_id_tag(self) -> str | None: ...


def admits(reservation: HeldFor, id_tag: str, parent_id_tag: str | None = None) -> bool:
    """OCPP 1.6 §3.12.1: the incoming idTag or its parent idTag matches the reservation's idTag
    or its parent idTag."""
    return bool(({id_tag, parent_id_tag} & {reservation.id_tag, reservation.parent_id_tag}) - {None})


@dataclass(frozen=True)
class ReservationMade:
    """OCPP 1.6 §3.12.1: the station asks ``Session.reserve_result`` first; the same id replaces."""

    reservation: Reservation


@dataclass(frozen=True)
class ReservationCancelled:
    reservation_id: int


@dataclass(frozen=True)
class CableChanged:
    """The board sees a cable in the socket outlet (its PP resistor) or no longer does."""

    present: bool


@dataclass(frozen=True)
class UnlockRequested:
    """UnlockConnector (OCPP 1.6 §5.18): end the transaction, let the cable go."""


@dataclass(frozen=True)
class LockChanged:
    """The connector's cable lock reached a position (agent/station/safety_io.py): ``locked`` or not."""

    locked: bool


@dataclass(frozen=True)
class KeptForReservation:
    """OCPP 1.6 §3.12.1: this is the last connector free for the charge point's reservation
    (connector 0), so it is held for that idTag and shows Reserved (``kept``), or no longer is."""

    kept: bool


@dataclass(frozen=True)
class TransactionRestored:
    """After a restart, a transaction found open in storage goes on with the EV still plugged."""

    id_tag: str
    pilot: PilotState


Event = (
    PilotChanged
    | CardPresented
    | AuthorizationResult
    | RemoteStartRequested
    | StopRequested
    | TransactionRecorded
    | TransactionRejected
    | FaultRaised
    | FaultCleared
    | AvailabilityChanged
    | LimitChanged
    | DerateChanged
    | Tick
    | TransactionRestored
    | ReservationMade
    | ReservationCancelled
    | KeptForReservation
    | LockChanged
    | CableChanged
    | UnlockRequested
)

# ---- commands (out) ----------------------------------------------------------------


@dataclass(frozen=True)
class Authorize:
    id_tag: str


class StartTrigger(enum.Enum):
    """What made a transaction start (OCPP 2.0.1 TriggerReasonEnumType, the same spelling)."""

    AUTHORIZED = "Authorized"  # the EV was plugged in; then the card was accepted
    CABLE_PLUGGED_IN = "CablePluggedIn"  # the card was accepted; then the EV was plugged in
    REMOTE_START = "RemoteStart"  # the backend started it with the EV plugged in
    CHARGING_STATE_CHANGED = "ChargingStateChanged"  # the EV began to draw (TxStartPoint EnergyTransfer)


@dataclass(frozen=True)
class StartTransaction:
    id_tag: str
    reservation_id: int | None = None  # the reservation this transaction used (OCPP 1.6 §3.12.1)
    start: int = field(default=0, compare=False)  # numbers the starts, for TransactionRecorded
    trigger: StartTrigger = field(default=StartTrigger.AUTHORIZED, compare=False)
    token_type: str = field(default="ISO14443", compare=False)  # IdTokenType of ``id_tag``
    remote_start_id: int | None = field(default=None, compare=False)  # the remote start it follows
    # When the session reports charging states (TransactionPoints.report_charging_state): the
    # state at the start; ``id_tag`` "" = started before anyone was authorized (EVConnected).
    charging_state: ChargingState | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StopTransaction:
    reason: StopReason
    id_tag: str | None  # the card that stopped it, if one did
    charging_state: ChargingState | None = field(default=None, compare=False)  # after it (when reported)


@dataclass(frozen=True)
class TransactionAuthorized:
    """A transaction that started before anyone was authorized (TxStartPoint EVConnected) is
    authorized now (OCPP 2.0.1 E01.FR.02: TransactionEvent Updated with the idToken)."""

    id_tag: str
    token_type: str
    trigger: StartTrigger
    remote_start_id: int | None = None


@dataclass(frozen=True)
class TransactionDeauthorized:
    """The driver stopped the authorization of a transaction that does not end with it
    (Authorized is no stop point): no more energy, the transaction goes on until the EV leaves."""

    reason: StopReason
    id_tag: str | None


@dataclass(frozen=True)
class ChargingStateChanged:
    """The charging state of the running transaction changed (OCPP 2.0.1 §3.16); ``trigger``:
    what changed it (§3.84 TriggerReasonEnumType)."""

    state: ChargingState
    trigger: str = "ChargingStateChanged"


@dataclass(frozen=True)
class OfferCurrent:
    amps: float  # 0 = no energy: PWM off, contactor open


@dataclass(frozen=True)
class StatusChanged:
    status: ConnectorStatus
    fault: Fault | None


@dataclass(frozen=True)
class CardIgnored:
    """A card was presented but cannot do anything now (for the display / log)."""

    id_tag: str
    why: str


@dataclass(frozen=True)
class ReservationEnded:
    """The reservation is over (used, expired, cancelled, faulted, unavailable): forget it."""

    reservation_id: int
    why: str


Command = (
    Authorize | StartTransaction | StopTransaction | OfferCurrent | StatusChanged | CardIgnored | ReservationEnded
    | TransactionAuthorized | TransactionDeauthorized | ChargingStateChanged
)


@dataclass
class _Transaction:
    id_tag: str
    # Stored and queued (TransactionRecorded, or restored from storage): energy may flow.
    recorded: bool = False
    start: int = 0  # the number of its StartTransaction command
    deauthorized: bool = False  # StartTransaction.conf said the tag is not valid
    parent_id_tag: str | None = None  # any card of this group may stop it (OCPP 1.6 §5.16)
    # Started before anyone was authorized (TxStartPoint EVConnected), or deauthorized while it
    # goes on (Authorized no TxStopPoint): no energy until authorized.
    authorized: bool = True
    connect_by: float | None = None  # started before the EV came (TxStartPoint Authorized): EVConnectionTimeOut
    energy_first: bool = False  # started as the EV drew on the offer (TxStartPoint EnergyTransfer)
    charging_state: ChargingState | None = None  # the last one reported


@dataclass
class Session:
    """Per-connector facts and the rules that change them."""

    max_current_a: float
    connection_timeout_s: float = 60.0  # OCPP ConnectionTimeOut
    stop_on_ev_disconnect: bool = True  # OCPP StopTransactionOnEVSideDisconnect
    pilot: PilotState = PilotState.A
    available: bool = True
    faults: set[Fault] = field(default_factory=set)
    limit_a: float | None = None  # None: the configured maximum
    derate_a: float | None = None  # thermal derating; None: none
    pending_auth: str | None = None  # Authorize sent, answer not there yet
    authorized: tuple[str, float] | None = None  # (idTag, deadline) waiting for the plug
    authorized_parent: str | None = None  # the parent idTag of ``authorized``
    authorized_type: str = "ISO14443"  # the IdTokenType of ``authorized``
    # What will have started the transaction when it starts: the last of authorization and
    # plug-in (OCPP 2.0.1 triggerReason of TransactionEvent Started).
    start_trigger: StartTrigger = StartTrigger.AUTHORIZED
    _card_type: str = "ISO14443"  # the IdTokenType of the card presented last
    authorized_remote_start: int | None = None  # the remoteStartId of ``authorized``
    transaction: _Transaction | None = None
    finishing: bool = False  # a transaction ended and its cable is still in (the EV's or the socket's end)
    scheduled_available: bool | None = None  # availability to apply when the transaction ends
    reservation: Reservation | None = None  # OCPP 1.6 §3.12
    kept_for_reservation: bool = False  # held for the charge point's reservation (connector 0)
    # A socket outlet with a cable lock: a transaction starts once the cable is locked, never
    # before (OCTT TC_024); ``locked`` is where the lock last settled.
    lock_required: bool = False
    locked: bool = False
    # A socket outlet tells an EV unplugged at the EV (pilot A, the cable still in the socket:
    # Finishing) from a cable taken out (Available) where the board reads the cable's PP.
    cable_in_socket: bool = False
    unlock_on_ev_disconnect: bool = True  # OCPP UnlockConnectorOnEVSideDisconnect
    # Free vend ([free_vend] id_tag): an EV plugged in at a free connector is authorized at once
    # as this idTag (``_free_vend``); None: off, a card or the backend starts a session.
    free_vend_id_tag: str | None = None
    # UnlockConnectorOnEVSideDisconnect = false: after the EV was unplugged during a transaction
    # the cable stays locked in the socket until this idTag is presented or UnlockConnector.
    cable_held_for: str | None = None
    # What the board was last told to offer; None until the first command, so the
    # first event always states it (a board powers up offering its default current).
    offered_a: float | None = None
    # When transactions start and end (agent/core/transaction_points.py): 1.6's rule unless the
    # 2.0.1 adapter configures its TxStartPoint / TxStopPoint.
    points: TransactionPoints = field(default_factory=TransactionPoints)
    _state_trigger: str = "ChargingStateChanged"  # what changed the charging state next reported
    # IEC 61851-1: the offer changes at most every 5 s, one clock for every source of limits
    # (smart charging, derating, the backend's profiles, a pause): agent/core/offer_pacing.py.
    pacing: OfferPacing = field(default_factory=OfferPacing)
    _now: float = 0.0  # the time of the event being handled
    _status: tuple[ConnectorStatus, Fault | None] | None = None
    _starts: int = 0  # StartTransaction commands issued

    # ---- derived facts -------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        return self.pilot not in (PilotState.A, PilotState.F)

    @property
    def cable_present(self) -> bool:
        """A cable in the socket, with or without the EV at its other end."""
        return self.plugged or self.cable_in_socket or self.cable_held_for is not None

    @property
    def fault(self) -> Fault | None:
        """The fault to report: the first one raised of the most serious kind."""
        for kind in Fault:
            if kind in self.faults:
                return kind
        return None

    @property
    def allowed_a(self) -> float:
        limit = self.max_current_a if self.limit_a is None else min(self.max_current_a, self.limit_a)
        if self.derate_a is not None:
            limit = min(limit, self.derate_a)
        return limit if limit >= MIN_OFFER_A else 0.0

    def status(self) -> ConnectorStatus:
        if self.faults:
            return ConnectorStatus.FAULTED
        if self.transaction is not None:
            if not self.transaction.recorded:
                return ConnectorStatus.PREPARING  # its StartTransaction is being recorded
            if (self.offered_a or 0.0) < MIN_OFFER_A:
                return ConnectorStatus.SUSPENDED_EVSE
            if self.pilot in (PilotState.C, PilotState.D):
                return ConnectorStatus.CHARGING
            return ConnectorStatus.SUSPENDED_EV
        if not self.available:
            return ConnectorStatus.UNAVAILABLE
        held = self.reservation is not None or self.kept_for_reservation
        if held and self.authorized is None and self.pending_auth is None:
            return ConnectorStatus.RESERVED  # plugged by someone else or not: still held
        if self.cable_present:
            return ConnectorStatus.FINISHING if self.finishing else ConnectorStatus.PREPARING
        if self.authorized is not None or self.pending_auth is not None:
            return ConnectorStatus.PREPARING
        return ConnectorStatus.AVAILABLE

    def can_start(self) -> bool:
        """Whether a new transaction could start now (remote start, card)."""
        return self.transaction is None and self.available and not self.faults and not self.finishing

    def awaits_authorization(self) -> bool:
        """A transaction runs that nobody authorized yet (TxStartPoint EVConnected): a card or a
        remote start authorizes it (OCPP 2.0.1 F02: a remote start uses it)."""
        tx = self.transaction
        return tx is not None and not tx.authorized and not self.faults

    def takes_remote_start(self) -> bool:
        """Whether a remote start could be taken now: a new transaction, or one that waits."""
        return (self.can_start() or self.awaits_authorization()) and self.authorized is None

    def reserve_result(self, reservation_id: int) -> ReserveResult:
        """OCPP 1.6 §5.13: can this connector be reserved now (its own reservation is replaced)?"""
        if self.faults:
            return ReserveResult.FAULTED
        if not self.available:
            return ReserveResult.UNAVAILABLE
        busy = self.transaction is not None or self.cable_present or self.authorized is not None or self.pending_auth
        held = self.reservation is not None and self.reservation.reservation_id != reservation_id
        return ReserveResult.OCCUPIED if busy or held else ReserveResult.ACCEPTED

    def reserved_for_other(self, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """OCPP 1.6 §3.12.1: only the reservation's idTag or parent idTag may start, matched
        against the incoming idTag or its parent idTag."""
        return self.reservation is not None and not admits(self.reservation, id_tag, parent_id_tag)

    # ---- the rules -----------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply ``event`` (which happened at monotonic time ``now``); return the commands."""
        out: list[Command] = []
        self._now = now
        match event:
            case PilotChanged(pilot):
                self._on_pilot(pilot, now, out)
            case CardPresented(id_tag, parent_id_tag, token_type):
                self._card_type = token_type
                if not self._reservation_takes_card(id_tag, parent_id_tag, now, out):
                    self._on_card(id_tag, parent_id_tag, out)
            case AuthorizationResult(id_tag, accepted, parent_id_tag):
                if self.pending_auth == id_tag:
                    self.pending_auth = None
                    if accepted and self.reserved_for_other(id_tag, parent_id_tag):
                        out.append(CardIgnored(id_tag, "reserved"))
                    elif accepted:
                        self.authorized_type = self._card_type
                        self.authorized_remote_start = None
                        self._authorized(id_tag, now, out, parent_id_tag, StartTrigger.AUTHORIZED)
                    else:
                        out.append(CardIgnored(id_tag, "not authorized"))
            case RemoteStartRequested(id_tag, parent_id_tag, token_type, remote_start_id):
                if (self.can_start() or self.awaits_authorization()) and not self.reserved_for_other(id_tag, parent_id_tag):
                    self.authorized_type = token_type
                    self.authorized_remote_start = remote_start_id
                    self._authorized(id_tag, now, out, parent_id_tag, StartTrigger.REMOTE_START)
            case StopRequested(reason, id_tag):
                self._stop(reason, id_tag, out)
            case TransactionRecorded(start):
                if self.transaction is not None and self.transaction.start == start:
                    self.transaction.recorded = True
            case TransactionRejected(stop):
                if self.transaction is not None:
                    if stop:
                        self._stop(StopReason.DEAUTHORIZED, None, out)
                    else:
                        self.transaction.deauthorized = True
            case FaultRaised(fault):
                self.faults.add(fault)
                if fault is not Fault.LOCK:  # a lock that fails to lock: the start waits for it
                    self.pending_auth = None
                    self.authorized = None
                if fault in ENDS_TRANSACTION:
                    reason = StopReason.EMERGENCY_STOP if fault is Fault.EMERGENCY_STOP else StopReason.OTHER
                    self._stop(reason, None, out)
            case FaultCleared(fault):
                self.faults.discard(fault)
                self._begin_if_waiting(out)  # a lock that failed and now locked
            case AvailabilityChanged(available):
                if not available and self.transaction is not None:
                    # OCPP 1.6 §5.2: Scheduled, applied when the transaction has ended.
                    self.scheduled_available = False
                else:
                    self.available = available
                    self.scheduled_available = None
            case LimitChanged(amps):
                self.limit_a = amps
            case DerateChanged(amps):
                self.derate_a = amps
            case Tick():
                tx = self.transaction
                if tx is not None and tx.connect_by is not None and not self.plugged and now >= tx.connect_by:
                    self._stop(StopReason.TIMEOUT, None, out)  # §2.6.1 EVConnectionTimeOut: no EV came
                if self.authorized is not None and not self.plugged and now >= self.authorized[1]:
                    # OCPP 1.6 §9.1.7 ConnectionTimeOut: the driver never plugged in.
                    out.append(CardIgnored(self.authorized[0], "connection timeout"))
                    self.authorized = None
            case TransactionRestored(id_tag, pilot):
                self.pilot = pilot
                # It was recorded before the restart; "" = nobody had authorized it (TxStartPoint EVConnected).
                self.transaction = _Transaction(id_tag, recorded=True, authorized=bool(id_tag))
                self.finishing = False
            case ReservationMade(reservation):
                # An EV already plugged does not stop it (restored, or its driver's card claims it).
                held = self.reservation is not None and self.reservation.reservation_id != reservation.reservation_id
                if self.transaction is None and not held:
                    self.reservation = reservation
            case ReservationCancelled(reservation_id):
                if self.reservation is not None and self.reservation.reservation_id == reservation_id:
                    self._end_reservation("cancelled", out)
            case KeptForReservation(kept):
                self.kept_for_reservation = kept
            case LockChanged(locked):
                self.locked = locked
                self._begin_if_waiting(out)
            case CableChanged(present):
                self.cable_in_socket = present
                if not self.cable_present:
                    self.finishing = False  # the cable is out: the connector is free again
            case UnlockRequested():
                self.cable_held_for = None
                self._stop(StopReason.UNLOCK_COMMAND, None, out)
        self._check_reservation(now, out)
        self._free_vend(now, out)
        self._begin_unauthorized(out)
        self._offer(out)
        self._report_charging_state(out)
        self._report_status(out)
        return out

    def _on_pilot(self, pilot: PilotState, now: float, out: list[Command]) -> None:
        was_plugged = self.plugged
        was_drawing = self.pilot in (PilotState.C, PilotState.D)
        self.pilot = pilot
        tx = self.transaction
        if was_plugged != self.plugged:
            self._state_trigger = "CablePluggedIn" if self.plugged else "EVCommunicationLost"
        if tx is not None and self.plugged:
            tx.connect_by = None  # the EV came
        if (tx is not None and tx.recorded and tx.authorized and was_drawing and pilot is PilotState.B
                and self.points.ends(EvseFacts(ev_connected=True, authorized=True, ev_draws=False))):
            self._stop(StopReason.STOPPED_BY_EV, None, out)  # EnergyTransfer is a stop point
            return
        if was_plugged and not self.plugged:
            if tx is not None and self.lock_required and self.locked and not self.unlock_on_ev_disconnect:
                # OCPP 1.6 §9.1.37 UnlockConnectorOnEVSideDisconnect = false: the cable stays
                # locked at the charge point (its lock held it, so only the EV side came loose).
                self.cable_held_for = tx.id_tag
            self.finishing = self.finishing and self.cable_present
            self.faults.discard(Fault.NOT_RECORDED)  # the next EV may try again
            ev_leaving_ends = self.points.ends(EvseFacts(ev_connected=False, authorized=True))
            if tx is not None and (self.stop_on_ev_disconnect or not tx.authorized or ev_leaving_ends):
                self._stop(StopReason.EV_DISCONNECTED, None, out)
            elif tx is not None and not self.lock_required and self.points.ev_gone_times_out:
                tx.connect_by = now + self.connection_timeout_s  # E10.FR.02: a fixed cable's EV may come back
        elif not was_plugged and self.plugged and self.authorized is not None:
            self.start_trigger = StartTrigger.CABLE_PLUGGED_IN
            self._begin_once_locked(out)
        elif (self.plugged and not was_drawing and pilot in (PilotState.C, PilotState.D) and self.authorized is not None
              and self.can_start()):
            self.start_trigger = StartTrigger.CHARGING_STATE_CHANGED  # EnergyTransfer reached
            self._begin_once_locked(out)

    def _on_card(self, id_tag: str, parent_id_tag: str | None, out: list[Command]) -> None:
        tx = self.transaction
        if tx is None and self.cable_held_for is not None and self.cable_held_for == id_tag:
            self.cable_held_for = None  # its EV driver came back for the cable: unlock it
            return
        if tx is not None and not tx.authorized:
            if self.pending_auth is None:  # it waits for a driver: this card may be one
                self.pending_auth = id_tag
                out.append(Authorize(id_tag))
            return
        if tx is not None:
            # OCPP 1.6 §5.16: the card that started it, or one with the same parent idTag.
            if tx.id_tag == id_tag or (parent_id_tag is not None and parent_id_tag == tx.parent_id_tag):
                self._stop(StopReason.LOCAL, id_tag, out)
            else:
                out.append(CardIgnored(id_tag, "another card's session is running"))
        elif self.authorized is not None and self.authorized[0] == id_tag:
            self.authorized = None  # the same card again cancels the wait for the plug
        elif not self.can_start():
            out.append(CardIgnored(id_tag, "connector cannot start a session now"))
        elif self.pending_auth is None:
            self.pending_auth = id_tag
            out.append(Authorize(id_tag))

    def _reservation_takes_card(self, id_tag: str, parent_id_tag: str | None, now: float, out: list[Command]) -> bool:
        """OCPP 1.6 §3.12.1, a card at a reserved connector that could start: the reservation's
        own idTag starts at once (its driver booked it); a card whose group is known not to
        match is refused. Others go on to Authorize, whose answer names their group."""
        r = self.reservation
        if r is None or not self.can_start() or self.authorized is not None or self.pending_auth is not None:
            return False
        if id_tag == r.id_tag:
            self.authorized_type = self._card_type
            self.authorized_remote_start = None
            self._authorized(id_tag, now, out, parent_id_tag, StartTrigger.AUTHORIZED)
        elif parent_id_tag is not None and self.reserved_for_other(id_tag, parent_id_tag):
            out.append(CardIgnored(id_tag, "reserved"))
        else:
            return False
        return True

    def _authorized(self, id_tag: str, now: float, out: list[Command], parent_id_tag: str | None = None,
                    trigger: StartTrigger = StartTrigger.AUTHORIZED) -> None:
        if self.awaits_authorization():
            self._authorize_transaction(id_tag, parent_id_tag, trigger, out)
            return
        self.authorized_parent = parent_id_tag
        self.authorized = (id_tag, now + self.connection_timeout_s)
        self.start_trigger = trigger
        if self.plugged and not self.finishing:
            self._begin_once_locked(out)
        elif not self.plugged and self.can_start() and self.points.starts(EvseFacts(ev_connected=False, authorized=True)):
            self._begin(id_tag, out)  # TxStartPoint Authorized: it starts now, the EV may come
            if self.transaction is not None:
                self.transaction.connect_by = now + self.connection_timeout_s

    def _authorize_transaction(self, id_tag: str, parent_id_tag: str | None, trigger: StartTrigger,
                               out: list[Command]) -> None:
        """The running transaction that waited for a driver has one now (E01.FR.02, F02)."""
        tx = self.transaction
        if tx is None:
            return
        tx.id_tag, tx.parent_id_tag, tx.authorized = id_tag, parent_id_tag, True
        out.append(TransactionAuthorized(id_tag, self.authorized_type, trigger, self.authorized_remote_start))
        if self.reservation is not None:
            self._end_reservation("used", out)

    def _begin_unauthorized(self, out: list[Command]) -> None:
        """TxStartPoint EVConnected: an EV connected at a free connector starts a transaction
        before anyone is authorized (E01.FR.02); energy flows once someone is."""
        if (self.plugged and self.points.starts(EvseFacts(ev_connected=True, authorized=False))
                and self.can_start() and self.authorized is None
                and self.pending_auth is None and self.reservation is None and not self.kept_for_reservation):
            self._starts += 1
            self.transaction = _Transaction("", start=self._starts, authorized=False)
            self.transaction.charging_state = self._charging_state()
            out.append(StartTransaction("", None, start=self._starts, trigger=StartTrigger.CABLE_PLUGGED_IN,
                                        token_type=IdTokenType.NO_AUTHORIZATION.value,
                                        charging_state=self._charging_state()))

    def _free_vend(self, now: float, out: list[Command]) -> None:
        """Plug in and charge, no card: an EV plugged in at a connector that could start, with
        no card accepted or being authorized there, not reserved for another idTag nor kept for
        the reservation of any connector, is authorized at once as ``free_vend_id_tag`` (token
        type Local: made up by the station, agent/core/identity.py), without asking the
        backend. Checked after every event, so it starts as soon as the last of these holds; a
        card tapped before the plug starts the session as itself."""
        tag = self.free_vend_id_tag
        if (tag and self.plugged and self.can_start() and self.authorized is None and self.pending_auth is None
                and not self.reserved_for_other(tag) and not self.kept_for_reservation):
            self.authorized_type = IdTokenType.LOCAL.value
            self.authorized_remote_start = None
            self._authorized(tag, now, out, None, StartTrigger.CABLE_PLUGGED_IN)

    def _begin_if_waiting(self, out: list[Command]) -> None:
        """An authorized EV driver plugged in and waits for the lock: start if it is locked now."""
        if self.plugged and self.authorized is not None and self.can_start() and self.locked \
                and not self._waits_for_energy_transfer():
            self._begin(self.authorized[0], out)

    def _begin_once_locked(self, out: list[Command]) -> None:
        """Authorized and plugged: start, once the cable is locked where there is a lock (the
        safety I/O locks it now: a lock that fails reports ConnectorLockFailure and no
        transaction starts until it locks)."""
        if self.lock_required and not self.locked or self.authorized is None or self._waits_for_energy_transfer():
            return
        self._begin(self.authorized[0], out)

    def _waits_for_energy_transfer(self) -> bool:
        """An authorized EV is connected but no start point is reached until it draws (TxStartPoint
        EnergyTransfer alone): current is offered before the transaction, which starts when the
        EV answers the offer (state C)."""
        drawing = self.pilot in (PilotState.C, PilotState.D)
        return not self.points.starts(EvseFacts(ev_connected=True, authorized=True, ev_draws=drawing))

    def _begin(self, id_tag: str, out: list[Command]) -> None:
        self.authorized = None
        self._starts += 1
        energy_first = self.plugged and not self.points.starts(EvseFacts(ev_connected=True, authorized=True))
        self.transaction = _Transaction(id_tag, parent_id_tag=self.authorized_parent, start=self._starts,
                                        energy_first=energy_first)
        self.authorized_parent = None
        used = self.reservation  # only its idTag or group gets this far (reserved_for_other)
        # Not recorded yet: the EV is there (or not yet) and, at EnergyTransfer, draws.
        self.transaction.charging_state = (ChargingState.CHARGING if energy_first else
                                           ChargingState.EV_CONNECTED if self.plugged else ChargingState.IDLE)
        out.append(StartTransaction(id_tag, used.reservation_id if used else None, start=self._starts,
                                    trigger=self.start_trigger, token_type=self.authorized_type,
                                    remote_start_id=self.authorized_remote_start,
                                    charging_state=self.transaction.charging_state if self.points.report_charging_state
                                    else None))
        if used is not None:
            self._end_reservation("used", out)

    def _check_reservation(self, now: float, out: list[Command]) -> None:
        """OCPP 1.6 §3.12.1: a reservation ends at its expiry, or when the connector becomes
        Faulted or Unavailable."""
        if self.reservation is None:
            return
        if now >= self.reservation.expires_at:
            self._end_reservation("expired", out)
        elif self.faults:
            self._end_reservation("faulted", out)
        elif not self.available:
            self._end_reservation("unavailable", out)

    def _end_reservation(self, why: str, out: list[Command]) -> None:
        assert self.reservation is not None
        out.append(ReservationEnded(self.reservation.reservation_id, why))
        self.reservation = None

    def _stop(self, reason: StopReason, id_tag: str | None, out: list[Command]) -> None:
        tx = self.transaction
        if tx is None:
            return
        deauthorizing = reason in (StopReason.LOCAL, StopReason.REMOTE, StopReason.DEAUTHORIZED)
        if deauthorizing and self.plugged and not self.points.ends(EvseFacts(ev_connected=True, authorized=False)):
            # Authorized is no stop point: the energy stops, the transaction goes on until the EV
            # leaves (TxStopPoint EVConnected).
            if tx.authorized:
                tx.authorized = False
                self._offer(out)
                out.append(TransactionDeauthorized(reason, id_tag))
            return
        self.transaction = None
        self.finishing = self.cable_present
        if self.scheduled_available is not None:
            self.available, self.scheduled_available = self.scheduled_available, None
        # Open the contactor before the meter is read for meterStop.
        self._offer(out)
        after = self._charging_state(ended=True) if self.points.report_charging_state else None
        out.append(StopTransaction(reason, id_tag, charging_state=after))

    def _charging_state(self, *, ended: bool = False) -> ChargingState:
        """The transaction's charging state now (agent/core/transaction_points.py); after its end
        EVConnected or Idle."""
        tx = self.transaction
        authorized = tx is not None and tx.authorized and not ended
        return charging_state(self.plugged, (self.offered_a or 0.0) >= MIN_OFFER_A and authorized,
                              self.pilot in (PilotState.C, PilotState.D), authorized)

    def _report_charging_state(self, out: list[Command]) -> None:
        """OCPP 2.0.1: each change of a recorded transaction's charging state is reported."""
        tx, trigger = self.transaction, self._state_trigger
        self._state_trigger = "ChargingStateChanged"
        if tx is None or not tx.recorded or not self.points.report_charging_state:
            return
        now = self._charging_state()
        if now != tx.charging_state:
            if trigger == "CablePluggedIn" and now is not ChargingState.EV_CONNECTED:
                # The plug-in is told as such (EVConnected), what the EV then does after it.
                out.append(ChargingStateChanged(ChargingState.EV_CONNECTED, trigger))
                trigger = "ChargingStateChanged"
            tx.charging_state = now
            out.append(ChargingStateChanged(now, trigger))

    def _offer(self, out: list[Command]) -> None:
        # No energy that could not be billed: only for a transaction whose start is recorded.
        tx = self.transaction
        offer = tx is not None and (tx.recorded or tx.energy_first) and tx.authorized and not tx.deauthorized
        if tx is None and self.authorized is not None and self.plugged and self._waits_for_energy_transfer():
            offer = True  # TxStartPoint EnergyTransfer: the EV must see an offer to draw on
        want = self.allowed_a if offer and not self.faults else 0.0
        # Starting and stopping at once; any other change 5 s after the last one (a held one
        # comes due at a later event, the station's Tick at the latest).
        amps = self.pacing.request(want, self._now)
        if amps is not None and amps != self.offered_a:
            self.offered_a = amps
            out.append(OfferCurrent(amps))

    def _report_status(self, out: list[Command]) -> None:
        now = (self.status(), self.fault)
        if now != self._status:
            self._status = now
            out.append(StatusChanged(*now))
