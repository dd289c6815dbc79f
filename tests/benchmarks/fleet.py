"""The light simulator mode: N chargers' OCPP 1.6J links in one process on one event loop, or
spread over several processes (``--processes``) to load-test a backend from every core.

Each charger is a websocket connection and a simulated meter (energy grows with a constant
power; no Modbus, no hardware model). It boots, then sends a Heartbeat and a MeterValues every
``interval`` seconds, phases spread over the interval. Every CALL it sends and every
CALLRESULT it gets is validated against the official OCPP 1.6 JSON schemas, the ones the
``ocpp`` library ships, compiled once (agent/ocppj/validation.py, as the agent does); a CALL
the backend sends is answered with a CALLERROR NotImplemented. ``--library``: each charger an
``ocpp.v16.ChargePoint`` instead (the library's jsonschema validation and dataclasses, as
before). ``--raw``: the same schedule with pre-formatted frames and no validation (the floor:
what websockets alone costs).

``python -m tests.benchmarks.fleet URL N WINDOW_S INTERVAL_S [--raw | --library] [--processes K]``
prints one JSON line: how late each message's answer came relative to when it was due, and
the CPU used. URL is the backend's OCPP endpoint; each charger connects to URL/FLEET-<i>
(``--prefix`` for another name).

    python -m tests.benchmarks.fleet ws://localhost:9000/ocpp 20000 60 10 --processes 4"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import resource
import sys
import time

from websockets.asyncio.client import connect

SETUP_CONCURRENCY = 64
GC_THRESHOLD = 100_000  # allocations between young collections (Python's default: 700)


class Meter:
    def __init__(self, power_w: float) -> None:
        self.power_w, self.wh, self.at = power_w, 0.0, time.monotonic()

    def read(self) -> float:
        now = time.monotonic()
        self.wh += self.power_w * (now - self.at) / 3600
        self.at = now
        return self.wh


def _iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _meter_value(meter: Meter) -> list[dict]:
    return [{"timestamp": _iso(), "sampledValue": [
        {"measurand": "Energy.Active.Import.Register", "value": f"{meter.read():.0f}", "unit": "Wh"},
        {"measurand": "Power.Active.Import", "value": f"{meter.power_w:.1f}", "unit": "W"}]}]


class OcppCharger:
    def __init__(self, ws, name: str) -> None:
        from ocpp.v16 import ChargePoint

        self.cp = ChargePoint(name, ws, response_timeout=30)
        self.task = asyncio.create_task(self.cp.start())

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def boot(self) -> None:
        from ocpp.v16 import call

        await self.cp.call(call.BootNotification(charge_point_model="fleet", charge_point_vendor="evse-agent"))

    async def heartbeat(self) -> None:
        from ocpp.v16 import call

        await self.cp.call(call.Heartbeat())

    async def meter_values(self, meter: Meter) -> None:
        from ocpp.v16 import call

        await self.cp.call(call.MeterValues(connector_id=1, meter_value=[
            {"timestamp": v["timestamp"], "sampled_value": [
                {"measurand": s["measurand"], "value": s["value"], "unit": s["unit"]} for s in v["sampledValue"]]}
            for v in _meter_value(meter)]))


class ValidatedCharger:
    """OCPP 1.6J with every CALL and CALLRESULT checked against the schemas, no dataclasses."""

    def __init__(self, ws, name: str) -> None:
        self.ws, self.ids = ws, itertools.count()

    async def close(self) -> None:
        pass

    async def _call(self, action: str, payload: dict) -> dict:
        from ocpp.messages import Call, CallResult

        from agent.ocppj.validation import validate_payload

        request = Call(str(next(self.ids)), action, payload)
        validate_payload(request, "1.6")  # raises the library's OCPPError, as ChargePoint.call does
        await self.ws.send(request.to_json())
        while True:
            reply = json.loads(await self.ws.recv())
            if reply[0] == 2:  # a CALL from the backend: this light charger implements none
                await self.ws.send(json.dumps([4, reply[1], "NotImplemented", "fleet charger", {}]))
            elif reply[1] == request.unique_id:
                break
        if reply[0] != 3:
            raise RuntimeError(f"{action}: {reply}")
        validate_payload(CallResult(request.unique_id, reply[2], action), "1.6")
        return reply[2]

    async def boot(self) -> None:
        await self._call("BootNotification", {"chargePointModel": "fleet", "chargePointVendor": "evse-agent"})

    async def heartbeat(self) -> None:
        await self._call("Heartbeat", {})

    async def meter_values(self, meter: Meter) -> None:
        await self._call("MeterValues", {"connectorId": 1, "meterValue": _meter_value(meter)})


class RawCharger:
    def __init__(self, ws, name: str) -> None:
        self.ws, self.ids = ws, itertools.count()

    async def close(self) -> None:
        pass

    async def _call(self, action: str, payload: dict) -> None:
        await self.ws.send(json.dumps([2, str(next(self.ids)), action, payload]))
        await self.ws.recv()

    async def boot(self) -> None:
        await self._call("BootNotification", {"chargePointModel": "fleet", "chargePointVendor": "evse-agent"})

    async def heartbeat(self) -> None:
        await self._call("Heartbeat", {})

    async def meter_values(self, meter: Meter) -> None:
        await self._call("MeterValues", {"connectorId": 1, "meterValue": _meter_value(meter)})


KINDS = {"validated": ValidatedCharger, "library": OcppCharger, "raw": RawCharger}


async def run_fleet(url: str, n: int, window_s: float, interval_s: float, kind_name: str = "validated", *,
                    first: int = 0, prefix: str = "FLEET-", start_at: float | None = None, deflate: bool = False) -> dict:
    """Chargers ``first`` .. ``first + n - 1``; the schedule starts at ``start_at`` (time.time(),
    shared by the processes of one fleet) or half a second after they are all connected."""
    kind = KINDS[kind_name]
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)
    stack = []
    t_setup = time.monotonic()

    async def setup(i: int):
        async with limit:
            ctx = connect(f"{url}/{prefix}{i}", subprotocols=["ocpp1.6"], ping_interval=None, open_timeout=60,
                          compression="deflate" if deflate else None)
            ws = await ctx.__aenter__()
            stack.append(ctx)
            charger = kind(ws, f"{prefix}{i}")
            await charger.boot()
            return charger

    chargers = await asyncio.gather(*(setup(i) for i in range(first, first + n)))
    setup_s = time.monotonic() - t_setup
    # Thousands of connections live until the end: keep the collector from scanning them all
    # again and again while messages flow (with 10,000 chargers a full collection is a pause
    # of a second, and the default thresholds run one every few seconds).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD)
    delays: list[float] = []
    due_total = 0
    start = time.monotonic() + (0.5 if start_at is None else max(0.0, start_at - time.time()))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    async def drive(charger, meter: Meter) -> None:
        nonlocal due_total
        phase = random.uniform(0, interval_s)
        for k in itertools.count():
            due = start + phase + k * interval_s
            if due > start + window_s:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due_total += 2
            await charger.heartbeat()
            await charger.meter_values(meter)
            delays.append(time.monotonic() - due)  # both answered, relative to when they were due

    rng = random.Random(1)
    drivers = [asyncio.create_task(drive(c, Meter(rng.choice((3680.0, 7360.0, 11040.0))))) for c in chargers]
    done, pending = await asyncio.wait(drivers, timeout=window_s + 30)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for task in pending:
        task.cancel()
    for charger in chargers:
        await charger.close()
    for ctx in stack:
        await ctx.__aexit__(None, None, None)
    return summarise({
        "n": n, "kind": kind_name, "raw": kind_name == "raw", "processes": 1, "setup_s": setup_s,
        "window_s": window_s, "interval_s": interval_s, "due": due_total, "unfinished": len(pending),
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }, delays)


def summarise(result: dict, delays: list[float]) -> dict:
    delays = sorted(delays)
    pick = (lambda p: delays[min(len(delays) - 1, int(len(delays) * p))]) if delays else (lambda p: float("inf"))
    return {**result, "answered_pairs": len(delays), "delay_p50_s": pick(0.5), "delay_p99_s": pick(0.99),
            "delay_max_s": delays[-1] if delays else None, "delays": delays}


async def run_processes(args: argparse.Namespace) -> dict:
    """The fleet spread over ``args.processes`` processes (charger numbers split in blocks), one
    schedule for all; the answers' delays of every process together."""
    per = [args.n // args.processes + (1 if k < args.n % args.processes else 0) for k in range(args.processes)]
    # Connecting takes a while: start the schedule once every process can have connected.
    start_at = time.time() + max(5.0, args.n / 1000)
    procs = []
    for k, count in enumerate(per):
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.benchmarks.fleet", args.url, str(count), str(args.window), str(args.interval),
            "--kind", args.kind, "--first", str(sum(per[:k])), "--prefix", args.prefix, "--start-at", str(start_at),
            *(["--deflate"] if args.deflate else []),
            stdout=asyncio.subprocess.PIPE))
    outs = [json.loads((await p.communicate())[0].decode().strip().splitlines()[-1]) for p in procs]
    merged = {
        "n": args.n, "kind": args.kind, "raw": args.kind == "raw", "processes": args.processes,
        "setup_s": max(o["setup_s"] for o in outs), "window_s": args.window, "interval_s": args.interval,
        "due": sum(o["due"] for o in outs), "unfinished": sum(o["unfinished"] for o in outs),
        "cpu_s": sum(o["cpu_s"] for o in outs),
    }
    return summarise(merged, [d for o in outs for d in o["delays"]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the backend's OCPP 1.6J endpoint; chargers connect to URL/<prefix><i>")
    parser.add_argument("n", type=int, help="chargers")
    parser.add_argument("window", type=float, help="seconds of the schedule")
    parser.add_argument("interval", type=float, help="seconds between a charger's Heartbeat + MeterValues")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--raw", dest="kind", action="store_const", const="raw", help="no OCPP checks (the floor)")
    kind.add_argument("--library", dest="kind", action="store_const", const="library", help="ocpp.v16.ChargePoint")
    kind.add_argument("--kind", choices=list(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help="spread over this many processes (0: one per core)")
    parser.add_argument("--prefix", default="FLEET-", help="charge point ids are <prefix><i>")
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--deflate", action="store_true",
                        help="offer permessage-deflate (off by default: its zlib state costs memory per connection)")
    parser.add_argument("--delays", action="store_true", help="include every delay in the JSON line")
    args = parser.parse_args(argv)
    args.kind = args.kind or "validated"
    args.processes = args.processes or os.cpu_count() or 1
    _raise_file_limit()
    if args.processes > 1:
        result = asyncio.run(run_processes(args))
    else:
        result = asyncio.run(run_fleet(args.url, args.n, args.window, args.interval, args.kind, first=args.first,
                                       prefix=args.prefix, start_at=args.start_at, deflate=args.deflate))
    if not args.delays and args.start_at is None:  # a process of a larger fleet hands its delays on
        result.pop("delays")
    print(json.dumps(result), flush=True)


def _raise_file_limit() -> None:
    """One socket per charger: as many descriptors as the system lets this process have."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    main()
