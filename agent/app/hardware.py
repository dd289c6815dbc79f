"""Builds the buses and every device the config names, through the driver registry.

A board driver may come with a meter of its own (Heidelberg, Bender, OpenEVSE: it
``provides`` "meter", as ``board.meter``); it is the connector's meter when the config
names none. Links a driver opened itself (an OpenEVSE serial line) are closed with the
buses.
"""

from __future__ import annotations

from typing import Any

from agent.app.config import AgentConfig, BusSection
from drivers import registry
from drivers.bus.modbus import ModbusBus
from drivers.interfaces import EvseBoard, I2cBus, PowerMeter


def build_bus(bus: BusSection) -> ModbusBus:
    if bus.kind == "tcp":
        return ModbusBus.tcp(bus.host, bus.port, timeout=bus.timeout_s, retries=bus.retries, name=bus.name)
    return ModbusBus.rtu(
        bus.device,
        baudrate=bus.baudrate,
        parity=bus.parity,
        stopbits=bus.stopbits,
        timeout=bus.timeout_s,
        retries=bus.retries,
        name=bus.name,
    )


def build_device(section: Any, wiring: registry.BusWiring) -> Any:
    """The driver of a device section (``driver`` + ``options``), or None for "none"."""
    if section is None or section.options is None:
        return None
    return registry.spec(section.driver).build(section.options, wiring)


def build_connectors(
    config: AgentConfig, i2c: I2cBus | None = None
) -> tuple[registry.BusWiring, list[tuple[Any, EvseBoard, PowerMeter | None]]]:
    """``(the wiring: buses and owned links, [(connector section, board, meter)])``."""
    wiring = registry.BusWiring({bus.name: build_bus(bus) for bus in config.buses}, i2c)
    hardware = []
    for section in config.connectors:
        board = build_device(section.board, wiring)
        meter = build_device(section.meter, wiring)
        if meter is None and "meter" in registry.spec(section.board.driver).provides:
            meter = board.meter  # the board's own meter
        hardware.append((section, board, meter))
    return wiring, hardware
