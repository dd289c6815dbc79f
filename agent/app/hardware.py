"""Builds buses, boards and meters from the config: one factory per driver name.

A board driver may come with a meter of its own (Heidelberg, Bender, OpenEVSE:
``board.meter``); it is the connector's meter when the config names none.
Serial boards (OpenEVSE) own their line; it is returned among the "buses" so
the composition root closes it with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.app.config import AgentConfig, BoardSection, BusSection, MeterSection
from drivers.interfaces import EvseBoard, PowerMeter
from drivers.bus.modbus import ModbusBus


def _evse_din(b: BoardSection, buses: dict[str, Any]) -> EvseBoard:
    from drivers.boards.evse_din import EvseDinBoard

    device = buses[b.bus].device(b.unit, min_interval_s=b.min_interval_s)
    return EvseDinBoard(device, centiamp_mode=b.centiamp_mode, rcd_bits=b.rcd_bits)


def _heidelberg(b: BoardSection, buses: dict[str, Any]) -> EvseBoard:
    from drivers.boards.heidelberg import HeidelbergBoard

    return HeidelbergBoard(
        buses[b.bus].device(b.unit, min_interval_s=b.min_interval_s),
        watchdog_ms=b.watchdog_ms,
        failsafe_current_a=b.failsafe_current_a,
        energy_word_order=b.energy_word_order,
    )


def _bender(b: BoardSection, buses: dict[str, Any]) -> EvseBoard:
    from drivers.boards.bender import BenderBoard

    return BenderBoard(buses[b.bus].device(b.unit, min_interval_s=b.min_interval_s))


def _openevse(b: BoardSection, buses: dict[str, Any]) -> EvseBoard:
    from drivers.boards.openevse import OpenEvseBoard, RapiLink

    key = f"rapi:{b.device}"
    if key in buses:
        raise ValueError(f"{b.device}: one OpenEVSE serial line serves one connector")
    link = buses[key] = RapiLink(b.device, baudrate=b.baudrate, timeout_s=b.timeout_s)
    return OpenEvseBoard(link, pause_command=b.pause_command)


BOARDS: dict[str, Callable[[BoardSection, dict[str, Any]], EvseBoard]] = {
    "evse-din": _evse_din,
    "heidelberg": _heidelberg,
    "bender": _bender,
    "openevse": _openevse,
}


def _meter_class(driver: str) -> Callable[[Any], PowerMeter]:
    from drivers.meters.abb_b23 import AbbB23Meter
    from drivers.meters.eastron import Sdm72Meter, Sdm72V1Meter, Sdm120Meter, Sdm630Meter

    return {
        "sdm630": Sdm630Meter,
        "sdm72": Sdm72Meter,
        "sdm72-v1": Sdm72V1Meter,
        "sdm120": Sdm120Meter,
        "abb-b23": AbbB23Meter,
    }[driver]


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


def build_meter(m: MeterSection, buses: dict[str, Any]) -> PowerMeter:
    return _meter_class(m.driver)(buses[m.bus].device(m.unit, min_interval_s=m.min_interval_s))


def build_connectors(config: AgentConfig) -> tuple[dict[str, Any], list[tuple[Any, EvseBoard, PowerMeter | None]]]:
    """``(buses and serial links by name, [(connector section, board, meter)])``."""
    buses: dict[str, Any] = {bus.name: build_bus(bus) for bus in config.buses}
    hardware = []
    for section in config.connectors:
        board = BOARDS[section.board.driver](section.board, buses)
        if section.meter is not None:
            meter = build_meter(section.meter, buses)
        else:
            meter = getattr(board, "meter", None)  # the board's own meter, if it has one
        hardware.append((section, board, meter))
    return buses, hardware
