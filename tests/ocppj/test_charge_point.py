"""agent.ocppj's ChargePoint behaves on the wire exactly like the library's, only faster.

Both classes (``ocpp.v16.ChargePoint`` and ``agent.ocppj.v16.ChargePoint``) get the same
handlers and talk over a real websocket to the raw test peer (tests/integration/raw_csms.py);
every frame they send and every value their handlers receive must be the same. And the
one-pass conversions equal the library's for every call and call_result dataclass of 1.6 and
2.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import inspect
import json
import math
import typing

import ocpp.v16
import ocpp.v16.call
import ocpp.v16.call_result
import ocpp.v201.call
import ocpp.v201.call_result
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.datatypes import MeterValue, SampledValue
from websockets.asyncio.client import connect

import agent.ocppj.v16
from agent.ocppj.charge_point import from_wire, to_wire
from tests.integration.raw_csms import RawCsms


class Handlers:
    """The same @on/@after handlers on both classes; what they were given, in ``seen``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list = []
        self.after_done = asyncio.Event()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id, cs_charging_profiles):
        self.seen.append(("SetChargingProfile", connector_id, cs_charging_profiles))
        return call_result.SetChargingProfile(status="Accepted")

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None, call_unique_id=None):
        self.seen.append(("RemoteStartTransaction", id_tag, connector_id, charging_profile, call_unique_id))
        return call_result.RemoteStartTransaction(status="Accepted")

    @after("RemoteStartTransaction")
    async def after_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        self.seen.append(("after RemoteStartTransaction", id_tag))
        self.after_done.set()

    @on("DataTransfer")
    async def on_data_transfer(self, vendor_id, message_id=None, data=None):
        self.seen.append(("DataTransfer", vendor_id, message_id, data))
        if data == "raise":
            raise RuntimeError("handler failed")
        if data == "bad result":
            return call_result.DataTransfer(status="Maybe")  # not in the enum
        return call_result.DataTransfer(status="Accepted", data=data)

    @on("GetConfiguration")
    def on_get_configuration(self, key=None):
        self.seen.append(("GetConfiguration", key))
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            unknown_key=key or None)

    @on("ChangeConfiguration")
    def on_change_configuration(self, key, value):
        self.seen.append(("ChangeConfiguration", key, value))
        return call_result.ChangeConfiguration(status="Accepted")


class LibraryStation(Handlers, ocpp.v16.ChargePoint):
    pass


class CompiledStation(Handlers, agent.ocppj.v16.ChargePoint):
    pass


PROFILE = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}

# Frames a backend sends: valid, invalid in each way the library names, and the routing cases.
CALLS = [
    ["SetChargingProfile", {"connectorId": 1, "csChargingProfiles": PROFILE}],
    ["SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {**PROFILE, "chargingSchedule": {
        "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.25}]}}}],
    ["SetChargingProfile", {"csChargingProfiles": PROFILE, "extra": 1}],  # missing and extra: FormatViolation
    ["SetChargingProfile", {"connectorId": "1", "csChargingProfiles": PROFILE}],
    ["RemoteStartTransaction", {"idTag": "CARD-1", "chargingProfile": PROFILE}],
    ["RemoteStartTransaction", {"idTag": "X" * 21}],
    ["RemoteStartTransaction", {}],
    ["DataTransfer", {"vendorId": "v", "messageId": "m", "data": "hello"}],
    ["DataTransfer", {"vendorId": "v", "data": "raise"}],
    ["DataTransfer", {"vendorId": "v", "data": "bad result"}],
    ["DataTransfer", {"vendorId": 5}],
    ["GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]}],
    ["GetConfiguration", {"key": "HeartbeatInterval"}],
    ["GetConfiguration", {}],
    ["ChangeConfiguration", {"key": "HeartbeatInterval"}],
    ["ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}],
    ["ClearCache", {}],  # known action, no handler
    ["NoSuchAction", {}],  # unknown action
]


@contextlib.asynccontextmanager
async def session(station_class):
    """A station of ``station_class`` connected to the raw peer, its receive loop running."""
    peer = RawCsms()
    await peer.start()
    try:
        async with connect(f"ws://127.0.0.1:{peer.port}/CP1", subprotocols=["ocpp1.6"]) as ws:
            station = station_class("CP1", ws, response_timeout=5)
            receiver = asyncio.create_task(station.start())
            try:
                result = await station.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
                assert result.status == "Accepted"
                yield station, peer, receiver
            finally:
                receiver.cancel()
                with contextlib.suppress(BaseException):
                    await receiver
    finally:
        await peer.stop()


async def run_calls(station_class) -> tuple[list, list]:
    async with session(station_class) as (station, peer, _):
        replies = []
        for n, (action, payload) in enumerate(CALLS):
            unique_id = f"c{n}"
            await peer.send(json.dumps([2, unique_id, action, payload]))
            replies.append(await peer.response_to(unique_id))
        await asyncio.wait_for(station.after_done.wait(), 5)
        return replies, station.seen


async def test_incoming_calls_answered_exactly_as_the_library_answers():
    library = await run_calls(LibraryStation)
    compiled = await run_calls(CompiledStation)
    assert compiled[0] == library[0]  # every CALLRESULT and CALLERROR, code, description, details
    assert repr(compiled[1]) == repr(library[1])  # handler arguments, Decimals included
    codes = [reply[2] if reply[0] == 4 else "result" for reply in compiled[0]]
    assert {"FormatViolation", "TypeConstraintViolation", "ProtocolError", "InternalError",
            "NotImplemented", "NotSupported", "result"} <= set(codes), codes


METER_VALUES = call.MeterValues(connector_id=1, transaction_id=5, meter_value=[MeterValue(
    timestamp="2025-01-01T00:00:10Z", sampled_value=[
        SampledValue(value="30", measurand="Energy.Active.Import.Register", unit="Wh", context="Sample.Periodic"),
        SampledValue(value="16.0", measurand="Current.Import", unit="A", phase="L1")])])


async def run_outgoing(station_class) -> list:
    outcomes = []
    async with session(station_class) as (station, peer, _):
        peer.answer["Heartbeat"] = lambda payload: ("result", {"currentTime": 5})  # wrong type
        peer.answer["DataTransfer"] = lambda payload: ("error", "NotSupported")
        for payload in (METER_VALUES, call.StartTransaction(connector_id=1, id_tag="T", meter_start=0,
                                                            timestamp="2025-01-01T00:00:00Z"),
                        call.Authorize(id_tag="X" * 21), call.Heartbeat(), call.DataTransfer(vendor_id="v")):
            try:
                outcomes.append(("result", await station.call(payload, suppress=False)))
            except OCPPError as exc:
                outcomes.append(("error", type(exc), exc.code, exc.description, exc.details.get("cause")))
        outcomes.append(("suppressed", await station.call(call.DataTransfer(vendor_id="v"))))
        outcomes.append(("frames", [[f[0], f[2], f[3]] if f[0] == 2 else f for f in peer.received]))
    return outcomes


async def test_outgoing_calls_and_their_results_exactly_as_the_library():
    library = await run_outgoing(LibraryStation)
    compiled = await run_outgoing(CompiledStation)
    assert compiled == library
    assert compiled[0] == ("result", call_result.MeterValues())
    assert compiled[1][1].transaction_id == 100 and compiled[1][1].id_tag_info == {"status": "Accepted"}
    assert compiled[2][2] == "TypeConstraintViolation"  # never sent: 21 characters
    assert compiled[3][2] == "TypeConstraintViolation"  # the backend's Heartbeat result
    assert compiled[4][2] == "NotSupported"


@pytest.mark.parametrize("limit", ["NaN", "Infinity", "1e400"])
async def test_a_number_the_library_cannot_check_gets_a_callerror_and_the_session_goes_on(limit):
    # ocpp 2.1.0's validator raises TypeError / decimal.InvalidOperation here, which ends its
    # receive loop: no answer, no further frame read. OCPP-J 1.6 §4.2.3: a CALLERROR.
    async with session(CompiledStation) as (station, peer, receiver):
        frame = json.dumps([2, "n1", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": PROFILE}])
        await peer.send(frame.replace("21.4", limit))
        reply = await peer.response_to("n1")
        assert reply[0] == 4 and reply[2] == "FormatViolation"
        await peer.send(json.dumps([2, "n2", "GetConfiguration", {}]))
        assert (await peer.response_to("n2"))[0] == 3
        assert not receiver.done()


# ---- the conversions, over every call / call_result dataclass -----------------------------

MODULES = (ocpp.v16.call, ocpp.v16.call_result, ocpp.v201.call, ocpp.v201.call_result)
DATACLASSES = [cls for module in MODULES for _, cls in inspect.getmembers(module, inspect.isclass)
               if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__]

keys = st.sampled_from(["vendor_id", "soc", "ocpp_csms_url", "a_b", "aB", "evse_id", "limit_L2", "_x", "v2x"]) \
    | st.text(max_size=8)
leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
any_json = st.recursive(leaves, lambda c: st.lists(c, max_size=3) | st.dictionaries(keys, c, max_size=3), max_leaves=8)


def typed(hint) -> st.SearchStrategy:
    """Values of a dataclass field's type, odd ones included (tuples, key collisions)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return any_json
    if origin is typing.Union:
        return st.one_of(*[typed(a) for a in args])
    if origin is list or hint is list:
        items = typed(args[0]) if args else any_json
        return st.lists(items, max_size=3) | st.lists(items, max_size=2).map(tuple)
    if origin is dict or hint is dict:
        return st.dictionaries(keys, typed(args[1]) if args else any_json, max_size=3)
    if dataclasses.is_dataclass(hint):
        return st.deferred(lambda: built(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(hint)
    return {str: st.text(max_size=8), int: st.integers(), float: st.floats(), bool: st.booleans(),
            type(None): st.none()}[hint]


def built(cls) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: typed(hints[f.name]) for f in dataclasses.fields(cls)})


def library_wire(obj):
    return remove_nones(snake_to_camel_case(serialize_as_dict(obj)))


def same_or_same_error(ours, library, obj) -> None:
    try:
        expected = library(obj)
    except Exception as exc:
        with pytest.raises(type(exc)):
            ours(obj)
        return
    got = ours(obj)
    assert json.dumps(got, default=repr) == json.dumps(expected, default=repr)  # key order too
    assert got == expected or math.nan in json.loads(json.dumps(got))  # (NaN != NaN)


@settings(max_examples=600, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(DATACLASSES).flatmap(built))
def test_to_wire_is_the_libraries_conversion(obj):
    same_or_same_error(to_wire, library_wire, obj)


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(any_json)
def test_from_wire_is_the_libraries_conversion(payload):
    same_or_same_error(from_wire, camel_to_snake_case, payload)


def test_to_wire_odd_inputs_take_the_librarys_way():
    @dataclasses.dataclass
    class Collide:
        a_b: typing.Any = None
        aB: typing.Any = None  # noqa: N815 - spelled like a_b in camelCase

    for obj in (Collide(a_b=1), Collide(a_b=1, aB=2), Collide(aB=None, a_b=[{"x_y": (1, None)}]),
                call.DataTransfer(vendor_id="v", data={"a_b": 1, "aB": None}),
                call.DataTransfer(vendor_id="v", data=[METER_VALUES])):
        same_or_same_error(to_wire, library_wire, obj)
    for obj in ({"not": "a dataclass"}, call.DataTransfer):
        same_or_same_error(to_wire, library_wire, obj)
