"""Per-message cost of OCPP-J payload work: the ocpp library's vs agent.ocppj's.

``python -m tests.benchmarks.validation [--number N]`` prints one table (µs per message, best
of 5 runs of N messages):

- validate: ``ocpp.messages``' jsonschema validation, synchronous (``_validate_payload``) and
  as the library runs it by default (``await validate_payload``: in the thread pool), against
  the compiled validator (``agent.ocppj.validation.validate_payload``);
- prepare a CALL: dataclass → camelCase dict → validated, as ``ChargePoint.call`` does before
  sending (library: ``serialize_as_dict`` + ``snake_to_camel_case`` + ``remove_nones`` + the
  awaited validation; ocppj: ``to_wire`` + compiled validation);
- read a CALLRESULT: validate + ``camel_to_snake_case`` + the result dataclass.

Messages: a 1.6 MeterValues (one sample of three measurands, as the agent queues them) and a
2.0.1 TransactionEvent (Updated, two samples)."""

from __future__ import annotations

import argparse
import asyncio
import time

import ocpp.messages
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import Call, CallResult
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.datatypes import MeterValue, SampledValue
from ocpp.v201 import call as call201
from ocpp.v201.datatypes import MeterValueType, SampledValueType, TransactionType

from agent.ocppj import validation
from agent.ocppj.charge_point import from_wire, to_wire

METER_VALUES_16 = call16.MeterValues(connector_id=1, transaction_id=5, meter_value=[MeterValue(
    timestamp="2025-01-01T00:00:10Z", sampled_value=[
        SampledValue(value="30", measurand="Energy.Active.Import.Register", unit="Wh", context="Sample.Periodic"),
        SampledValue(value="11040.0", measurand="Power.Active.Import", unit="W", context="Sample.Periodic"),
        SampledValue(value="16.0", measurand="Current.Import", unit="A", context="Sample.Periodic", phase="L1"),
    ])])
TRANSACTION_EVENT_201 = call201.TransactionEvent(
    event_type="Updated", timestamp="2025-01-01T00:00:10Z", trigger_reason="MeterValuePeriodic", seq_no=7,
    transaction_info=TransactionType(transaction_id="tx-1", charging_state="Charging"),
    meter_value=[MeterValueType(timestamp="2025-01-01T00:00:10Z", sampled_value=[
        SampledValueType(value=30.0, measurand="Energy.Active.Import.Register", context="Sample.Periodic"),
        SampledValueType(value=11040.0, measurand="Power.Active.Import", context="Sample.Periodic"),
    ])] * 2)
START_RESULT_16 = {"transactionId": 100, "idTagInfo": {"status": "Accepted", "expiryDate": "2025-01-02T00:00:00Z"}}


def per_message_us(fn, number: int) -> float:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return min(runs)


def per_message_async_us(loop: asyncio.AbstractEventLoop, coro_fn, number: int) -> float:
    async def many():
        for _ in range(number):
            await coro_fn()

    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        loop.run_until_complete(many())
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return min(runs)


def measure(number: int = 2000) -> list[tuple[str, float, float, float]]:
    """(what, library sync µs, library as run by default µs, ocppj µs) per row."""
    loop = asyncio.new_event_loop()
    rows = []
    for version, payload in (("1.6", METER_VALUES_16), ("2.0.1", TRANSACTION_EVENT_201)):
        action = type(payload).__name__
        wire = remove_nones(snake_to_camel_case(serialize_as_dict(payload)))
        assert wire == to_wire(payload)
        msg = Call("1", action, wire)
        validation.validate_payload(msg, version)  # compile once, outside the timing
        ocpp.messages._validate_payload(msg, version)
        rows.append((
            f"validate {version} {action}",
            per_message_us(lambda: ocpp.messages._validate_payload(msg, version), number // 4),
            per_message_async_us(loop, lambda: ocpp.messages.validate_payload(msg, version), number // 4),
            per_message_us(lambda: validation.validate_payload(msg, version), number),
        ))

        def library_prepare(payload=payload, action=action, version=version):
            m = Call("1", action, remove_nones(snake_to_camel_case(serialize_as_dict(payload))))
            ocpp.messages._validate_payload(m, version)
            return m.to_json()

        async def library_prepare_async(payload=payload, action=action, version=version):
            m = Call("1", action, remove_nones(snake_to_camel_case(serialize_as_dict(payload))))
            await ocpp.messages.validate_payload(m, version)
            return m.to_json()

        def ocppj_prepare(payload=payload, action=action, version=version):
            m = Call("1", action, to_wire(payload))
            validation.validate_payload(m, version)
            return m.to_json()

        rows.append((
            f"prepare a CALL {version} {action}",
            per_message_us(library_prepare, number // 4),
            per_message_async_us(loop, library_prepare_async, number // 4),
            per_message_us(ocppj_prepare, number),
        ))

    def library_read():
        r = CallResult("1", START_RESULT_16, "StartTransaction")
        ocpp.messages._validate_payload(r, "1.6")
        return result16.StartTransaction(**camel_to_snake_case(r.payload))

    async def library_read_async():
        r = CallResult("1", START_RESULT_16, "StartTransaction")
        await ocpp.messages.validate_payload(r, "1.6")
        return result16.StartTransaction(**camel_to_snake_case(r.payload))

    def ocppj_read():
        r = CallResult("1", START_RESULT_16, "StartTransaction")
        validation.validate_payload(r, "1.6")
        return result16.StartTransaction(**from_wire(r.payload))

    ocppj_read()
    rows.append(("read a CALLRESULT 1.6 StartTransaction", per_message_us(library_read, number // 4),
                 per_message_async_us(loop, library_read_async, number // 4), per_message_us(ocppj_read, number)))
    loop.close()
    return rows


def table(rows) -> str:
    lines = ["| per message | library, sync | library, as run (thread pool) | agent.ocppj | speed-up (as run) |",
             "|---|---|---|---|---|"]
    for what, sync, as_run, ours in rows:
        lines.append(f"| {what} | {sync:.1f} µs | {as_run:.1f} µs | {ours:.1f} µs | {as_run / ours:.0f} x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.validation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="messages per timed run (5 runs, best kept)")
    args = parser.parse_args(argv)
    rows = measure(args.number)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
