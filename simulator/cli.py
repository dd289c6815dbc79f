"""``evse-sim``: run the hardware simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from simulator.app import Simulator
from simulator.config import ConfigError, load_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="evse-sim", description="EVSE hardware simulator: "
                                "EVSE-DIN boards + SDM630 meters on Modbus, a vpcd card, HTTP UI")
    p.add_argument("--config", help="TOML file merged over simulator/default.toml")
    p.add_argument("--http-port", type=int, help="HTTP API/UI port (0 = any free port)")
    p.add_argument("--modbus-port", type=int, help="Modbus TCP port (0 = any free port)")
    p.add_argument("--rtu-link", help='pty path the agent opens for Modbus RTU ("" = none)')
    p.add_argument("--speed", type=float, help="simulated seconds per real second")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def endpoints_line(sim: Simulator) -> str:
    m = sim.config.modbus
    parts = [f"modbus tcp {m.tcp_host}:{sim.modbus_port}"]
    if sim.rtu_link:
        parts.append(f"modbus rtu {sim.rtu_link} {m.baudrate} 8N1")
    parts.append(f"http {sim.http_url}")
    v = sim.config.vpcd
    parts.append(f"vpcd {v.host}:{v.port}" if v.port else "vpcd none")
    if sim.i2c_port is not None:  # the I²C bus (simulator/wire/i2c.py framing)
        parts.append(f"i2c {sim.config.i2c.listen.rpartition(':')[0]}:{sim.i2c_port}")
    parts.append(f"pigpio {sim.config.gpio.host}:{sim.gpio_port}")
    parts.append(f"speed x{sim.speed:g}")
    return "evse-sim: " + ", ".join(parts)


async def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.speed is not None and args.speed <= 0:
        raise ConfigError("--speed must be > 0")
    sim = Simulator(cfg, http_port=args.http_port, modbus_port=args.modbus_port,
                    speed=args.speed, rtu_link=args.rtu_link)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sim.start()
    try:
        print(endpoints_line(sim), flush=True)
        for e in cfg.evses:
            board = (f"rapi socket://{cfg.modbus.tcp_host}:{sim.rapi_ports[e.id]}" if e.board == "openevse"
                     else f"unit {e.board_unit}")
            meter = "the board's own" if e.meter == "none" else f"{e.meter} unit {e.meter_unit}"
            print(f"evse-sim: evse {e.id}: {e.board} board {board}, meter {meter},"
                  f" {e.phases} phase(s)", flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        print("evse-sim: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # timeouts are expected
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(args))
    except ConfigError as exc:
        print(f"evse-sim: config error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"evse-sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
