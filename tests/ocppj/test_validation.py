"""The compiled validators accept and reject exactly what the ocpp library's validation does.

Reference: ``ocpp.messages._validate_payload``, the body of the library's public
``validate_payload`` (which only adds a thread hop when ``ASYNC_VALIDATION`` is on). For every
payload of the corpus both must give the same verdict: accepted with the same resulting
payload (the library re-parses three 1.6 messages into Decimal numbers), or rejected with
the same exception class, OCPP-J error code, description and cause. And the compiled
validator alone must accept every payload the library accepts: valid messages never reach
``jsonschema``.

Corpus: every schema file of OCPP 1.6 and 2.0.1 (tests/ocppj/corpus.py: valid payloads,
every single breakage of them, pairs of breakages, hypothesis-generated near-valid
payloads) and the fuzz corpus of tests/faults/test_fuzz_frames.py.
"""

from __future__ import annotations

import copy
import json
import math
from collections import Counter

import ocpp.messages
import pytest
from fastjsonschema import JsonSchemaValueException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.exceptions import FormatViolationError, NotImplementedError, OCPPError
from ocpp.messages import Call, CallResult, MessageType

from agent.ocppj.validation import compiled_validator, validate_payload
from tests.faults import frames as fuzz
from tests.ocppj.corpus import all_schemas, instance, mutations, paired_mutations, payloads

SCHEMAS = all_schemas()
V16 = [s for s in SCHEMAS if s.version == "1.6"]
TALLY: Counter = Counter()  # what the corpus covered, printed at the end (pytest -s)
# test_zzz_corpus_size reads the tally of the whole module: one xdist worker runs it all, in order.
pytestmark = pytest.mark.xdist_group("ocppj-validation-corpus")


DECIMAL_ACTIONS = {"SetChargingProfile", "RemoteStartTransaction", "GetCompositeSchedule"}


def message(kind: int, action: str, payload):
    if action in DECIMAL_ACTIONS:
        payload = copy.deepcopy(payload)  # validation replaces its numbers by Decimals
    if kind == MessageType.Call:
        return Call("id-1", action, payload)
    return CallResult("id-1", payload, action)


def outcome(validate, kind: int, action: str, version: str, payload):
    msg = message(kind, action, payload)
    try:
        validate(msg, version)
    except OCPPError as exc:
        return ("rejected", type(exc), exc.code, exc.description, exc.details.get("cause"))
    except Exception as exc:
        return ("failed", type(exc))
    return ("accepted", repr(msg.payload))


def compiled_alone(kind: int, action: str, version: str, payload) -> str:
    check = compiled_validator(kind, action, version)
    try:
        check(payload)  # compiled without defaults: it does not write into the payload
    except JsonSchemaValueException:
        return "rejected"
    except Exception:
        return "failed"
    return "accepted"


def assert_same(kind: int, action: str, version: str, payload) -> None:
    library = outcome(ocpp.messages._validate_payload, kind, action, version, payload)
    ours = outcome(validate_payload, kind, action, version, payload)
    alone = compiled_alone(kind, action, version, payload)
    context = f"{version} {action} {'CALL' if kind == 2 else 'CALLRESULT'} {payload!r:.300}"
    if library[0] == "failed":
        # The library's validator fails itself (NaN, Infinity, 1e27, 10**400 in a multipleOf
        # field): the compiled verdict stands, a rejection as FormatViolation, instead of an
        # exception that ends the receive loop (agent/ocppj/validation.py).
        if alone == "accepted":
            assert ours[0] == "accepted", (context, library, ours)
            TALLY["library failed, compiled accepted"] += 1
        else:
            assert ours[:3] == ("rejected", FormatViolationError, "FormatViolation"), (context, library, ours)
            TALLY["library failed, FormatViolation"] += 1
        return
    assert ours == library, context
    if library[0] == "accepted":
        assert alone == "accepted", f"compiled validator rejects a payload the library accepts: {context}"
        TALLY[f"{version} accepted"] += 1
    else:
        assert alone != "accepted", f"compiled validator accepts a payload the library rejects: {context}"
        TALLY[f"{version} {library[2]}"] += 1


def test_every_schema_file_of_the_library_compiles():
    assert len([s for s in SCHEMAS if s.version == "1.6"]) == 78
    assert len([s for s in SCHEMAS if s.version == "2.0.1"]) == 128
    for schema in SCHEMAS:
        assert callable(compiled_validator(schema.message_type_id, schema.action, schema.version))


@pytest.mark.parametrize("schema", SCHEMAS, ids=str)
def test_schema_corpus_same_verdict_and_error(schema):
    root = schema.root
    args = (schema.message_type_id, schema.action, schema.version)
    minimal, full = instance(root, root, full=False), instance(root, root, full=True)
    cases = [minimal, full, *mutations(full, schema), *mutations(minimal, schema),
             *paired_mutations(full, schema, count=40, seed=len(str(schema)))]
    for payload in cases:
        assert_same(*args, payload)
    TALLY["schema corpus payloads"] += len(cases)


@settings(max_examples=1500, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.sampled_from(SCHEMAS).flatmap(lambda s: st.tuples(st.just(s), payloads(s))))
def test_generated_payloads_same_verdict_and_error(case):
    schema, payload = case
    assert_same(schema.message_type_id, schema.action, schema.version, payload)
    TALLY["hypothesis payloads"] += 1


@settings(max_examples=800, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fuzz.frames, fuzz.payloads, st.sampled_from(V16))
def test_fuzz_corpus_same_verdict_and_error(frame, payload, schema):
    """The fuzz frames' payloads, as the library unpacks them, against 1.6 schemas."""
    # The random payload against a 1.6 schema, and against its action when it names one.
    assert_same(schema.message_type_id, schema.action, "1.6", payload)
    try:
        msg = ocpp.messages.unpack(frame)
    except OCPPError:
        return  # the library drops it before any validation
    if isinstance(msg, Call):
        if isinstance(msg.action, str) and msg.action in {s.action for s in V16 if s.message_type_id == 2}:
            assert_same(MessageType.Call, msg.action, "1.6", msg.payload)
        assert_same(schema.message_type_id, schema.action, "1.6", msg.payload)
    elif isinstance(msg, CallResult):
        assert_same(MessageType.CallResult, schema.action, "1.6", msg.payload)
    TALLY["fuzz frames"] += 1


@pytest.mark.parametrize("limit", [math.nan, math.inf, -math.inf, 10**400])
def test_a_number_the_library_cannot_check_is_a_format_violation(limit):
    """OCPP-J 1.6 §4.2.3: a CALLERROR, where ocpp 2.1.0's validator raises TypeError/ValueError."""
    payload = {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}}
    with pytest.raises(FormatViolationError):
        validate_payload(Call("1", "SetChargingProfile", payload), "1.6")


def test_decimal_payloads_like_the_library():
    payload = {"idTag": "T", "chargingProfile": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {"chargingRateUnit": "A", "minChargingRate": 6.1,
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}}
    msg = Call("1", "RemoteStartTransaction", json.loads(json.dumps(payload)))
    validate_payload(msg, "1.6")
    schedule = msg.payload["chargingProfile"]["chargingSchedule"]
    assert repr(schedule["chargingSchedulePeriod"][0]["limit"]) == "Decimal('21.4')"
    assert repr(schedule["minChargingRate"]) == "Decimal('6.1')"
    with pytest.raises(FormatViolationError):  # 0.1 is the step (multipleOf)
        validate_payload(Call("1", "RemoteStartTransaction", {**payload, "chargingProfile": {
            **payload["chargingProfile"], "chargingSchedule": {
                "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.45}]}}}), "1.6")


@pytest.mark.parametrize("action", ["NoSuchAction", "../v201/schemas/HeartbeatRequest", "Heart\x00beat", ""])
def test_an_action_without_schema_is_not_implemented(action):
    # The library opens whatever path the name makes (a name with a NUL raises ValueError);
    # here only plain names are looked up. Actions reach validation only after routing.
    with pytest.raises(NotImplementedError):
        validate_payload(Call("1", action, {}), "1.6")


def test_zzz_corpus_size(capsys):
    """Prints what the corpus covered (run with -s to see it); every code was exercised."""
    if TALLY["schema corpus payloads"] == 0:
        pytest.skip("run with the corpus tests")
    assert TALLY["1.6 accepted"] and TALLY["2.0.1 accepted"]
    for version in ("1.6", "2.0.1"):
        for code in ("TypeConstraintViolation", "FormatViolation", "ProtocolError"):
            assert TALLY[f"{version} {code}"], (version, code)
    with capsys.disabled():
        print("\nocppj equivalence corpus:", dict(sorted(TALLY.items())))
