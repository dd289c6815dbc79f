"""sd_notify(3) without a dependency: READY=1 once running, WATCHDOG=1 from the event loop.

The watchdog is fed by a coroutine on the agent's own loop, so a loop that is stuck
stops feeding it and systemd restarts the service. Outside systemd (no
``$NOTIFY_SOCKET``) everything here does nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False  # the socket may be re-created; the next message tries again
    return True


async def feed_watchdog() -> None:
    """Send WATCHDOG=1 at half the interval systemd asked for (``$WATCHDOG_USEC``)."""
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if usec <= 0:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(usec / 2_000_000)
