import json

import pytest

from agent.ocpp16.keys import ChangeResult, ConfigurationKeys
from agent.ocpp16.wire import call_error_for_malformed, fix_outgoing
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
