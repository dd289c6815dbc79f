"""Ports for servers a test starts itself, often in another process, a moment after choosing.

A port found with ``bind(("127.0.0.1", 0))`` and released is in the ephemeral range, where any
outgoing connection or port-0 server (on the other test worker, too) can take it before the
server binds it: the server then cannot listen. These come from outside that range, are free
when chosen, and never handed out twice in one run.
"""

from __future__ import annotations

import errno
import random
import socket
from pathlib import Path

_HANDED_OUT: set[int] = set()


def ephemeral_ports() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
        return True


def free_port() -> int:
    ephemeral = ephemeral_ports()
    outside = [*range(10000, ephemeral.start), *range(ephemeral.stop, 65536)]
    for port in random.sample(outside, min(500, len(outside))):
        if port not in _HANDED_OUT and port_is_free(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port outside the ephemeral range")
