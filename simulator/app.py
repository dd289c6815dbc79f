"""The simulator process: model + Modbus TCP/RTU bus + vpcd card + HTTP API, on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from simulator.config import MAX_SPEED, MIN_SPEED, SimConfig, load_config
from simulator.twins.gpio import GpioBench
from simulator.i2c_devices import I2cChips
from simulator.wire.modbus import ModbusBus, RegisterWrite
from simulator.model import Fault, ModelEvent, SimModel
from simulator.web.ocpp_log import OcppLog
from simulator.wire.pigpio import PigpioServer
from simulator.plug_sessions import PlugSessions
from simulator.wire.rapi import RapiEndpoint
from simulator.twins.readers.vpcd_card import SEEN_EMPTY_WAIT_S, parse_uid, present

log = logging.getLogger(__name__)

TICK_S = 0.1  # real seconds between model steps (each step advances TICK_S x speed)


class Simulator:
    """Compose everything; the Python API mirrors the HTTP API for tests.

    ``Simulator(config=None, *, http_port=None, modbus_port=None, speed=None, rtu_link=None,
    vpcd_port=None, card_hold_s=None, http=True)``: keyword overrides replace config values
    (port 0 = ephemeral; read the bound ports from the properties after :meth:`start`).
    """

    def __init__(self, config: SimConfig | None = None, *, http_port: int | None = None,
                 modbus_port: int | None = None, speed: float | None = None,
                 rtu_link: str | None = None, vpcd_port: int | None = None,
                 card_hold_s: float | None = None, http: bool = True, i2c_port: int | None = None):
        cfg = config or load_config()
        if http_port is not None:
            cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, port=http_port))
        if modbus_port is not None or rtu_link is not None:
            cfg = dataclasses.replace(cfg, modbus=dataclasses.replace(
                cfg.modbus,
                tcp_port=cfg.modbus.tcp_port if modbus_port is None else modbus_port,
                rtu_link=cfg.modbus.rtu_link if rtu_link is None else rtu_link))
        if vpcd_port is not None or card_hold_s is not None:
            cfg = dataclasses.replace(cfg, vpcd=dataclasses.replace(
                cfg.vpcd,
                port=cfg.vpcd.port if vpcd_port is None else vpcd_port,
                hold_s=cfg.vpcd.hold_s if card_hold_s is None else card_hold_s))
        if i2c_port is not None:  # serve the I²C bus on 127.0.0.1 (0 = any free port)
            cfg = dataclasses.replace(cfg, i2c=dataclasses.replace(cfg.i2c, listen=f"127.0.0.1:{i2c_port}"))
        if speed is not None:
            if speed <= 0:
                raise ValueError("speed must be > 0")
            cfg = dataclasses.replace(cfg, speed=float(speed))
        self.config = cfg
        self.model = SimModel(cfg.evses)
        self.sessions = PlugSessions()  # per connector: plug to unplug, power over time
        self.model.on_change = self._changed
        self.register_writes: list[RegisterWrite] = []
        self.bus = ModbusBus(self.model, on_write=self._on_write)
        self.i2c = I2cChips(cfg, self._changed)  # OLEDs, temperature sensor, PN532
        self.ocpp_log = OcppLog(self._changed)  # what a backend reports it exchanged (the page's log)
        self.gpio = GpioBench([e.id for e in cfg.evses], self._gpio_changed)  # contactor, RCD, lock, LEDs
        self.pigpio = PigpioServer(self.gpio)  # the GPIO over pigpiod's socket protocol
        self.rapi: dict[int, RapiEndpoint] = {}  # evse id -> RAPI endpoint of an openevse board
        self.card: str | None = None  # UID (uppercase hex) currently on the reader
        self.card_next: str | None = None  # UID of a tap waiting for the reader to be seen empty
        self.card_error: str | None = None
        self._card_task: asyncio.Task | None = None  # the latest tap
        self._card_away: asyncio.Event | None = None  # set: the latest tap's card is taken away
        self._card_tasks: set[asyncio.Task] = set()
        self._with_http = http
        self._http_runner = None
        self._http_port: int | None = None
        self._tick_task: asyncio.Task | None = None
        self._change = asyncio.Event()
        self._running = False

    # --- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        m = self.config.modbus
        await self.bus.start_tcp(m.tcp_host, m.tcp_port)
        if m.rtu_link:
            await self.bus.start_rtu(m.rtu_link, m.baudrate, m.parity)
        for e in self.config.evses:
            if e.board == "openevse":
                endpoint = RapiEndpoint(self.model, e.id, self.change_event)
                await endpoint.start(m.tcp_host, e.rapi_port, e.rapi_link)
                self.rapi[e.id] = endpoint
        await self.i2c.start()
        await self.pigpio.start(self.config.gpio.host, self.config.gpio.port)
        if self._with_http:
            from simulator.web.http_api import start_http  # aiohttp only when serving HTTP

            self._http_runner, self._http_port = await start_http(
                self, self.config.http.host, self.config.http.port)
        self._running = True
        self._tick_task = asyncio.create_task(self._tick(), name="evse-sim tick")

    async def stop(self) -> None:
        self._running = False
        self._changed()  # wake SSE streams so they end
        for task in (self._tick_task, *self._card_tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._http_runner is not None:
            await self._http_runner.cleanup()
            self._http_runner = None
        for endpoint in self.rapi.values():
            await endpoint.stop()
        await self.i2c.stop()
        await self.pigpio.stop()
        await self.bus.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def gpio_port(self) -> int | None:
        """TCP port of the pigpio daemon protocol (gpiozero ``PiGPIOFactory(host, port)``)."""
        return self.pigpio.port

    def _gpio_changed(self) -> None:
        for evse_id, point in self.model.evses.items():
            point.main_contactor_open = self.gpio.main_contactor_open(evse_id)
            point.update()
        self._changed()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def modbus_port(self) -> int | None:
        return self.bus.tcp_port

    @property
    def rtu_link(self) -> str | None:
        """Path the agent opens for Modbus RTU (None without RTU)."""
        return self.bus.rtu_link

    @property
    def rapi_ports(self) -> dict[int, int]:
        """evse id -> TCP port of its OpenEVSE RAPI endpoint (``socket://host:port``)."""
        return {evse_id: e.port for evse_id, e in self.rapi.items() if e.port is not None}

    @property
    def i2c_port(self) -> int | None:
        """TCP port of the simulated I²C bus (``sim = "127.0.0.1:PORT"``), None when not served."""
        return self.i2c.port

    @property
    def http_port(self) -> int | None:
        return self._http_port

    @property
    def http_url(self) -> str | None:
        if self._http_port is None:
            return None
        return f"http://{self.config.http.host}:{self._http_port}/"

    @property
    def speed(self) -> float:
        return self.config.speed

    @property
    def events(self) -> list[ModelEvent]:
        """Model events (relay/pilot/fault changes) with simulated timestamps."""
        return self.model.events

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            self.model.advance((now - last) * self.config.speed)
            last = now

    # --- change notification ---------------------------------------------------
    def _changed(self) -> None:
        """Wake everyone waiting for a change (a fresh Event per generation)."""
        self.sessions.observe(self.model)
        event, self._change = self._change, asyncio.Event()
        event.set()

    def change_event(self) -> asyncio.Event:
        """The event set at the next model change (take it *before* reading the state)."""
        return self._change

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool],
                       timeout: float = 5.0) -> dict[str, Any]:
        """Return the first state for which ``predicate(state)`` is true.

        Re-evaluated on every model change; raises ``TimeoutError`` after ``timeout`` s.
        """
        async with asyncio.timeout(timeout):
            while True:
                change = self._change  # take it before evaluating: no lost wake-ups
                state = self.state()
                if predicate(state):
                    return state
                await change.wait()

    def _on_write(self, write: RegisterWrite) -> None:
        self.register_writes.append(write)

    # --- Python API (mirrors HTTP) -------------------------------------------
    def state(self) -> dict[str, Any]:
        s = self.model.state()
        s["card"] = self.card
        s["card_next"] = self.card_next
        s["card_error"] = self.card_error
        s["speed"] = self.config.speed
        s["gpio"] = self.gpio.state()
        s["i2c"] = self.i2c.state()
        for e in s["evses"]:
            e["session"] = self.sessions.state(e["id"])
        return s

    def evse_state(self, evse_id: int) -> dict[str, Any]:
        return {**self.model.evse(evse_id).state(), "session": self.sessions.state(evse_id)}

    def plug(self, evse_id: int) -> None:
        self.model.plug(evse_id)

    def unplug(self, evse_id: int) -> None:
        self.model.unplug(evse_id)

    def unplug_ev(self, evse_id: int) -> None:
        """Unplug at the EV; the cable stays in the charge point's socket."""
        self.model.unplug_ev(evse_id)

    def set_ev_state(self, evse_id: int, state: str) -> None:
        self.model.set_ev_state(evse_id, state)

    def set_soc(self, evse_id: int, soc: float) -> None:
        self.model.set_soc(evse_id, soc)

    def set_battery(self, evse_id: int, capacity_kwh: float | None = None, soc: float | None = None) -> None:
        """The plugged (or next) EV's battery: its size in kWh (> 0) and its charge now (0-1)."""
        point = self.model.evse(evse_id)
        if capacity_kwh is not None:
            if capacity_kwh <= 0:
                raise ValueError("capacity_kwh must be > 0")
            point.ev.battery_kwh = float(capacity_kwh)
        self.model.set_soc(evse_id, point.ev.soc if soc is None else soc)

    def set_speed(self, speed: float) -> None:
        """Simulated seconds per real second, from the next model step on."""
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}")
        self.config = dataclasses.replace(self.config, speed=float(speed))
        self._changed()

    def inject_fault(self, evse_id: int, kind: str) -> None:
        self.model.inject_fault(evse_id, Fault(kind))

    def reboot_board(self, evse_id: int) -> None:
        """A brown-out of the board of ``evse_id``: it restarts with its power-up values
        (EVSE-DIN: 1000 := 2000; Heidelberg, Bender: their current and set-up registers;
        OpenEVSE: its EEPROM current, and ``$AB``)."""
        self.model.reboot_board(evse_id)

    def clear_fault(self, evse_id: int) -> None:
        self.model.clear_fault(evse_id)

    def set_temperature(self, celsius: float) -> None:
        """What the I²C temperature sensor measures from now on."""
        self.i2c.set_temperature(celsius)

    def display(self, evse_id: int) -> dict[str, Any]:
        """The OLED of ``evse_id`` as a viewer sees it (simulator/twins/i2c/ssd1306.py ``picture``)."""
        self.model.evse(evse_id)  # KeyError for an unknown evse
        twin = self.i2c.displays.get(evse_id)
        if twin is None:
            raise LookupError(f"evse {evse_id} has no display")
        return twin.picture()

    def tap_card(self, uid_hex: str, hold_s: float | None = None) -> asyncio.Task:
        """Present a card to the vpcd reader and the PN532 for ``hold_s`` real seconds (config default).

        Raises ValueError for a bad UID or when there is no reader. A tap replaces a card still
        on the reader as a hand would: that card is taken away, and this one is presented once
        every reader has been seen empty (pcscd reported it, the PN532 found no target), at
        most :data:`SEEN_EMPTY_WAIT_S` s each; meanwhile ``card`` is None and ``card_next``
        this UID. The task ends when the card is removed and the reader seen empty; it raises
        OSError if vpcd is unreachable and no PN532 took the card (``[vpcd] port = 0``: no
        vpcd card at all).
        """
        uid = parse_uid(uid_hex)
        if self.i2c.nfc is None and not self.config.vpcd.port:
            raise ValueError("no card reader: vpcd port is 0 and there is no PN532")
        previous = self._card_task if self._card_task is not None and not self._card_task.done() else None
        if self._card_away is not None:
            self._card_away.set()  # the card before (on the reader, or still waiting) goes away
        away = self._card_away = asyncio.Event()
        if previous is not None:
            self.card_next = uid.hex().upper()
            self._changed()
        v = self.config.vpcd
        task = asyncio.create_task(
            self._tap(uid, v.hold_s if hold_s is None else hold_s, previous, away), name="evse-sim card")
        self._card_task = task
        self._card_tasks.add(task)
        task.add_done_callback(self._card_tasks.discard)
        return task

    async def _tap(self, uid: bytes, hold_s: float, previous: asyncio.Task | None, away: asyncio.Event) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its card is off and every reader saw it empty
        if away.is_set():
            return  # replaced in turn before it reached the reader (card_next is the new one's)
        self.card_next = None
        v = self.config.vpcd
        tag = uid.hex().upper()
        nfc = self.i2c.nfc

        def inserted() -> None:
            self.card, self.card_error = tag, None
            self._changed()

        def removed() -> None:
            if nfc is not None:
                nfc.take_away()
            self.card = None
            self._changed()

        if nfc is not None:  # the PN532 twin holds the card for the same time
            nfc.card = uid
            inserted()
        try:
            if not v.port:
                await self._hold(hold_s, away)
            else:
                await present(uid, hold_s, v.host, v.port, on_present=inserted, taken_away=away, on_removed=removed)
        except OSError as exc:
            self.card_error = f"vpcd {v.host}:{v.port}: {exc.strerror or exc}"
            log.warning("card tap failed: %s", self.card_error)
            if nfc is None:
                raise
            await self._hold(hold_s, away)
        finally:
            removed()
        if nfc is not None and not nfc.seen_empty:
            with contextlib.suppress(TimeoutError):  # nobody searches the field: go on anyway
                await self.wait_for(lambda _state: nfc.seen_empty, timeout=SEEN_EMPTY_WAIT_S)

    @staticmethod
    async def _hold(hold_s: float, away: asyncio.Event) -> None:
        """The card lies on the reader for ``hold_s`` s, or until it is taken away."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(away.wait(), hold_s)
