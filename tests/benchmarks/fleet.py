"""The light simulator mode: N chargers' OCPP 1.6J links in one process on one event loop.

Each charger is a websocket connection with an ``ocpp`` ChargePoint (the same library, schema
validation and all, as the agent) and a simulated meter (energy grows with a constant power;
no Modbus, no hardware model). It boots, then sends a Heartbeat and a MeterValues every
``interval`` seconds, phases spread over the interval. ``--raw``: the same schedule with
pre-formatted frames and no OCPP library (the floor: what websockets alone costs).

``python -m tests.benchmarks.fleet URL N WINDOW_S INTERVAL_S [--raw]`` prints one JSON line:
how late each message's answer came relative to when it was due, and the CPU used."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import resource
import sys
import time

from websockets.asyncio.client import connect

SETUP_CONCURRENCY = 64


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


async def run_fleet(url: str, n: int, window_s: float, interval_s: float, raw: bool) -> dict:
    kind = RawCharger if raw else OcppCharger
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)
    stack = []
    t_setup = time.monotonic()

    async def setup(i: int):
        async with limit:
            ctx = connect(f"{url}/FLEET-{i}", subprotocols=["ocpp1.6"], ping_interval=None, open_timeout=60)
            ws = await ctx.__aenter__()
            stack.append(ctx)
            charger = kind(ws, f"FLEET-{i}")
            await charger.boot()
            return charger

    chargers = await asyncio.gather(*(setup(i) for i in range(n)))
    setup_s = time.monotonic() - t_setup
    delays: list[float] = []
    due_total = 0
    start = time.monotonic() + 0.5
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
    delays.sort()
    pick = (lambda p: delays[min(len(delays) - 1, int(len(delays) * p))]) if delays else (lambda p: float("inf"))
    return {
        "n": n, "raw": raw, "setup_s": setup_s, "window_s": window_s, "interval_s": interval_s,
        "due": due_total, "answered_pairs": len(delays), "unfinished": len(pending),
        "delay_p50_s": pick(0.5), "delay_p99_s": pick(0.99), "delay_max_s": delays[-1] if delays else None,
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }


if __name__ == "__main__":
    url, n, window, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(asyncio.run(run_fleet(url, n, window, interval, "--raw" in sys.argv))), flush=True)
