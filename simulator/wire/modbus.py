"""One simulated RS-485 bus (boards + meters) served as Modbus TCP and/or RTU on a pty pair.

pymodbus 3.16 ``SimDevice``/``SimData`` hold the register images; an async ``action``
callback refreshes them from the model before every read and validates/applies writes.

Silence: a real bus gives no reply for a unit nobody listens to (or a dead device), but
pymodbus' ``SimCore`` answers such requests with exception 4 (its device lookup raises
``KeyError``, so ``ignore_missing_devices`` never triggers). We therefore drop those
requests in the server's ``trace_pdu`` hook: returning ``None`` for a received PDU makes
the request handler skip it entirely, so the client times out as on a real bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simulator.twins.boards.evse_din import Refusal
from simulator.model import SimModel

log = logging.getLogger(__name__)

# Which function codes a device accepts is the device's own business: each board
# and meter image checks them (EVSE-DIN FC03/06/16, Heidelberg FC04 + FC03/06/16,
# SDM FC04, ABB FC03, ...). pymodbus reads the registers back after a write (to
# build the FC06 echo) with the write's function code, so the boards allow that.


@dataclass(frozen=True)
class RegisterWrite:
    """One write request seen on the bus (accepted or refused)."""

    sim_time: float
    unit: int
    function_code: int
    address: int
    values: tuple[int, ...]
    refused: int | None  # Modbus exception code, None if accepted


class ModbusBus:
    def __init__(self, model: SimModel, on_write: Callable[[RegisterWrite], None] | None = None):
        self.model = model
        self.on_write = on_write
        self._tcp: ModbusTcpServer | None = None
        self._rtu: ModbusSerialServer | None = None
        self._socat: asyncio.subprocess.Process | None = None
        self._hold_fd: int | None = None
        self.tcp_port: int | None = None
        self.rtu_link: str | None = None

    # --- devices -------------------------------------------------------------
    def devices(self) -> list[SimDevice]:
        devs = []
        for p in self.model.evses.values():
            if p.board.on_bus:
                devs.append(SimDevice(id=p.cfg.board_unit, simdata=_simdata(p.board.blocks),
                                      action=partial(self._board_action, p.cfg.board_unit)))
            if p.meter_image is not None:
                devs.append(SimDevice(id=p.cfg.meter_unit, simdata=_simdata(p.meter_image.blocks),
                                      action=partial(self._meter_action, p.cfg.meter_unit)))
        return devs

    async def _board_action(self, unit, fc, start, address, count, regs, set_values):
        if set_values is None:
            values = self.model.board_read(unit, address, count, fc)
            if isinstance(values, Refusal):
                return ExcCodes(int(values))
            regs[address - start : address - start + count] = values
            return None
        refusal = self.model.board_write(unit, address, [int(v) for v in set_values], fc)
        if self.on_write:
            self.on_write(RegisterWrite(self.model.sim_time, unit, fc, address,
                                        tuple(int(v) for v in set_values),
                                        int(refusal) if refusal else None))
        return ExcCodes(int(refusal)) if refusal else None

    async def _meter_action(self, unit, fc, start, address, count, regs, set_values):
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION
        values = self.model.meter_read(unit, fc, address, count)
        if isinstance(values, int):
            return ExcCodes(values)
        regs[address - start : address - start + count] = values
        return None

    def _drop_silent(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        """trace_pdu hook: swallow requests for absent or comm-faulted units."""
        if not sending and self.model.unit_silent(pdu.dev_id):
            log.debug("bus: unit %s silent, request dropped", pdu.dev_id)
            return None
        return pdu

    # --- endpoints -----------------------------------------------------------
    async def start_tcp(self, host: str, port: int) -> int:
        self._tcp = ModbusTcpServer(self.devices(), address=(host, port),
                                    ignore_missing_devices=True, trace_pdu=self._drop_silent)
        await self._tcp.serve_forever(background=True)
        self.tcp_port = self._tcp.transport.sockets[0].getsockname()[1]
        return self.tcp_port

    async def start_rtu(self, link: str, baudrate: int, parity: str = "N") -> str:
        """Spawn ``socat`` for a pty pair: the agent opens ``link``, we serve ``link``-sim."""
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat not found: needed for the RTU pty pair")
        agent = Path(link)
        sim = Path(f"{link}-sim")
        agent.parent.mkdir(parents=True, exist_ok=True)
        for p in (agent, sim):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._socat = await asyncio.create_subprocess_exec(
            socat, f"pty,raw,echo=0,link={sim}", f"pty,raw,echo=0,link={agent}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        for _ in range(250):  # socat creates the links within a few ms
            if agent.exists() and sim.exists():
                break
            if self._socat.returncode is not None:
                raise RuntimeError("socat exited: " + (await self._socat.stderr.read()).decode())
            await asyncio.sleep(0.02)
        else:
            raise RuntimeError("socat did not create the pty links")
        # Keep the agent's end open ourselves (never read): otherwise socat sees EIO and
        # exits when the agent closes its port, and the bus would be gone after a restart.
        self._hold_fd = os.open(agent, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._rtu = ModbusSerialServer(self.devices(), port=str(sim), framer=FramerType.RTU,
                                       baudrate=baudrate, parity=parity, ignore_missing_devices=True,
                                       trace_pdu=self._drop_silent)
        await self._rtu.serve_forever(background=True)
        self.rtu_link = str(agent)
        return self.rtu_link

    async def stop(self) -> None:
        for server in (self._tcp, self._rtu):
            if server is not None:
                await server.shutdown()
        self._tcp = self._rtu = None
        if self._hold_fd is not None:
            os.close(self._hold_fd)
            self._hold_fd = None
        if self._socat is not None and self._socat.returncode is None:
            self._socat.terminate()
            with contextlib.suppress(ProcessLookupError):
                await self._socat.wait()
        self._socat = None


def _simdata(blocks) -> list[SimData]:
    return [SimData(address=a, count=n, values=0, datatype=DataType.REGISTERS) for a, n in blocks]
