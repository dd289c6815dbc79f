"""When a transaction starts and when it ends: a pure policy of the core.

OCPP 2.0.1 names the moments (Part 2 §2.6.6 TxStartPoint / TxStopPoint, use cases E01 and E06):
a transaction starts at the first of its start points reached (E01.FR.01-05) and ends as soon as
one of its stop points no longer holds (E06.FR.01-08). OCPP 1.6 has one fixed rule: it starts
when an authorized EV is connected and ends when the driver stops it, or when the EV leaves if
StopTransactionOnEVSideDisconnect says so — the default here (start PowerPathClosed, stop
Authorized; the EV leaving is left to that setting), so a station that is never configured
otherwise behaves as in 1.6. In 2.0.1 an EVConnected, PowerPathClosed or EnergyTransfer stop
point ends the transaction when the EV leaves whatever StopTxOnEVSideDisconnect says (OCTT
TC_E_20, TC_E_37); with Authorized alone that setting decides (E10). The 2.0.1 adapter configures the station with the points of its
TxCtrlr variables (agent/ocpp201/adapter.py).

This station has no parking bay sensor and no meter that signs its readings, so
ParkingBayOccupancy and DataSigned are not points it can reach (``NOT_REACHABLE``).

Facts in, decisions out; no I/O, no clock: tested in tests/unit/test_transaction_points.py.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class TxPoint(enum.Enum):
    """OCPP 2.0.1 Part 2 §2.6.6, the points this station can reach (same spelling)."""

    EV_CONNECTED = "EVConnected"  # the EV is connected (IEC 61851-1 state B, C or D)
    AUTHORIZED = "Authorized"  # the driver is authorized (a card, the backend)
    POWER_PATH_CLOSED = "PowerPathClosed"  # both: the station may close its contactor
    ENERGY_TRANSFER = "EnergyTransfer"  # energy flows: the EV draws (state C or D) on an offer


# §2.6.6 points that need hardware this station does not have.
NOT_REACHABLE = {"ParkingBayOccupancy": "no parking bay occupancy sensor",
                 "DataSigned": "no meter that signs its readings"}


@dataclass(frozen=True)
class EvseFacts:
    """What holds at one EVSE now."""

    ev_connected: bool
    authorized: bool
    ev_draws: bool = False  # the EV asks for energy (state C or D)

    def holds(self, point: TxPoint) -> bool:
        match point:
            case TxPoint.EV_CONNECTED:
                return self.ev_connected
            case TxPoint.AUTHORIZED:
                return self.authorized
            case TxPoint.POWER_PATH_CLOSED:
                return self.ev_connected and self.authorized
            case TxPoint.ENERGY_TRANSFER:
                return self.ev_connected and self.authorized and self.ev_draws
        return False


@dataclass(frozen=True)
class TransactionPoints:
    start: frozenset[TxPoint] = frozenset({TxPoint.POWER_PATH_CLOSED})
    stop: frozenset[TxPoint] = frozenset({TxPoint.AUTHORIZED})
    # OCPP 2.0.1: a change of the charging state during a transaction is an event of its own
    # (TransactionEvent Updated, triggerReason ChargingStateChanged, §3.84); 1.6 has none.
    report_charging_state: bool = False
    # OCPP 2.0.1 E10.FR.02: with a fixed cable and StopTxOnEVSideDisconnect false, an EV unplugged
    # that does not come back within EVConnectionTimeOut deauthorizes (ends) the transaction.
    ev_gone_times_out: bool = False

    @classmethod
    def named(cls, start: Iterable[str], stop: Iterable[str], *, report_charging_state: bool = True) -> TransactionPoints:
        """From the §2.6.6 names (a TxStartPoint / TxStopPoint member list); names of points this
        station cannot reach are left out, and a list left empty keeps the default."""
        known = {p.value: p for p in TxPoint}
        starts = frozenset(known[n] for n in start if n in known) or cls.start
        stops = frozenset(known[n] for n in stop if n in known) or cls.stop
        return cls(starts, stops, report_charging_state, ev_gone_times_out=report_charging_state)

    def starts(self, facts: EvseFacts) -> bool:
        """E01.FR.01-05: the transaction starts at the first start point reached."""
        return any(facts.holds(p) for p in self.start)

    def ends(self, facts: EvseFacts) -> bool:
        """E06.FR.01-08: the transaction ends when one of its stop points no longer holds."""
        return any(not facts.holds(p) for p in self.stop)


class ChargingState(enum.Enum):
    """OCPP 2.0.1 Part 2 §3.16 ChargingStateEnumType (same spelling)."""

    CHARGING = "Charging"
    EV_CONNECTED = "EVConnected"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    IDLE = "Idle"


def charging_state(ev_connected: bool, energy_offered: bool, ev_draws: bool, authorized: bool = True) -> ChargingState:
    """The charging state of a transaction's EVSE (§3.16): Idle without an EV, EVConnected while
    not authorized, SuspendedEVSE while the station offers nothing, SuspendedEV while the EV takes
    nothing of what is offered, else Charging."""
    if not ev_connected:
        return ChargingState.IDLE
    if not authorized:
        return ChargingState.EV_CONNECTED
    if not energy_offered:
        return ChargingState.SUSPENDED_EVSE
    return ChargingState.CHARGING if ev_draws else ChargingState.SUSPENDED_EV
