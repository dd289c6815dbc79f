"""The hardware thread: the Modbus / RAPI devices and the safety reflex, on an event loop of their own.

The agent's main event loop serves the backend as well as the station, and backend work can
hold it. Everything that keeps a connector safe when that happens runs here instead: the
buses and the drivers on them (boards and meters: one bus, one loop), each board's watch
(agent/station/board_watch.py: polling it, fast while current is offered, and the reflex of
agent/core/safety_reflex.py), and the GPIO trip inputs' cuts. The station reaches the devices
through ``Threaded`` proxies, whose coroutines run here and are awaited there.

Python's GIL lets this thread run while the main one computes: a thread that waits for the
GIL gets it after at most ``sys.getswitchinterval()``. A reaction takes several such waits (the
wake-up, the read, the write), so the hardware thread sets it to ``SWITCH_INTERVAL_S`` (1 ms,
Python's default is 5 ms) when it starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

SWITCH_INTERVAL_S = 0.001  # how long a computing thread may keep the GIL from the hardware thread


class HardwareThread:
    def __init__(self, name: str = "evse-hardware") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Event()

    def start(self) -> None:
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the hardware loop (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the hardware loop and wait for it from the calling loop. Cancelling
        the caller cancels it there too."""
        if self.in_thread():
            return await coro
        future = self.submit(coro)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` on the hardware loop, from any thread."""
        if self.in_thread():
            callback(*args)
        else:
            self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout_s)


class Threaded:
    """A device whose coroutine methods run on the hardware thread; its other attributes are
    the device's own. ``Threaded(board, thread)`` is used where the board is."""

    def __init__(self, device: Any, thread: HardwareThread) -> None:
        object.__setattr__(self, "_device", device)
        object.__setattr__(self, "_thread", thread)

    @property
    def device(self) -> Any:
        return self._device

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._device, name)
        if inspect.iscoroutinefunction(attribute):
            @functools.wraps(attribute)
            async def on_hardware_thread(*args: Any, **kwargs: Any) -> Any:
                return await self._thread.run(attribute(*args, **kwargs))

            return on_hardware_thread
        return attribute

    def __repr__(self) -> str:
        return f"Threaded({self._device!r})"
