"""The charging-station test cases of the OCPP 2.0.1 Compliancy Testing Tool (OCTT), by functional block.

The repository's copy of the 2.0.1 part of ../shared/reference/octt-cases.md: every case of blocks
A–P whose number is below 100 (the tool's 2.1 edition numbers its additions from 100 up and adds
blocks Q, R and S; those are not OCPP 2.0.1). IDs as the tool writes them (``TC_B_01_CS``), names
as the tool's test case document gives them.

Each case has exactly one of:
- a test in tests/conformance201/, named ``test_TC_<block>_<nn>_<what it does>`` (the ``_CS``
  suffix left out), or
- a reason in ``NOT_APPLICABLE`` below, with the fact that makes it so as a check;
  ``test_not_applicable.py`` runs each check (it fails the day the fact changes) and skips with
  the reason.
``test_catalogue.py`` checks that; ``report.py`` writes docs/conformance-2.0.1.md, where a case with
neither shows as "failing (no test yet)".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Case:
    id: str  # TC_B_01_CS
    name: str
    module: str  # the functional block: "B Provisioning"


# block -> (title, "nn name" lines); counts per block as octt-cases.md gives them (2.0.1 range).
_BLOCKS: dict[str, tuple[str, str]] = {
    "A": ("Security", """
01 Basic Authentication - Valid username/password combination
04 TLS - server-side certificate - Valid certificate
05 TLS - server-side certificate - Invalid certificate
06 TLS - server-side certificate - TLS version too low
07 TLS - Client-side certificate - valid certificate
09 Update Charging Station Password for HTTP Basic Authentication - Accepted
10 Update Charging Station Password for HTTP Basic Authentication - Rejected
11 Update Charging Station Certificate by request of CSMS - Success - Charging Station Certificate
12 Update Charging Station Certificate by request of CSMS - Success - V2G Certificate
14 Update Charging Station Certificate by request of CSMS - Invalid certificate
15 Update Charging Station Certificate by request of CSMS - SignCertificateRequest Rejected
19 Upgrade Charging Station Security Profile - Accepted
20 Upgrade Charging Station Security Profile - No valid CSMSRootCertificate installed
21 Upgrade Charging Station Security Profile - No valid ChargingStationCertificate installed
22 Upgrade Charging Station Security Profile - Downgrade security profile - Rejected
23 Update Charging Station Certificate by request of CSMS - CertificateSignedRequest Timeout
"""),
    "B": ("Provisioning", """
01 Cold Boot Charging Station - Accepted
02 Cold Boot Charging Station - Pending
03 Cold Boot Charging Station - Rejected
06 Get Variables - single value
07 Get Variables - multiple values
09 Set Variables - single value
10 Set Variables - multiple values
11 Set Variables - invalidly formatted values
12 Get Base Report - ConfigurationInventory
13 Get Base Report - FullInventory
14 Get Base Report - SummaryInventory
15 Get Base Report - Not Supported base report
16 Get Custom Report - with component criteria
17 Get Custom Report - with component/variable
18 Get Custom Report - with component criteria and component/variable
19 Get Custom Report - for unknown component criteria
20 Reset Charging Station - Without ongoing transaction - OnIdle
21 Reset Charging Station - With Ongoing Transaction - OnIdle
22 Reset Charging Station - With Ongoing Transaction - Immediate
23 Reset Charging Station - Unavailable persists reset
24 Reset Charging Station - Reserved persists reset
25 Reset EVSE - Without ongoing transaction
26 Reset EVSE - With Ongoing Transaction - OnIdle
27 Reset EVSE - With Ongoing Transaction - Immediate
28 Reset EVSE - Not Supported
29 Reset EVSE - With ongoing transaction - Not Supported
30 Cold Boot Charging Station - Pending/Rejected - SecurityError
32 Get Variables - Unknown component
33 Get Variables - Unknown variable
34 Get Variables - Not supported attribute type
35 Set Variables - Unknown component
36 Set Variables - Unknown variable
37 Set Variables - Not supported attribute type
39 Set Variables - Read-only
41 Reset Charging Station - With multiple ongoing transactions - OnIdle
43 Set new NetworkConnectionProfile - Rejected
45 Migrate to new ConnectionProfile - Success - Same CSMS Root
46 Migrate to new ConnectionProfile - Fallback mechanism - Same CSMS Root
47 Migrate to new ConnectionProfile - Fallback after NetworkProfileConnectionAttempts - New CSMS Root
49 Migrate to new ConnectionProfile - Fallback after NetworkProfileConnectionAttempts
50 Migrate to new ConnectionProfile - Success - New CSMS Root - New CSMS
51 Status change during offline period - > Offline Threshold
52 Status change during offline period - < Offline Threshold
53 Get Base Report - Test mandatory DM variables via FullInventory
54 Get Custom Report - with component/variable, but no instance
55 Get Custom Report - with component/variable/instance
56 Get Custom Report - with component/variable, but no evseId
57 Network Reconnection - After connection loss
"""),
    "C": ("Authorization", """
02 Local start transaction - Authorization Invalid/Unknown
04 Local Stop Transaction - Different idToken
05 Local start transaction - Authorization invalid - Cable lock
06 Local start transaction - Authorization Blocked
07 Local start transaction - Authorization Expired
08 Authorization through authorization cache - Accepted
09 Authorization through authorization cache - Invalid & Not Accepted
10 Authorization through authorization cache - Blocked
11 Authorization through authorization cache - Expired
12 Authorization through authorization cache - Invalid & Accepted
13 Authorization through authorization cache - Accepted but cable not connected yet
14 Authorization through authorization cache - GroupID equal to MasterPassGroupId
15 Authorization through authorization cache - StopTxOnInvalidId = false, MaxEnergyOnInvalidId > 0
16 Authorization through authorization cache - StopTxOnInvalidId = true
17 Authorization through authorization cache - StopTxOnInvalidId = false
18 Authorization through authorization cache - StopTxOnInvalidId = true, MaxEnergyOnInvalidId > 0
21 Offline authorization through local authorization list - Accepted
22 Offline authorization through local authorization list - Invalid
23 Offline authorization through local authorization list - Blocked
24 Offline authorization through local authorization list - Expired
25 Offline authorization through local authorization list - Local Authorization List > Authorization Cache
26 Offline Authorization - Unknown Id
27 Online authorization through local authorization list - Accepted
28 Online authorization through local authorization list - Invalid & Not Accepted
29 Online authorization through local authorization list - Blocked
30 Online authorization through local authorization list - Expired
31 Online authorization through local authorization list - Invalid & Accepted
32 Store Authorization Data in the Authorization Cache - Persistent over reboot
33 Store Authorization Data in the Authorization Cache - Update on AuthorizeResponse
34 Store Authorization Data in the Authorization Cache - Update on TransactionResponse
36 Store Authorization Data in the Authorization Cache - LocalPreAuthorize = false
37 Clear Authorization Data in Authorization Cache - Accepted
38 Clear Authorization Data in Authorization Cache - Rejected
39 Authorization by GroupId - Success
40 Authorization by GroupId - Success with Local Authorization List
41 Authorization by GroupId - Success with Authorization Cache
42 Authorization by GroupId - Not stopped by GroupId
43 Authorization by GroupId - Invalid status with Local Authorization List
44 Authorization by GroupId - Invalid status with Authorization Cache
45 Authorization by GroupId - Master pass - Not able to start transaction + groupId
46 Store Authorization Data in the Authorization Cache - AuthCacheLifeTime
47 Stop Transaction with a Master Pass - With UI - All transactions
48 Stop Transaction with a Master Pass - With UI - Specific transactions
49 Stop Transaction with a Master Pass - Without UI
50 Authorization using Contract Certificates 15118 - Online - Local contract certificate validation - Accepted
51 Authorization using Contract Certificates 15118 - Online - Local contract certificate validation - Rejected
52 Authorization using Contract Certificates 15118 - Online - Central contract certificate validation
53 Authorization using Contract Certificates 15118 - Online - Central contract validation fails
54 Authorization using Contract Certificates 15118 - Offline - ContractValidationOffline is true
55 Authorization using Contract Certificates 15118 - Offline - ContractValidationOffline is false
56 Local start transaction - Authorization Unknown
57 Authorization through authorization cache - AuthCacheDisablePostAuthorize
58 Online authorization through local authorization list - LocalAuthListDisablePostAuthorize
"""),
    "D": ("Local Authorization List Management", """
01 Send Local Authorization List - Full
02 Send Local Authorization List - Differential Update
03 Send Local Authorization List - Differential Remove
04 Send Local Authorization List - Full with empty list
05 Send Local Authorization List - Differential with empty list
06 Send Local Authorization List - VersionMismatch
07 Send Local Authorization List - Persistent over reboot
08 Get Local List Version - Success
10 Get Local List Version - Function disabled
"""),
    "E": ("Transactions", """
01 Start transaction options - PowerPathClosed
02 Start transaction options - EnergyTransfer
03 Local start transaction - Cable plugin first - Success
04 Local start transaction - Authorization first - Success
05 Local start transaction - Authorization first - Cable plugin timeout
06 Local Stop Transaction - Accepted
07 Stop transaction options - PowerPathClosed - Local stop
08 Stop transaction options - EnergyTransfer stopped - StopAuthorized
09 Start transaction options - EVConnected
10 Start transaction options - Authorized - Local
11 Start transaction options - DataSigned
12 Start transaction options - ParkingBayOccupied
13 Start transaction options - Authorized - Remote
14 Stop transaction options - EVDisconnected - Charging Station side
15 Stop transaction options - StopAuthorized - Local
16 Stop transaction options - Deauthorized - Invalid idToken
17 Stop transaction options - Deauthorized - EV side disconnect
19 Stop transaction options - ParkingBayUnoccupied
20 Stop transaction options - EVDisconnected - EV side (able to charge IEC 61851-1 EV)
21 Stop transaction options - StopAuthorized - Remote
22 Stop transaction options - EnergyTransfer stopped - SuspendedEV
24 Disconnect cable on EV-side - Deauthorize transaction - UnlockOnEVSideDisconnect is true
25 Disconnect cable on EV-side - Deauthorize transaction - UnlockOnEVSideDisconnect is false
26 Disconnect cable on EV-side - Suspend transaction
27 Disconnect cable on EV-side - Suspend transaction - Fixed cable connection timeout
28 Check Transaction status - TransactionId unknown
29 Check Transaction status - Transaction with id ongoing - with message in queue
30 Check Transaction status - Transaction with id ongoing - without message in queue
31 Check Transaction status - Transaction with id ended - with message in queue
32 Check Transaction status - Transaction with id ended - without message in queue
33 Check Transaction status - Without transactionId - with message in queue
34 Check Transaction status - Without transactionId - without message in queue
35 Stop transaction options - PowerPathClosed - Remote stop
37 Stop transaction options - PowerPathClosed - EV side disconnect
38 Local start transaction - EV not ready
39 Stop transaction options - Deauthorized - timeout
40 Offline Behaviour - Connection loss during transaction
41 Retry sending transaction message when failed - Max retry count reached
42 Retry sending transaction message when failed - Success before reaching the max retry count
43 Offline Behaviour - Transaction during offline period
44 Offline Behaviour - Stop transaction during offline period
45 Offline Behaviour - Stop transaction during offline period - Same GroupId
46 End of charging process 15118
50 Retry sending transaction message when failed - Max retry count reached - CallError
51 Retry sending transaction message when failed - Success before reaching the max retry count - CallError
52 Local start transaction - Authorization first - DisableRemoteAuthorization
54 Stop transaction options - EVDisconnected - EV side (not able to charge IEC 61851-1 EV)
"""),
    "F": ("Remote Control", """
01 Remote start transaction - Cable plugin first
02 Remote start transaction - Remote start first - AuthorizeRemoteStart is true
03 Remote start transaction - Remote start first - AuthorizeRemoteStart is false
04 Remote start transaction - Remote start first - Cable plugin timeout
05 Remote unlock Connector - With ongoing transaction
06 Remote unlock Connector - Without ongoing transaction - Accepted
07 Remote unlock Connector - Without ongoing transaction - No cable connected
08 Remote stop transaction - Success
09 Remote stop transaction - Rejected
10 Remote unlock Connector - Without ongoing transaction - UnknownConnector
11 Trigger message - MeterValues - Specific EVSE
12 Trigger message - MeterValues - All EVSE
13 Trigger message - TransactionEvent - Specific EVSE
14 Trigger message - TransactionEvent - All EVSE
15 Trigger message - LogStatusNotification - Idle
16 Trigger message - LogStatusNotification - Uploading
17 Trigger message - FirmwareStatusNotification - Specific EVSE not relevant
18 Trigger message - FirmwareStatusNotification - Idle
19 Trigger message - FirmwareStatusNotification - Downloading
20 Trigger message - Heartbeat
23 Trigger message - StatusNotification - Specific EVSE - Available
24 Trigger message - StatusNotification - Specific EVSE - Occupied
26 Trigger message - BootNotification - Rejected
27 Trigger message - NotImplemented
"""),
    "G": ("Availability", """
01 Connector status Notification - Available to Occupied
02 Connector status Notification - Occupied to Available
03 Change Availability EVSE - Operative to inoperative
04 Change Availability EVSE - Inoperative to operative
05 Change Availability Charging Station - Operative to inoperative
06 Change Availability Charging Station - Inoperative to operative
07 Change Availability Connector - Operative to inoperative
08 Change Availability Connector - Inoperative to operative
09 Change Availability EVSE - Operative to operative
10 Change Availability EVSE - Inoperative to inoperative
11 Change Availability EVSE - With ongoing transaction
12 Change Availability Charging Station - Operative to operative
13 Change Availability Charging Station - Inoperative to inoperative
14 Change Availability Charging Station - With ongoing transaction
15 Change Availability Connector - Operative to operative
16 Change Availability Connector - Inoperative to inoperative
17 Change Availability Connector - With ongoing transaction
18 Change Availability EVSE - state persists across reboot
19 Change Availability Connector - state persists across reboot
20 Connector status Notification - Lock Failure
21 Change Availability Charging Station - state persists across reboot
"""),
    "H": ("Reservation", """
01 Reserve a specific EVSE - Accepted - Valid idToken
02 Reserve a specific EVSE - Accepted - Different idToken
03 Reserve a specific EVSE - Occupied - EVSE Reserved
04 Reserve a specific EVSE - Occupied - EVSE Occupied
06 Reserve a specific EVSE - Unavailable
07 Reserve a specific EVSE - Reservation Ended / not used
08 Reserve an unspecified EVSE - Accepted
09 Reserve an unspecified EVSE - Occupied - EVSE Reserved
10 Reserve an unspecified EVSE - Occupied - EVSE Occupied
12 Reserve an unspecified EVSE - Unavailable
13 Reserve an unspecified EVSE - Rejected
14 Reserve an unspecified EVSE - Amount of EVSEs available equals the amount of reservations
15 Reserve a connector with a specific type - Success
16 Reserve a connector with a specific type - Amount of available connectors equals reservations
17 Cancel reservation of an EVSE - Success
18 Cancel reservation of an EVSE - Rejected
19 Reserve a specific EVSE - Use a reserved EVSE with GroupId
21 Charging Station cancels reservation when Unavailable
22 Reserve a specific EVSE - Configured to Reject
23 Reserve a specific EVSE - Replace reservation
24 Reserve an unspecified EVSE - GroupIdToken
"""),
    "I": ("Tariff and Cost", """
01 Show EV Driver running total cost during charging - costUpdatedRequest
02 Show EV Driver Final Total Cost After Charging
07 Show EV Driver running total cost during charging - transactionEventResponse
"""),
    "J": ("Meter Values", """
01 Clock-aligned Meter Values - No transaction ongoing
02 Clock-aligned Meter Values - Transaction ongoing
03 Clock-aligned Meter Values - EventType Ended
04 Clock-aligned Meter Values - Signed
06 Clock-aligned Meter Values - No Meter Values during transaction
07 Sampled Meter Values - EventType Started - EVSE known
08 Sampled Meter Values - Context Transaction.Begin - EVSE not known
09 Sampled Meter Values - EventType Updated
10 Sampled Meter Values - EventType Ended
11 Sampled Meter Values - Signed
"""),
    "K": ("Smart Charging", """
01 Set Charging Profile - TxDefaultProfile - Specific EVSE
02 Set Charging Profile - TxProfile without ongoing transaction
03 Set Charging Profile - ChargingStationMaxProfile
04 Replace charging profile - With chargingProfileId
05 Clear Charging Profile - With chargingProfileId
06 Clear Charging Profile - With stackLevel/purpose combination
07 Clear Charging Profile - Unknown stackLevel/purpose
08 Clear Charging Profile - Without previous profile
09 Clear Charging Profile - TxDefaultProfile with ongoing transaction
10 Set Charging Profile - TxDefaultProfile - All EVSE
11 Set Charging Profile - Unable to set TxProfile on all EVSE at once
12 Set Charging Profile - ChargingRateUnit Rejected
13 Set Charging Profile - Persistent over reboot
14 Set Charging Profile - Unexisting EVSEid
15 Set Charging Profile - Not Supported
16 Set Charging Profile - Unknown transactionId
19 Set Charging Profile - ChargingProfileKind is Recurring
21 Set Charging Profile - ValidFrom
22 Set Charging Profile - ValidTo
23 Set Charging Profile - StartSchedule
24 Clear Charging Profile - stackLevel/purpose for multiple profiles
28 Set Charging Profile - TxDefaultProfile with transaction ongoing
29 Get Charging Profile - EvseId 0
30 Get Charging Profile - EvseId > 0
31 Get Charging Profile - No EvseId
32 Get Charging Profile - chargingProfileId
33 Get Charging Profile - EvseId > 0 + stackLevel
34 Get Charging Profile - EvseId > 0 + chargingLimitSource
35 Get Charging Profile - EvseId > 0 + chargingProfilePurpose
36 Get Charging Profile - EvseId > 0 + purpose + stackLevel
37 Remote start transaction with charging profile - Success
38 Remote start transaction with charging profile - Ignore chargingProfile
39 Get Composite Schedule - No ChargingProfile installed
40 Get Composite Schedule - Stacking ChargingProfiles
41 Get Composite Schedule - Combining chargingProfilePurposes
42 Get Composite Schedule - chargingRateUnit not supported
47 Get Composite Schedule - Unknown EVSEId
52 EMS Control - Set / Update External Charging Limit
53 Charging with load leveling based on HLC - Success
54 Charging with HLC - No SASchedule (rejected)
56 Charging with HLC - Offline
57 Renegotiating Charging Schedule ISO 15118-2 - EV initiated
58 Renegotiating Charging Schedule ISO 15118-2 - CSMS initiated
60 Set Charging Profile - TxProfile with ongoing transaction on the specified EVSE
"""),
    "L": ("Firmware Management", """
01 Secure Firmware Update - Installation successful
02 Secure Firmware Update - InstallScheduled
03 Secure Firmware Update - DownloadScheduled
05 Secure Firmware Update - InvalidCertificate
06 Secure Firmware Update - InvalidSignature
07 Secure Firmware Update - DownloadFailed
08 Secure Firmware Update - InstallVerificationFailed or InstallationFailed
10 Secure Firmware Update - AcceptedCanceled
11 Secure Firmware Update - Unable to cancel
12 Secure Firmware Update - Unable to download/install firmware with ongoing transaction - AllowNewSessionsPendingFirmwareUpdate is true
13 Secure Firmware Update - Unable to download/install firmware with ongoing transaction - AllowNewSessionsPendingFirmwareUpdate is false
14 Secure Firmware Update - Unable to install and activate firmware with ongoing transaction - AllowNewSessionsPendingFirmwareUpdate is true
15 Secure Firmware Update - Unable to install and activate firmware with ongoing transaction - AllowNewSessionsPendingFirmwareUpdate is false
16 Secure Firmware Update - Able to update firmware with ongoing transaction
18 Secure Firmware Update - Missing firmware signing certificate and signature
"""),
    "M": ("ISO 15118 Certificate Management", """
01 Install CA certificate - CSMSRootCertificate
02 Install CA certificate - ManufacturerRootCertificate
03 Install CA certificate - V2GRootCertificate
04 Install CA certificate - MORootCertificate
07 Install CA certificate - Rejected - Certificate invalid
09 Install CA certificate - AdditionalRootCertificateCheck - Rejected
12 Retrieve certificates - CSMSRootCertificate
13 Retrieve certificates - ManufacturerRootCertificate
14 Retrieve certificates - V2GRootCertificate
15 Retrieve certificates - V2GCertificateChain
16 Retrieve certificates - MORootCertificate
17 Retrieve certificates - CSMSRootCertificate & ManufacturerRootCertificate
18 Retrieve certificates - All certificateTypes
19 Retrieve certificates - No matching certificate found
20 Delete a certificate - Success
22 Delete a certificate - No matching certificate found
23 Delete a certificate - Unable to delete CS Certificate
24 Get Charging Station Certificate status - Success
25 Get Charging Station Certificate status - Rejected
26 Certificate Installation EV - Success
27 Certificate Installation EV - Failed
28 Certificate Update EV - Success
29 Certificate Update EV - Failed
30 Install CA certificate - AdditionalRootCertificateCheck - Reconnect Success
31 Install CA certificate - AdditionalRootCertificateCheck - Reconnect Fallback
"""),
    "N": ("Diagnostics", """
01 Get Monitoring Report - with monitoringCriteria
02 Get Monitoring Report - with component/variable
03 Get Monitoring Report - criteria + component/variable
04 Get Monitoring Report - unknown component criteria
05 Set Monitoring Base - success
06 Set Monitoring Base - test removal custom monitors
07 Set Monitoring Base - for unknown base type
08 Set Variable Monitoring - one element
09 Set Variable Monitoring - Multiple elements
10 Set Variable Monitoring - Multiple on same component/variable
11 Set Variable Monitoring - Unknown component
12 Set Variable Monitoring - Value out of range - Delta
13 Set Variable Monitoring - Value out of range - Threshold
15 Set Variable Monitoring - Duplicate Variable type/severity combination
16 Set Monitoring Level - Success
17 Set Monitoring Level - Out of range
18 Clear Monitoring - Success
19 Clear Monitoring - Not found
20 Alert Event - Threshold value exceeded
21 Alert Event - Caused by hardwired trigger
22 Offline Notification - Queued (severity equal or lower)
23 Offline Notification - Not queued (severity higher)
24 Set Variable Monitoring - Periodic event
25 Retrieve Log Information - Diagnostics Log - Success
26 Retrieve Log Information - Diagnostics Log - Upload failed
27 Get Customer Information - Accepted + data
28 Get Customer Information - Accepted + no data
29 Get Customer Information - Not Accepted
30 Clear Customer Information - Clear and report + data
31 Clear Customer Information - Clear and report + no data
32 Clear Customer Information - Clear and no report
33 Clear Customer Information - Invalid
34 Retrieve Log Information - Rejected
35 Retrieve Log Information - Security Log - Success
36 Retrieve Log Information - Second Request
37 Set Variable Monitoring - Unknown Variable
38 Set Variable Monitoring - Not supported MonitorType
39 Set Variable Monitoring - Component/Variable combination does NOT correspond
40 Set Variable Monitoring - Replace Variable Monitor
41 Set Variable Monitoring - Return to FactoryDefault
43 Set Variable Monitoring - First SetMonitoringData and third SetMonitoringData are valid, but the second contains an out of range value
44 Clear Monitoring - Rejected
45 Alert Event - Delta value exceeded
47 Get Monitoring Report - Report all
48 Alert Event - Variable monitoring on write only
51 Set Variable Monitoring - Modifying a VariableMonitor and trigger
52 Set Variable Monitoring - Removing a VariableMonitor
53 Alert Event - Persistent over reboot
56 Alert Event - Delta value NOT numeric exceeded
61 Alert Event - Variable monitoring on numeric
62 Clear Customer Information - customerIdentifier
63 Clear Customer Information - customerCertificate
"""),
    "O": ("Display Message", """
01 Set Display Message - Success
02 Get all Display Messages - Success
03 Get all Display Messages - None configured
04 Clear Display Message - Success
05 Clear Display Message - Unknown Key
06 Set Display Message - Specific transaction - Success
07 Get Specific Display Message - Id
08 Get Specific Display Message - Priority
09 Get Specific Display Message - State
10 Set Display Message - Specific transaction - UnknownTransaction
11 Get Specific Display Message - Unknown parameters
12 Set Display Message - Replace DisplayMessage
13 Set Display Message - Display at StartTime
14 Set Display Message - Remove after EndTime
17 Set Display Message - NotSupportedPriority
18 Set Display Message - NotSupportedState
19 Set Display Message - NotSupportedMessageFormat
20 Set Display Message - Persistent over reboot
22 Set Display Message - Multiple In front priority
24 Set Display Message - Second Alwaysfront priority
27 Set Display Message - Transaction - StartTime
28 Set Display Message - Transaction - EndTime
30 Set Display Message - Transaction - Multiple InFront
32 Set Display Message - Transaction - Second AlwaysFront
33 Get Specific Display Message - No messages configured
34 Get Specific Display Message - Known Id, not matching State
35 Get Specific Display Message - Known Id, not matching Priority
36 Set Display Message - State Charging
37 Set Display Message - State Idle
38 Set Display Message - State Unavailable
39 Set Display Message - State Faulted
"""),
    "P": ("Data Transfer", """
01 Data Transfer to CS - Rejected / Unknown VendorId / Unknown MessageId
03 CustomData - Receive custom data
04 Able to receive customData - ChargingProfile
"""),
}

# The 2.0.1-range count of each block in octt-cases.md ("block (2.0.1-range / total)").
BLOCK_SIZES = {"A": 16, "B": 48, "C": 53, "D": 9, "E": 47, "F": 24, "G": 21, "H": 21, "I": 3, "J": 10,
               "K": 44, "L": 15, "M": 25, "N": 52, "O": 31, "P": 3}


def _cases() -> list[Case]:
    out = []
    for block, (title, lines) in _BLOCKS.items():
        for line in lines.strip().splitlines():
            number, name = line.split(" ", 1)
            out.append(Case(f"TC_{block}_{number}_CS", name, f"{block} {title}"))
    return out


CASES: list[Case] = _cases()
BY_ID: dict[str, Case] = {c.id: c for c in CASES}


# ---- cases that do not apply, and the fact that makes each so ------------------------------
#
# The facts are read from the agent itself: the OCPP 2.0.1 device model it builds for a station
# with every part it can drive (tests/ocpp201/helpers.py full_station), its config sections and
# its driver interfaces. A fact that stops holding fails test_not_applicable.py.


@functools.cache
def _device_model():
    from tests.ocpp201.helpers import model

    return model()


def _values(component: str, variable: str, dm=None) -> list:
    """The Actual values of ``component.variable`` over every instance of the component (empty if absent)."""
    dm = dm or _device_model()
    out: list = []
    for definition in dm.definitions():
        if definition.component.name == component and definition.variable.name == variable:
            value = dm.value(definition)
            out.extend(value if isinstance(value, list) else [value])
    return out


def _values_list(component: str, variable: str) -> tuple:
    """The characteristics' valuesList of ``component.variable`` (empty if absent)."""
    for definition in _device_model().definitions():
        if definition.component.name == component and definition.variable.name == variable:
            return tuple(definition.characteristics.values_list or ())
    return ()


def _has_component(name: str) -> bool:
    return any(c.name == name for c in _device_model().components())


def no_iso15118(dm=None) -> bool:
    """No ISO 15118 high-level communication: every connector speaks IEC 61851-1 PWM only
    (Connector.ChargeProtocol), no ISO15118Ctrlr is reported enabled, and no eMAID (contract)
    idToken type is supported. ``dm``: the device model to read (the agent's by default)."""
    protocols = set(_values("Connector", "ChargeProtocol", dm))
    iso_enabled = [v for v in _values("ISO15118Ctrlr", "Enabled", dm) + _values("ISO15118Ctrlr", "Available", dm) if v]
    return (protocols == {"CPPWM"} and not iso_enabled
            and "eMAID" not in _values("AuthCtrlr", "SupportedIdTokenTypes", dm))


def no_signed_meter_values() -> bool:
    """No meter that signs its readings: the meter interface carries no signed data, the device
    model has no SignReadings variable, and DataSigned is no transaction start point."""
    import dataclasses

    from drivers.interfaces import MeterReading

    signed_field = any("sign" in f.name.lower() for f in dataclasses.fields(MeterReading))
    sign_variable = any(d.variable.name.startswith("Sign") for d in _device_model().definitions()
                        if d.component.name in ("SampledDataCtrlr", "AlignedDataCtrlr"))
    return not signed_field and not sign_variable and "DataSigned" not in _values_list("TxCtrlr", "TxStartPoint")


def no_parking_bay_sensor() -> bool:
    """No parking bay occupancy sensor: no such input in [connectors.gpio], no BayOccupancySensor
    component, and ParkingBayOccupancy is no transaction start or stop point."""
    import dataclasses

    from agent.app.config import GpioSection

    bay_input = any(word in f.name for f in dataclasses.fields(GpioSection) for word in ("bay", "parking", "occupan"))
    points = set(_values_list("TxCtrlr", "TxStartPoint")) | set(_values_list("TxCtrlr", "TxStopPoint"))
    return not bay_input and not _has_component("BayOccupancySensor") and "ParkingBayOccupancy" not in points


def charges_iec61851_evs() -> bool:
    """Every connector charges an IEC 61851-1 EV (Connector.ChargeProtocol CPPWM): the station is
    one that is able to, so the variant of the test for one that is not does not apply."""
    protocols = _values("Connector", "ChargeProtocol")
    return bool(protocols) and all(p == "CPPWM" for p in protocols)


def serves_every_base_report() -> bool:
    from agent.ocpp201.reports import ReportBase

    return {b.value for b in ReportBase} == {"ConfigurationInventory", "FullInventory", "SummaryInventory"}


def resets_an_evse() -> bool:
    values = _values("EVSE", "AllowReset")
    return bool(values) and all(v is True for v in values)


def both_rate_units() -> bool:
    return set(_values("SmartChargingCtrlr", "RateUnit")) == {"A", "W"}


def smart_charging() -> bool:
    return _values("SmartChargingCtrlr", "Available") == [True]


def no_external_limit_input() -> bool:
    """No energy management system (or other external system) that sets a charging limit: no
    setting in the agent's config names one (agent/app/config.py), and the 2.0.1 adapter takes no
    ChargingStationExternalConstraints profile."""
    import dataclasses

    from agent.app import config
    from agent.ocpp201.handlers.smart_charging import PURPOSE

    words = {part for cls in vars(config).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)
             for f in dataclasses.fields(cls) for part in f.name.split("_")}
    return not words & {"ems", "external", "grid", "load", "energy"} and "ChargingStationExternalConstraints" not in PURPOSE


def keeps_no_iso15118_roots() -> bool:
    """No ISO 15118 stack, and the certificate handler keeps only the CSMS and manufacturer roots:
    V2GRootCertificate and MORootCertificate are neither installed nor reported."""
    from agent.ocpp201.handlers.certificates import ROOT_KINDS

    return no_iso15118() and set(ROOT_KINDS) == {"CSMSRootCertificate", "ManufacturerRootCertificate"}


def installs_after_the_transactions_downloads_during_them() -> bool:
    """The firmware updater downloads while transactions run and installs once they ended
    (L01.FR.06): agent/maintenance/firmware.py says so and acts on it."""
    from agent.maintenance import firmware

    return firmware.INSTALL_WAITS_FOR_TRANSACTIONS and not firmware.DOWNLOAD_WAITS_FOR_TRANSACTIONS


def shows_every_priority() -> bool:
    """DisplayMessageCtrlr.SupportedPriorities lists every MessagePriorityEnumType value."""
    return set(_values("DisplayMessageCtrlr", "SupportedPriorities")) == {"AlwaysFront", "InFront", "NormalCycle"}


def shows_in_every_state() -> bool:
    """Every MessageStateEnumType value is a state the station tells apart (agent/core/display_messages.py
    state_of) and the handler accepts (SUPPORTED_STATES)."""
    from agent.core.display_messages import MessageState, state_of
    from agent.core.session import ConnectorStatus
    from agent.ocpp201.handlers.display_messages import SUPPORTED_STATES

    reached = {state_of(status, running) for status in ConnectorStatus for running in (False, True)}
    return ({s.value for s in MessageState} == {"Charging", "Faulted", "Idle", "Unavailable"}
            and reached == set(MessageState) == set(SUPPORTED_STATES))


def no_ui_to_choose_a_transaction() -> bool:
    """The EV driver's side of the station is a card reader, a display (output only) and safety
    inputs: drivers/interfaces.py has no keypad, touch screen or menu to pick a transaction with."""
    import inspect

    from drivers import interfaces

    names = [name.lower() for name, _ in inspect.getmembers(interfaces, inspect.isclass)]
    display_reads = [m for m in dir(interfaces.Display) if any(w in m for w in ("press", "touch", "key", "select"))]
    return not display_reads and not any(w in n for n in names for w in ("keypad", "touch", "keyboard", "menu"))


_NO_INPUT_UI = ("no user interface with input capabilities (a card reader and an output-only display): "
                "a master pass stops every transaction (C16.FR.02, TC_C_49 applies instead)")
def serves_every_monitoring_base() -> bool:
    """SetMonitoringBase takes All, FactoryDefault and HardWiredOnly (agent/core/monitoring.py),
    and MonitoringCtrlr.ActiveMonitoringBase lists the three."""
    from agent.core.monitoring import MonitoringBase

    bases = {"All", "FactoryDefault", "HardWiredOnly"}
    return {b.value for b in MonitoringBase} == bases and set(_values_list("MonitoringCtrlr", "ActiveMonitoringBase")) == bases


_FIRMWARE_WAITS = ("the station downloads a firmware update while transactions run and installs it once they "
                   "ended (L01.FR.06); ")
_ISO15118 = "no ISO 15118 stack: the station charges by IEC 61851-1 PWM only (Connector.ChargeProtocol CPPWM), "
_V2G_ROOTS = _ISO15118 + "so it has no use for ISO 15118 trust anchors: V2G and MO roots are Rejected and never listed"

# case id -> (reason, the fact as a check that must hold)
NOT_APPLICABLE: dict[str, tuple[str, Callable[[], bool]]] = {
    "TC_A_12_CS": (_ISO15118 + "so it has no V2G charging station certificate to renew (SignV2GCertificate)",
                   no_iso15118),
    **{f"TC_C_{n}_CS": (_ISO15118 + "so no contract certificate (eMAID) reaches it to authorize with", no_iso15118)
       for n in range(50, 56)},
    **{f"TC_C_{n}_CS": (_NO_INPUT_UI, no_ui_to_choose_a_transaction)
       for n in (47, 48)},
    "TC_E_11_CS": ("no meter that signs its readings: DataSigned cannot be a TxStartPoint", no_signed_meter_values),
    "TC_E_12_CS": ("no parking bay occupancy sensor: ParkingBayOccupancy cannot be a TxStartPoint",
                   no_parking_bay_sensor),
    "TC_E_19_CS": ("no parking bay occupancy sensor: ParkingBayOccupancy cannot be a TxStopPoint",
                   no_parking_bay_sensor),
    "TC_E_46_CS": (_ISO15118 + "so no EV ends charging over ISO 15118", no_iso15118),
    "TC_E_54_CS": ("the station is able to charge IEC 61851-1 EVs (Connector.ChargeProtocol CPPWM): its EV-side "
                   "disconnect is TC_E_20; this variant is for stations that are not", charges_iec61851_evs),
    "TC_J_04_CS": ("no meter that signs its readings: no signedMeterValue to send in clock-aligned values",
                   no_signed_meter_values),
    "TC_J_11_CS": ("no meter that signs its readings: no signedMeterValue to send in sampled values",
                   no_signed_meter_values),
    **{f"TC_K_{n}_CS": (_ISO15118 + "so there is no high-level communication (SASchedules, renegotiation) with the EV",
                        no_iso15118)
       for n in (53, 54, 56, 57, 58)},
    "TC_L_12_CS": (_FIRMWARE_WAITS + "it does not put off the download: TC_L_14 applies instead",
                   installs_after_the_transactions_downloads_during_them),
    "TC_L_13_CS": (_FIRMWARE_WAITS + "it does not put off the download: TC_L_15 applies instead",
                   installs_after_the_transactions_downloads_during_them),
    "TC_L_16_CS": (_FIRMWARE_WAITS + "it cannot install with a transaction ongoing: TC_L_14 and TC_L_15 apply instead",
                   installs_after_the_transactions_downloads_during_them),
    "TC_M_03_CS": (_V2G_ROOTS + " (InstallCertificate V2GRootCertificate)", keeps_no_iso15118_roots),
    "TC_M_04_CS": (_V2G_ROOTS + " (InstallCertificate MORootCertificate)", keeps_no_iso15118_roots),
    "TC_M_14_CS": (_V2G_ROOTS + " (GetInstalledCertificateIds V2GRootCertificate)", keeps_no_iso15118_roots),
    "TC_M_15_CS": (_ISO15118 + "so it holds no V2G certificate chain to report", no_iso15118),
    "TC_M_16_CS": (_V2G_ROOTS + " (GetInstalledCertificateIds MORootCertificate)", keeps_no_iso15118_roots),
    "TC_M_24_CS": (_ISO15118 + "so it has no V2G certificate whose OCSP status to ask for (GetCertificateStatus)",
                   no_iso15118),
    "TC_M_25_CS": (_ISO15118 + "so it has no V2G certificate whose OCSP status to ask for (GetCertificateStatus)",
                   no_iso15118),
    **{f"TC_M_{n}_CS": (_ISO15118 + "so no EV asks it to install or update a contract certificate "
                        "(Get15118EVCertificate)", no_iso15118)
       for n in (26, 27, 28, 29)},
    "TC_B_15_CS": ("the station serves all three base reports (ConfigurationInventory, FullInventory, "
                   "SummaryInventory); TC_B_12-14 apply instead", serves_every_base_report),
    "TC_B_28_CS": ("the station resets a single EVSE (EVSE.AllowReset true); TC_B_25 applies instead", resets_an_evse),
    "TC_B_29_CS": ("the station resets a single EVSE (EVSE.AllowReset true); TC_B_26/27 apply instead",
                   resets_an_evse),
    "TC_K_12_CS": ("the station takes charging schedules in both A and W (SmartChargingCtrlr.RateUnit), "
                   "so no rate unit is rejected", both_rate_units),
    "TC_K_15_CS": ("the station supports smart charging (SmartChargingCtrlr.Available), so it never answers "
                   "NotSupported", smart_charging),
    "TC_K_42_CS": ("the station computes composite schedules in both A and W (SmartChargingCtrlr.RateUnit)",
                   both_rate_units),
    # O Display message
    "TC_O_17_CS": (("the station shows messages of every priority (DisplayMessageCtrlr.SupportedPriorities: "
                    "AlwaysFront, InFront, NormalCycle), so it never answers NotSupportedPriority"),
                   shows_every_priority),
    "TC_O_18_CS": (("the station shows messages in every state (Charging, Faulted, Idle, Unavailable: each one it "
                    "tells apart), so it never answers NotSupportedState"), shows_in_every_state),
    "TC_K_38_CS": ("the station supports smart charging (SmartChargingCtrlr.Available), so it takes a remote "
                   "start's charging profile rather than ignoring it: TC_K_37 applies instead", smart_charging),
    "TC_K_52_CS": ("no energy management system or other external input sets a charging limit on this station "
                   "(no such setting; ChargingStationExternalConstraints is never installed), so there is no "
                   "external limit to report", no_external_limit_input),
    "TC_N_07_CS": ("the station serves every monitoring base (All, FactoryDefault, HardWiredOnly), so none is "
                   "NotSupported (N03.FR.02)", serves_every_monitoring_base),
}


def not_applicable(case_id: str) -> None:
    """Skip a case that does not apply, after checking the fact that makes it so."""
    reason, holds = NOT_APPLICABLE[case_id]
    assert holds(), f"{case_id} was not applicable because {reason}; that is no longer so: write its test"
    pytest.skip(f"not applicable: {reason}")


def not_yet_implemented(reason: str) -> None:
    """In a case's test: the station cannot do this yet (the table says "not yet implemented")."""
    pytest.xfail(f"not yet implemented: {reason}")
