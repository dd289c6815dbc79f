"""The charge-point test cases of the OCPP 1.6 Compliancy Testing Tool (OCTT), by module.

IDs and names as the Open Charge Alliance's tool and published conformance results use them
(the tool adds the suffix ``_CS``: TC_001_CS ...): 107 cases in 25 modules. Each has exactly one
test in this package, named ``test_<ID>_<what it does>`` (tests/conformance/test_catalogue.py
checks it); ``report.py`` writes docs/conformance-1.6.md from their outcomes.

A case that does not apply to this charge point is a test too: it calls :func:`not_applicable`,
which checks the fact that makes it so (the test fails the day the fact changes) and skips
with the reason below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    module: str


_MODULES: list[tuple[str, list[tuple[str, str]]]] = [
    ("01 Cold Boot", [
        ("TC_001", "Cold Boot Charge Point"),
        ("TC_002", "Cold Boot Charge Point – Pending"),
    ]),
    ("02 Start Session", [
        ("TC_003", "Regular Charging Session – Plugin First"),
        ("TC_004_1", "Regular Charging Session – Identification First"),
        ("TC_004_2", "Regular Charging Session – Identification First – ConnectionTimeOut"),
    ]),
    ("03 Stop Session", [
        ("TC_005_1", "EV Side Disconnected – StopTransactionOnEVSideDisconnect = true, UnlockConnectorOnEVSideDisconnect = true"),
        ("TC_005_2", "EV Side Disconnected – StopTransactionOnEVSideDisconnect = true, UnlockConnectorOnEVSideDisconnect = false"),
        ("TC_005_3", "EV Side Disconnected – StopTransactionOnEVSideDisconnect = false"),
        ("TC_068", "Stop Transaction – IdTag in StopTransaction matches IdTag in StartTransaction"),
        ("TC_069", "Stop Transaction – ParentIdTag in StopTransaction matches ParentIdTag in StartTransaction"),
    ]),
    ("04 Cache", [
        ("TC_007_1", "Regular Start Charging Session – Cached Id"),
        ("TC_007_2", "Remote Start Charging Session – Cached Id"),
        ("TC_061_1", "Clear Authorization Data in Authorization Cache – Local start"),
        ("TC_061_2", "Clear Authorization Data in Authorization Cache – Remote start"),
    ]),
    ("05 Remote Actions", [
        ("TC_010", "Remote Start Charging Session – Cable Plugged in First"),
        ("TC_011_1", "Remote Start Charging Session – Remote Start First"),
        ("TC_011_2", "Remote Start Charging Session – Time Out"),
        ("TC_012", "Remote Stop Charging Session"),
    ]),
    ("06 Resetting", [
        ("TC_013", "Hard Reset Without Transaction"),
        ("TC_014", "Soft Reset Without Transaction"),
        ("TC_015", "Hard Reset With Transaction"),
        ("TC_016", "Soft Reset With Transaction"),
    ]),
    ("07 Unlocking", [
        ("TC_017_1", "Unlock Connector – No Charging Session Running (Not fixed cable)"),
        ("TC_017_2", "Unlock Connector – No Charging Session Running (Fixed cable)"),
        ("TC_018_1", "Unlock Connector – With Charging Session (Not fixed cable)"),
        ("TC_018_2", "Unlock Connector – With Charging Session (Fixed cable)"),
    ]),
    ("08 Configuration", [
        ("TC_019", "Retrieve Configuration"),
        ("TC_021", "Change/Set Configuration"),
    ]),
    ("09 Meter Values", [
        ("TC_070", "Sampled Meter Values"),
        ("TC_071", "Clock-aligned Meter Values"),
    ]),
    ("10–11 Basic Actions – Non-happy Flow", [
        ("TC_023_4", "Start Charging Session – Authorize Invalid – Local start"),
        ("TC_023_5", "Start Charging Session – Authorize Invalid – Remote start"),
        ("TC_024", "Start Charging Session – Lock Failure"),
    ]),
    ("12 Remote Actions – Non-happy Flow", [
        ("TC_026", "Remote Start Charging Session – Rejected"),
        ("TC_027", "Remote Start Transaction – connectorId shall not be 0"),
        ("TC_028", "Remote Stop Transaction – Rejected"),
    ]),
    ("13 Unlocking – Non-happy Flow", [
        ("TC_030", "Unlock Connector – Unlock Failure"),
        ("TC_031", "Unlock Connector – Unknown Connector"),
    ]),
    ("14 Power Failure", [
        ("TC_032_1", "Power Failure – Stop Transaction(s) Before Going Down"),
        ("TC_032_2", "Power Failure – Stop Transaction(s) After Going Down"),
        ("TC_034", "Power Failure With Unavailable Status"),
    ]),
    ("15 Offline Behavior", [
        ("TC_036", "Connection Loss During Transaction"),
        ("TC_037_1", "Offline Start Transaction – Valid IdTag"),
        ("TC_037_2", "Offline Start Transaction – Invalid IdTag – StopTransactionOnInvalidId = false"),
        ("TC_037_3", "Offline Start Transaction – Invalid IdTag – StopTransactionOnInvalidId = true"),
        ("TC_038", "Offline Stop Transaction"),
        ("TC_039", "Offline Transaction"),
    ]),
    ("16 Configuration Keys – Non-happy Flow", [
        ("TC_040_1", "Configuration Keys – NotSupported"),
        ("TC_040_2", "Configuration Keys – Invalid Value"),
    ]),
    ("17 Fault Behavior", [
        ("TC_041", "Fault Behavior"),
    ]),
    ("18 Local Authorization List Management", [
        ("TC_008_1", "Regular Start Charging Session – Id in Local Authorization List"),
        ("TC_008_2", "Remote Start Charging Session – Id in Local Authorization List"),
        ("TC_042_1", "Get Local List Version – Not Supported"),
        ("TC_042_2", "Get Local List Version – Empty"),
        ("TC_043", "Send Local Authorization List"),
        ("TC_043_1", "Send Local Authorization List – NotSupported"),
        ("TC_043_2", "Send Local Authorization List – VersionMismatch"),
        ("TC_043_3", "Send Local Authorization List – Failed"),
    ]),
    ("19 Firmware Management", [
        ("TC_044_1", "Firmware Update – Download and Install"),
        ("TC_044_2", "Firmware Update – Download Failed"),
        ("TC_044_3", "Firmware Update – Installation Failed"),
    ]),
    ("20 Diagnostics", [
        ("TC_045_1", "Get Diagnostics"),
        ("TC_045_2", "Get Diagnostics – Upload Failed"),
    ]),
    ("21 Reservation", [
        ("TC_046_1", "Reserve a Connector – Local Start Transaction"),
        ("TC_046_2", "Reserve a Connector – Remote Start Transaction"),
        ("TC_047", "Reserve a Connector – Expire"),
        ("TC_048_1", "Reserve a Connector – Faulted"),
        ("TC_048_2", "Reserve a Connector – Occupied"),
        ("TC_048_3", "Reserve a Connector – Unavailable"),
        ("TC_048_4", "Reserve a Connector – Rejected"),
        ("TC_049", "Reserve a Charge Point – Transaction"),
        ("TC_050_1", "Reserve a Charge Point – Faulted"),
        ("TC_050_2", "Reserve a Charge Point – Occupied"),
        ("TC_050_3", "Reserve a Charge Point – Unavailable"),
        ("TC_050_4", "Reserve a Charge Point – Rejected"),
        ("TC_051", "Cancel Reservation"),
        ("TC_052", "Cancel Reservation – Rejected"),
        ("TC_053_1", "Use a Reserved Connector with parentIdTag – Local start"),
        ("TC_053_2", "Use a Reserved Connector with parentIdTag – Remote start"),
    ]),
    ("22 Remote Trigger", [
        ("TC_054", "Trigger Message"),
        ("TC_055", "Trigger Message – Rejected"),
    ]),
    ("23 Smart Charging", [
        ("TC_056", "Central Smart Charging – TxDefaultProfile"),
        ("TC_057", "Central Smart Charging – TxProfile"),
        ("TC_058_1", "Central Smart Charging – No Ongoing Transaction"),
        ("TC_058_2", "Central Smart Charging – Wrong transactionId"),
        ("TC_059", "Remote Start Transaction with Charging Profile"),
        ("TC_060", "Remote Start Transaction with Charging Profile – Rejected"),
        ("TC_066", "Get Composite Schedule"),
        ("TC_067", "Clear Charging Profile"),
        ("TC_072", "Stacking Charging Profiles"),
        ("TC_082", "Central Smart Charging – TxDefaultProfile with Ongoing Transaction"),
    ]),
    ("24 Data Transfer", [
        ("TC_062", "Data Transfer to a Charge Point"),
    ]),
    ("25 Security", [
        ("TC_073", "Update Charge Point Password for HTTP Basic Authentication"),
        ("TC_074", "Update Charge Point Certificate by Request of Central System"),
        ("TC_075_1", "Install a Certificate on the Charge Point – ManufacturerRootCertificate"),
        ("TC_075_2", "Install a Certificate on the Charge Point – CentralSystemRootCertificate"),
        ("TC_076", "Delete a Specific Certificate from the Charge Point"),
        ("TC_077", "Invalid ChargePointCertificate Security Event"),
        ("TC_078", "Invalid CentralSystemCertificate Security Event"),
        ("TC_079", "Get Security Log"),
        ("TC_080", "Secure Firmware Update"),
        ("TC_081", "Secure Firmware Update – Invalid Signature"),
        ("TC_083", "Upgrade Charge Point Security Profile – Accepted"),
        ("TC_084", "Upgrade Charge Point Security Profile – Rejected (downgrade)"),
        ("TC_085", "Basic Authentication – Valid Username/Password Combination"),
        ("TC_086", "TLS – Server-side Certificate – Valid Certificate"),
        ("TC_087", "TLS – Client-side Certificate – Valid Certificate"),
    ]),
]

CASES: list[Case] = [Case(cid, name, module) for module, cases in _MODULES for cid, name in cases]
BY_ID: dict[str, Case] = {c.id: c for c in CASES}


# ---- cases that do not apply, and the fact that makes each so ------------------------------


def _has_power_fail_input() -> bool:
    from agent.app.config import GpioSection

    return any("power" in f.name for f in dataclasses.fields(GpioSection))


def _supports_local_auth_list() -> bool:
    from agent.ocpp16.keys import FEATURE_PROFILES

    return "LocalAuthListManagement" in FEATURE_PROFILES.split(",")


def _reserves_connector_zero() -> bool:
    from agent.ocpp16.keys import RESERVE_CONNECTOR_ZERO_SUPPORTED

    return RESERVE_CONNECTOR_ZERO_SUPPORTED


# case id -> (reason, the fact as a check that must hold)
NOT_APPLICABLE: dict[str, tuple[str, Callable[[], bool]]] = {
    "TC_032_1": ("no back-up power supply: the station cannot act between losing power and going down "
                 "(no power-fail input in [connectors.gpio]); TC_032_2 covers a power cut",
                 lambda: not _has_power_fail_input()),
    "TC_050_4": ("ReserveConnectorZeroSupported is true (read-only): a reservation of connector 0 is taken "
                 "or answered Faulted / Occupied / Unavailable (TC_049, TC_050_1-3), never Rejected for being one",
                 _reserves_connector_zero),
    "TC_042_1": ("the station supports LocalAuthListManagement; TC_042_2 applies instead",
                 _supports_local_auth_list),
    "TC_043_1": ("the station supports LocalAuthListManagement; TC_043 applies instead",
                 _supports_local_auth_list),
}


def not_applicable(case_id: str) -> None:
    """Skip a case that does not apply, after checking the fact that makes it so."""
    reason, holds = NOT_APPLICABLE[case_id]
    assert holds(), f"{case_id} was not applicable because {reason}; that is no longer so: write its test"
    pytest.skip(f"not applicable: {reason}")
