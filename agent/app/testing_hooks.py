"""Hooks for tests and benchmarks, on only when the config's ``[testing]`` section asks.

``loop_stall_s``: SIGUSR2 blocks the agent's event loop that long with a busy computation (it
holds the GIL, as a backend's heavy request would: issue 17 item 4), so a test can show that
the safety reflex on the hardware thread (agent/station/board_watch.py) does not wait for it.
The log says when the stall begins and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

log = logging.getLogger(__name__)

STALL_SIGNAL = signal.SIGUSR2


def stall(seconds: float, clock=time.monotonic) -> int:
    """Compute for ``seconds`` without yielding (a busy loop, not a sleep): the rounds it made."""
    rounds = 0
    deadline = clock() + seconds
    while clock() < deadline:
        rounds += 1
    return rounds


def install_loop_stall(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    def on_signal() -> None:
        log.warning("testing: event loop blocked for %.2f s", seconds)
        stall(seconds)
        log.warning("testing: event loop released")

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(STALL_SIGNAL, on_signal)
        log.warning("testing: SIGUSR2 blocks the event loop for %.2f s ([testing] loop_stall_s)", seconds)
