import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ocpp16.keys import ChangeResult, ConfigurationKeys
from agent.ocppj import wire
from agent.ocppj.wire import call_error_for_malformed, fix_outgoing, screen
from agent.persistence.settings import Settings
from agent.persistence.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite")
    yield s
    s.close()


def test_change_configuration_rules(store):
    keys = ConfigurationKeys(Settings(store), number_of_connectors=2)
    assert keys.change("HeartbeatInterval", "120") is ChangeResult.ACCEPTED
    assert keys.change("HeartbeatInterval", "soon") is ChangeResult.REJECTED
    assert keys.change("HeartbeatInterval", "-5") is ChangeResult.REJECTED
    assert keys.change("NumberOfConnectors", "3") is ChangeResult.REJECTED  # read-only
    assert keys.change("NoSuchKey", "1") is ChangeResult.NOT_SUPPORTED
    assert keys.change("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus") is ChangeResult.REJECTED
    assert keys.change("StopTransactionOnEVSideDisconnect", "maybe") is ChangeResult.REJECTED
    assert keys.change("StopTransactionOnEVSideDisconnect", "FALSE") is ChangeResult.ACCEPTED
    known, unknown = keys.get(["HeartbeatInterval", "NumberOfConnectors", "Nope"])
    assert known == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "120"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
    ]
    assert unknown == ["Nope"]


def test_changed_keys_survive_a_restart(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    ConfigurationKeys(Settings(store), 1).change("MeterValueSampleInterval", "15")
    store.close()
    store = Store(tmp_path / "db.sqlite")
    # The backend's value wins over the config file's initial value.
    keys = ConfigurationKeys(Settings(store, {"meter_sample_interval_s": 60}), 1)
    assert keys.get(["MeterValueSampleInterval"])[0][0]["value"] == "15"
    store.close()


def test_get_all_keys_lists_every_core_key(store):
    known, unknown = ConfigurationKeys(Settings(store), 1).get(None)
    names = {k["key"] for k in known}
    assert not unknown
    for name in ("AuthorizeRemoteTxRequests", "ConnectionTimeOut", "MeterValuesSampledData", "SupportedFeatureProfiles",
                 "TransactionMessageAttempts", "WebSocketPingInterval", "GetConfigurationMaxKeys"):
        assert name in names


@pytest.mark.parametrize(
    "library_code, spec_code",
    [("NotSupported", "NotImplemented"), ("NotImplemented", "NotSupported"), ("FormatViolation", "FormationViolation")],
)
def test_call_errors_are_spelt_as_ocpp_j_1_6(library_code, spec_code):
    frame = json.dumps([4, "42", library_code, "x", {}])
    assert json.loads(fix_outgoing(frame))[2] == spec_code


def test_other_frames_pass_unchanged():
    for frame in ['[3,"1",{}]', '[4,"1","ProtocolError","",{}]', '[2,"1","Heartbeat",{}]']:
        assert fix_outgoing(frame) == frame


def test_malformed_call_gets_formation_violation():
    error = json.loads(call_error_for_malformed('[2, "abc", "Heartbeat"]'))
    assert error[:3] == [4, "abc", "FormationViolation"]
    assert call_error_for_malformed('[2, "abc", "Heartbeat", {}]') is None
    assert call_error_for_malformed("not json") is None


# ---- frames that made the library raise out of its receive loop (issue 17, item 7) -------------


def profile_frame(limit: str, unique_id: str = "p1") -> str:
    return (
        f'[2,"{unique_id}","SetChargingProfile",{{"connectorId":0,"csChargingProfiles":{{"chargingProfileId":1,'
        '"stackLevel":0,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Absolute",'
        f'"chargingSchedule":{{"chargingRateUnit":"A","chargingSchedulePeriod":[{{"startPeriod":0,"limit":{limit}}}]}}}}}}]'
    )


@pytest.mark.parametrize(
    "limit, code",
    [("NaN", "FormationViolation"), ("Infinity", "FormationViolation"), ("-Infinity", "FormationViolation"),
     ("1e308", "PropertyConstraintViolation"), ("1e400", "PropertyConstraintViolation"),
     ("-9007199254740992", "PropertyConstraintViolation")],
)
def test_numbers_no_ocpp_field_can_hold_get_a_call_error(limit, code):
    screened = screen(profile_frame(limit))
    assert screened.forward is None
    assert json.loads(screened.answer)[:3] == [4, "p1", code]


def test_ordinary_numbers_pass():
    for limit in ("16", "16.5", "0", "9007199254740991", "22000.0"):
        screened = screen(profile_frame(limit))
        assert screened.answer is None and screened.forward == profile_frame(limit)


def test_an_answer_with_such_a_number_becomes_an_error_for_the_waiting_call():
    screened = screen('[3,"m7",{"transactionId":1e308,"idTagInfo":{"status":"Accepted"}}]')
    assert screened.answer is None
    assert json.loads(screened.forward)[:3] == [4, "m7", "PropertyConstraintViolation"]
    assert json.loads(screen('[3,"m8",{"currentTime":NaN}]').forward)[:3] == [4, "m8", "FormationViolation"]


def test_an_unknown_error_code_becomes_generic_error():
    assert json.loads(screen('[4,"m9","Teapot","",{}]').forward)[:3] == [4, "m9", "GenericError"]
    assert screen('[4,"m9","ProtocolError","",{}]').forward == '[4,"m9","ProtocolError","",{}]'


def test_json_nested_too_deeply_gets_formation_violation_or_is_dropped():
    deep = "[" * 100_000 + "]" * 100_000
    screened = screen('[2,"d1","DataTransfer",{"vendorId":"x","data":' + deep + "}]")
    assert json.loads(screened.answer)[:3] == [4, "d1", "FormationViolation"] and screened.forward is None
    screened = screen(deep)
    assert screened.answer is None and screened.forward is None


def test_frames_of_any_shape_pass_screening_to_the_library():
    for frame in ('[4,"x",[1],"",{}]', '[4,"x",{"a":1}]', '[3]', '[2]', '[4]', '[3,["x"],{}]', '{"a":1}', '[]', '7'):
        screened = screen(frame)
        assert screened.forward == frame and screened.answer is None, frame


@given(st.one_of(
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                 lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20).map(json.dumps),
    st.text(alphabet='[]{}",:0123456789.eE+-NaIfinitytruefalsenul \ufeff', max_size=40),
))
@settings(max_examples=500, deadline=None)
def test_frames_parse_as_json_loads_parses_them(text):
    """The screen's decoder, made once, reads a frame exactly as json.loads(parse_constant=...) does:
    the same value (NaN / Infinity as what the screen refuses), or the same kind of error."""
    def read(parse, frame):
        try:
            return ("value", _comparable(parse(frame)))
        except (ValueError, RecursionError) as exc:
            return ("error", type(exc))

    for frame in (text, text.encode()):
        assert read(wire._parse, frame) == read(lambda f: json.loads(f, parse_constant=wire._NotJson), frame)


def _comparable(value):
    """A parsed frame with its NaN / Infinity markers as their names (they compare by identity)."""
    if isinstance(value, wire._NotJson):
        return ("not json", value.name)
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return "nan"
    return value
