"""A board watched from the hardware thread: polled fast while energized, cut at once when unsafe.

The station sees a connector's board through its ``BoardWatch`` (``ConnectorHardware.board``),
which runs every coroutine of the driver on the hardware thread
(agent/station/hardware_thread.py) and adds the watch:

- the board is read there every ``energized_s`` (``[[connectors]] energized_poll_interval_s``,
  0.03 s by default) while current is offered or its relay is closed, else every ``idle_s``
  (``poll_interval_s``);
- each reading goes through the connector's safety reflex (agent/core/safety_reflex.py): on an
  RCD trip, an unplug, a fault or a pilot in state E/F while current is offered, the watch
  writes 0 A through the driver at once, without waiting for the agent's event loop (which
  also serves the backend and may be busy), then hands the reading to the station;
- the station's ``DevicePoller`` takes the readings (:meth:`BoardWatch.next_reading`) at its
  own pace (a reading with a cut is never skipped) and acknowledges a cut once it has handled
  it, through the connector's command queue (:class:`AcknowledgeCut`), so an offer the station
  queued before it knew cannot undo the cut;
- the station's writes (:meth:`BoardWatch.set_current_limit`) pass the reflex: 0 A while a cut
  is held.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from agent.core.safety_reflex import Cut, SafetyReflex
from agent.station.hardware_thread import HardwareThread, Threaded
from drivers.interfaces import BoardStatus, DeviceError, DeviceUnavailable

log = logging.getLogger(__name__)

DEFAULT_ENERGIZED_POLL_S = 0.03


@dataclass(frozen=True)
class AcknowledgeCut:
    """Queued by the station behind the commands of the events that reported cut ``seq``: when
    it is carried out, the station has acted on the cut (agent/station/station.py)."""

    seq: int


@dataclass(frozen=True)
class Reading:
    """One read of the board, as the watch hands it over: the status, or why the read failed,
    and the cut it caused."""

    seq: int
    status: BoardStatus | None
    error: DeviceUnavailable | DeviceError | None = None
    cut: Cut | None = None


def poll_interval(reflex: SafetyReflex, last: BoardStatus | None, idle_s: float, energized_s: float) -> float:
    """How long until the next read: ``energized_s`` while current is offered (the reflex) or the
    board's relay is closed (a board's own power-up current, a restored session), else ``idle_s``."""
    if last is not None and last.relay_closed:
        return energized_s
    return reflex.poll_interval(idle_s, energized_s)


class BoardWatch(Threaded):
    def __init__(self, board: Any, thread: HardwareThread, *, evse_id: int, idle_s: float,
                 energized_s: float = DEFAULT_ENERGIZED_POLL_S) -> None:
        super().__init__(board, thread)
        self.evse_id = evse_id
        self.idle_s = idle_s
        self.energized_s = energized_s
        self.reflex = SafetyReflex()  # touched only on the hardware thread
        self._guard = threading.Lock()  # the slots below, shared by the two threads
        self._latest: Reading | None = None
        self._unhandled_cut: Reading | None = None  # a reading with a cut the station has not taken yet
        self._taken = 0  # the seq of the last reading the station took
        self._wake_pending = False
        self._waiting = False  # the station waits in next_reading
        self._seq = 0
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None  # on the main loop
        self._task: Any = None
        self._trips: set[asyncio.Task] = set()
        self._energizing: asyncio.Event | None = None  # set on an offer of current (hardware loop)

    # ---- started by the composition root, from the main loop ------------------------------

    def start(self) -> None:
        self._main_loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._task = self._thread.submit(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # ---- the hardware thread ------------------------------------------------------------

    async def _watch(self) -> None:
        self._energizing = asyncio.Event()  # on the hardware loop
        last: BoardStatus | None = None
        while True:
            try:
                last = await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the watch is what keeps the connector safe: it never ends
                log.exception("connector %d: board watch failed", self.evse_id)
            # Until the next read; an offer of current cuts an idle wait short (fast from the start).
            interval = poll_interval(self.reflex, last, self.idle_s, self.energized_s)
            if interval <= self.energized_s:
                await asyncio.sleep(interval)  # fast already: nothing to cut short
                continue
            self._energizing.clear()
            try:
                async with asyncio.timeout(interval):
                    await self._energizing.wait()
            except TimeoutError:
                pass

    async def _read_once(self) -> BoardStatus | None:
        try:
            status = await self.device.read_status()
        except (DeviceUnavailable, DeviceError) as exc:
            self._publish(None, exc, None)
            return None
        offered = self.reflex.commanded_a > 0  # by the station (else: the board's own power-up current)
        cut = self.reflex.reading(status)
        if cut is not None:
            await self._write_zero(cut, offered)
        self._publish(status, None, cut)
        return status

    async def _write_zero(self, cut: Cut, offered: bool = True) -> None:
        try:
            await self.device.set_current_limit(0.0)
        except (DeviceUnavailable, DeviceError) as exc:  # the station's poll notices a lost board
            log.error("connector %d: %s: cannot write 0 A: %s", self.evse_id, cut.reason, exc)
            return
        log.log(logging.WARNING if offered else logging.INFO,
                "connector %d: %s: 0 A written by the hardware thread (cut %d)%s", self.evse_id, cut.reason, cut.seq,
                "" if offered else ": the board offered current on its own (power-up)")

    def _publish(self, status: BoardStatus | None, error: Exception | None, cut: Cut | None) -> None:
        with self._guard:
            self._seq += 1
            reading = Reading(self._seq, status, error, cut)  # type: ignore[arg-type]
            self._latest = reading
            if cut is not None and self._unhandled_cut is None:
                self._unhandled_cut = reading
            # The main loop is woken only when the station waits for a reading or one brings a
            # cut: fast readings it would not look at cost it nothing.
            wake = (self._waiting or cut is not None) and not self._wake_pending and self._main_loop is not None
            self._wake_pending = self._wake_pending or wake
        if wake:
            try:
                self._main_loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the main loop has closed (shutting down)
                pass

    async def _write(self, amps: float) -> None:
        written = self.reflex.command(amps)
        if written != amps:
            log.info("connector %d: %.1f A held at 0 A until the station has handled '%s'",
                     self.evse_id, amps, self.reflex.reason)
        await self.device.set_current_limit(written)
        if written > 0 and self._energizing is not None:
            self._energizing.set()  # watched closely from now on, not after the idle wait

    # ---- the station's side (its event loop) ---------------------------------------------

    def _wake(self) -> None:
        with self._guard:
            self._wake_pending = False
        self._arrived.set()

    def _take(self) -> Reading | None:
        """The reading to hand over, if any; else the station is marked waiting (atomically, so
        a reading published meanwhile wakes it)."""
        with self._guard:
            if self._unhandled_cut is not None:
                reading, self._unhandled_cut = self._unhandled_cut, None
            elif self._latest is not None and self._latest.seq > self._taken:
                reading = self._latest
            else:
                self._waiting = True
                return None
            self._waiting = False
            self._taken = max(self._taken, reading.seq)
            return reading

    async def next_reading(self) -> Reading:
        """The newest reading the station has not taken yet (first any with a cut), waiting for one."""
        self._arrived.clear()
        while (reading := self._take()) is None:
            await self._arrived.wait()
            self._arrived.clear()
        return reading

    async def set_current_limit(self, amps: float) -> None:
        """The station's offer, written on the hardware thread (0 A while a cut is held)."""
        await self._thread.run(self._write(amps))

    def trip(self, reason: str) -> None:
        """A trip input became active (RCD, emergency stop; any thread): 0 A written on the hardware
        thread. No cut is held: the station's offers stay at 0 while the input is active
        (agent/station/safety_io.py ``gate_offer``)."""
        self._thread.call_soon(self._start_trip, reason)

    def _start_trip(self, reason: str) -> None:
        task = asyncio.ensure_future(self._trip(reason))
        self._trips.add(task)  # kept until done (the loop holds tasks only weakly)
        task.add_done_callback(self._trips.discard)

    async def _trip(self, reason: str) -> None:
        self.reflex.command(0.0)
        try:
            await self.device.set_current_limit(0.0)
        except (DeviceUnavailable, DeviceError) as exc:
            log.error("connector %d: %s input: cannot write 0 A: %s", self.evse_id, reason, exc)
            return
        log.warning("connector %d: %s input: 0 A written by the hardware thread", self.evse_id, reason)

    def acknowledge(self, seq: int) -> None:
        """The station has acted on cut ``seq``: its offers count again."""
        self._thread.call_soon(self.reflex.acknowledge, seq)

    def __repr__(self) -> str:
        return f"BoardWatch({self.device!r})"
