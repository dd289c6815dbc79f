"""A real pymodbus server holding EVSE-DIN and SDM630 registers.

``SimBus`` keeps the register values in plain dicts (the truth the tests set
and inspect); the SimDevice ``action`` copies them into the server's registers
before each access and records writes. Units listed in ``silent`` get no
reply at all, like an absent device on RS-485 (pymodbus would otherwise answer
an unknown id with an exception response).
"""

from __future__ import annotations


from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.bus.modbus import encode_float32

EVSE_UNIT = 1
METER_UNIT = 2


def evse_registers(**over: int) -> dict[int, int]:
    """EVSE-DIN holding registers (docs/hardware/evse-din.md#registers): FW 18, 2005 bit7 set, state B."""
    regs = {a: 0 for a in range(1000, 1010)} | {a: 0 for a in range(2000, 2018)}
    regs.update({1000: 1600, 1001: 1600, 1002: 2, 1003: 32, 1005: 18, 1006: 2, 1007: 0})
    regs[2005] = (1 << 0) | (1 << 3) | (1 << 7) | (1 << 9)
    regs.update(over)
    return regs


def meter_values(**over: float) -> dict[int, float]:
    """SDM630 float32 input registers (docs/hardware/eastron-sdm.md#registers), address -> value."""
    vals = {0x00: 230.1, 0x02: 231.2, 0x04: 229.3, 0x06: 16.0, 0x08: 15.5, 0x0A: 15.75,
            0x34: 11040.0, 0x48: 1234.5}
    vals.update(over)
    return vals


class SimBus:
    def __init__(self) -> None:
        self.evse = evse_registers()
        self.meter = meter_values()
        self.silent: set[int] = set()
        self.writes: list[tuple[int, int, list[int]]] = []  # (fc, address, values)
        self.requests = 0
        self._drop = False

    def meter_regs(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for addr, value in self.meter.items():
            hi, lo = encode_float32([value])
            out[addr], out[addr + 1] = hi, lo
        return out

    async def evse_action(self, fc, start, address, count, registers, set_values):
        self.requests += 1
        if set_values is not None:
            self.writes.append((fc, address, list(set_values)))
            for i, v in enumerate(set_values):
                self.evse[address + i] = int(v)
        for a, v in self.evse.items():
            registers[a - start] = v
        return None

    async def meter_action(self, fc, start, address, count, registers, set_values):
        self.requests += 1
        for a, v in self.meter_regs().items():
            registers[a - start] = v
        return None

    def devices(self) -> list[SimDevice]:
        evse = SimDevice(
            id=EVSE_UNIT,
            simdata=[
                SimData(1000, count=10, values=0, datatype=DataType.REGISTERS),
                SimData(2000, count=18, values=0, datatype=DataType.REGISTERS),
            ],
            action=self.evse_action,
        )
        meter = SimDevice(
            id=METER_UNIT,
            simdata=[SimData(0, count=0x50, values=0, datatype=DataType.REGISTERS)],
            action=self.meter_action,
        )
        return [evse, meter]

    # server trace hooks: swallow the reply to a silent unit
    def trace_pdu(self, sending: bool, pdu):
        if sending:
            self._drop = pdu.dev_id in self.silent or pdu.dev_id not in (EVSE_UNIT, METER_UNIT)
        return pdu

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self._drop:
            self._drop = False
            return b""
        return data


async def start_tcp_server(sim: SimBus, port: int, framer=FramerType.SOCKET) -> ModbusTcpServer:
    server = ModbusTcpServer(
        sim.devices(),
        framer=framer,
        address=("127.0.0.1", port),
        trace_pdu=sim.trace_pdu,
        trace_packet=sim.trace_packet,
    )
    await server.serve_forever(background=True)
    return server
