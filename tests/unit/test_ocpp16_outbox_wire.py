"""The MeterValues of a backlog are built straight as wire payloads: the very frame the
library's conversion of the call dataclass gives, and validated like it."""

from __future__ import annotations

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from agent.ocpp16.connection import ChargePoint16, WireCall
from agent.ocpp16.outbox import meter_value, wire_meter_value
from agent.ocppj.charge_point import to_wire

SAMPLES = [
    {"timestamp": "2025-01-01T00:00:10Z", "values": [
        {"measurand": "Energy.Active.Import.Register", "value": 30.6, "unit": "Wh", "context": "Sample.Periodic"},
        {"measurand": "Power.Active.Import", "value": 11040, "unit": "W", "context": "Sample.Periodic"},
        {"measurand": "Current.Import", "value": "16.04", "unit": "A", "context": "Sample.Clock", "phase": "L1"},
        {"measurand": "Temperature", "value": 41.25, "unit": "Celsius", "context": "Sample.Periodic", "location": "Body"},
    ]},
    {"timestamp": "2025-01-01T00:00:20Z", "values": [{"value": 12.5}]},  # defaults: a register in Wh
    {"timestamp": "2025-01-01T00:00:30Z", "values": []},
    {"timestamp": "2025-01-01T00:00:40Z"},
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_wire_meter_value_is_the_library_conversion(sample):
    assert wire_meter_value(sample) == to_wire(call.MeterValues(connector_id=1, meter_value=[meter_value(sample)]))[
        "meterValue"][0]


class _Ws:
    close_code = None


def test_a_wire_call_gives_the_same_frame_and_is_validated():
    cp = ChargePoint16("CP", _Ws(), [], 30)
    dataclass = call.MeterValues(connector_id=1, transaction_id=5, meter_value=[meter_value(s) for s in SAMPLES[:2]])
    wire = WireCall("MeterValues", {"connectorId": 1, "meterValue": [wire_meter_value(s) for s in SAMPLES[:2]],
                                    "transactionId": 5})
    assert cp.prepare_call(wire, "m1").frame == cp.prepare_call(dataclass, "m1").frame
    bad = cp.prepare_call(WireCall("MeterValues", {"connectorId": "1", "meterValue": []}), "m2")
    assert bad.frame is None and isinstance(bad.error, OCPPError)


def test_the_outbox_renders_a_stored_meter_values_as_the_dataclass_would_be_sent():
    from agent.backend.outbox import UPDATED, OutboxMessage
    from agent.ocpp16.outbox import Outbox16

    class Transaction:
        backend_id = "5"

    class Adapter:  # the adapter's side the channel uses (our own interface)
        class station:
            @staticmethod
            def transaction(transaction_id):
                return Transaction()

    cp = ChargePoint16("CP", _Ws(), [], 30)
    message = OutboxMessage(7, "m7", UPDATED, 1, {"evse_id": 2, "transaction_id": "t", "samples": SAMPLES[:2]}, 0)
    dataclass = call.MeterValues(connector_id=2, transaction_id=5, meter_value=[meter_value(s) for s in SAMPLES[:2]])
    assert cp.prepare_call(Outbox16(Adapter()).render(message), "m7").frame == cp.prepare_call(dataclass, "m7").frame
