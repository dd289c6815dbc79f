"""Hypothesis strategies for frames a backend may send, in OCPP 1.6 and 2.0.1: the fuzz corpus.

Used by tests/faults/test_fuzz_frames.py (thrown at a running agent) and by
tests/ocppj/test_validation.py (the compiled validators against the library's).
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

# Requests a backend may send (OCPP 1.6 §5), less those whose valid forms end or pause a
# session on purpose (Reset, UnlockConnector, RemoteStop, availability, charging limits,
# firmware): those are the behaviours the other tests check.
ACTIONS = [
    "CancelReservation", "ChangeConfiguration", "ClearCache", "ClearChargingProfile", "DataTransfer",
    "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "ReserveNow", "SendLocalList", "TriggerMessage",
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds",
    "GetLog", "InstallCertificate",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
FIELDS = ["idTag", "connectorId", "key", "value", "vendorId", "messageId", "data", "requestedMessage",
          "listVersion", "updateType", "reservationId", "expiryDate", "location", "type", "chargingProfile",
          "transactionId", "duration", "id", "stackLevel", "certificateType", "certificate"]
payloads = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=6)


def frames_of(actions: list[str], payloads: st.SearchStrategy) -> st.SearchStrategy[str]:
    """Frames of one OCPP version: CALLs of its ``actions`` (or any name), wrong shapes, not JSON."""
    calls = st.tuples(st.just(2), st.text(min_size=1, max_size=36), st.sampled_from(actions) | st.text(max_size=20),
                      payloads)
    return st.one_of(
        calls.map(lambda c: json.dumps(list(c))),
        st.lists(json_values, max_size=5).map(json.dumps),  # wrong shapes, wrong message types
        st.tuples(st.sampled_from([3, 4]), st.text(max_size=36), json_values).map(lambda t: json.dumps(list(t))),
        st.text(max_size=200),  # not JSON at all
        st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
        st.integers(1_000, 200_000).map(
            lambda n: json.dumps([2, "huge", "DataTransfer", {"vendorId": "x", "data": "D" * n}])),
    )


frames = frames_of(ACTIONS, payloads)

# OCPP 2.0.1 (Part 2 §1): the requests a CSMS may send, less those whose valid forms end or pause
# a session on purpose (Reset, UnlockConnector, RequestStopTransaction, ChangeAvailability,
# charging profiles, UpdateFirmware, SetVariables and SetNetworkProfile that may change how the
# station charges or connects): those are the behaviours the other tests check.
ACTIONS_201 = [
    "CancelReservation", "CertificateSigned", "ClearCache", "ClearDisplayMessage", "ClearVariableMonitoring",
    "CostUpdated", "CustomerInformation", "DataTransfer", "DeleteCertificate", "GetBaseReport",
    "GetCompositeSchedule", "GetDisplayMessages", "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
    "GetMonitoringReport", "GetReport", "GetTransactionStatus", "GetVariables", "InstallCertificate",
    "RequestStartTransaction", "ReserveNow", "SendLocalList", "SetDisplayMessage", "SetMonitoringBase",
    "SetMonitoringLevel", "SetVariableMonitoring", "TriggerMessage",
]
FIELDS_201 = ["idToken", "evseId", "remoteStartId", "requestId", "reportBase", "component", "variable",
              "getVariableData", "componentVariable", "vendorId", "messageId", "data", "requestedMessage", "evse",
              "versionNumber", "updateType", "localAuthorizationList", "id", "expiryDateTime", "transactionId",
              "totalCost", "certificateChain", "certificateType", "certificate", "certificateHashData", "logType",
              "log", "message", "monitoringBase", "severity", "setMonitoringData", "duration", "report", "clear"]
payloads_201 = st.dictionaries(st.sampled_from(FIELDS_201) | st.text(max_size=10), json_values, max_size=6)
frames_201 = frames_of(ACTIONS_201, payloads_201)
