"""``evse-agent demo``: the simulator, a demo backend and the agent, together until stopped.

Each runs as its own process, as on a real installation; this only starts them, waits until
each is listening, and stops them all on Ctrl-C, SIGTERM (``timeout``, a service manager, a
container stop) or SIGHUP (the terminal closed). Should this process die without stopping
them (SIGKILL), each child gets SIGTERM from the kernel (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIM_AGENT_CONFIG = ROOT / "config" / "agent-sim.toml"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _StopRequested(Exception):
    """SIGTERM or SIGHUP: stop as on Ctrl-C."""


class _StopSignals:
    """SIGTERM and SIGHUP raise :class:`_StopRequested`, once: a second one must not cut the
    clean-up short."""

    def __init__(self) -> None:
        self.received: str | None = None

    def __call__(self, signum: int, _frame) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            raise _StopRequested(self.received)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for the children: SIGTERM when this process dies, however it dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked around the fork
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody would tell us
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _taken_port(ports: dict[str, tuple[int, str]]) -> str | None:
    """One line naming the first port already in use, and what to do about it; None if all free."""
    for what, (port, option) in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                return (f"evse-agent demo: port {port} ({what}) is already in use, perhaps by an earlier demo:"
                        f" stop that program (`ss -ltnp 'sport = :{port}'` names it) or choose another port"
                        f" with {option} PORT")
    return None


def _say(text: str, file=sys.stdout) -> None:
    """Print, unless the terminal is gone (SIGHUP): stopping must go on anyway."""
    try:
        print(text, file=file, flush=True)
    except OSError:
        pass


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} is not listening on port {port} after {timeout_s:.0f} s")


def _agent_config(modbus_port: int, directory: str) -> Path:
    """agent-sim.toml, with the simulated bus on ``modbus_port``."""
    text = SIM_AGENT_CONFIG.read_text()
    default = "port = 5020\n"
    if text.count(default) != 1:
        raise RuntimeError(f"{SIM_AGENT_CONFIG}: expected one '{default.strip()}' line for the simulated bus")
    path = Path(directory) / "agent.toml"
    path.write_text(text.replace(default, f"port = {modbus_port}\n"))
    return path


def run_demo(http_port: int = 8765, csms_port: int = 9000, modbus_port: int = 5020,
             ocpp_version: str | None = None) -> int:
    """``ocpp_version`` ("1.6" or "2.0.1"): the demo backend speaks only it and the agent offers
    only it; None: the backend serves both and the agent offers what agent-sim.toml says."""
    taken = _taken_port({"the simulator page": (http_port, "--http-port"),
                         "the simulated Modbus bus": (modbus_port, "--modbus-port"),
                         "the demo backend": (csms_port, "--csms-port")})
    if taken:
        _say(taken, sys.stderr)
        return 1
    python = sys.executable
    data_dir = tempfile.mkdtemp(prefix="evse-agent-demo-")
    config = _agent_config(modbus_port, data_dir)
    procs: list[tuple[str, subprocess.Popen]] = []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    preexec = _die_with_parent()

    def start(name: str, *argv: str) -> subprocess.Popen:
        # Stop signals wait until the child is in ``procs`` (and is stopped with the others).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            proc = subprocess.Popen([python, *argv], env=env, start_new_session=True,
                                    preexec_fn=preexec)  # noqa: PLW1509 - no threads here
            procs.append((name, proc))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return proc

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        stop = _StopSignals()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        sim = start("simulator", "-m", "simulator.cli", "--http-port", str(http_port), "--modbus-port", str(modbus_port))
        version = ("--ocpp-version", ocpp_version) if ocpp_version else ()
        csms = start("demo CSMS", "-m", "simulator.csms.demo_csms", "--port", str(csms_port),
                     "--sim-url", f"http://127.0.0.1:{http_port}", *version)  # its OCPP log on the page
        _wait_port(modbus_port, sim, "the simulator")
        _wait_port(http_port, sim, "the simulator page")
        _wait_port(csms_port, csms, "the demo CSMS")
        start(
            "agent",
            "-m",
            "agent.app.cli",
            "run",
            "--config",
            str(config),
            "--csms-url",
            f"ws://127.0.0.1:{csms_port}",
            "--data-dir",
            data_dir,
            *version,
        )
        _say(
            f"\n  evse-agent demo is running.\n"
            f"  Open http://127.0.0.1:{http_port}/ : plug an EV in, tap a card, watch it charge.\n"
            f"  The demo CSMS prints what it receives below. Ctrl-C stops everything.\n",
        )
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        for name, proc in procs:
            if proc.poll() is not None:
                _say(f"evse-agent demo: {name} exited with status {proc.returncode}", sys.stderr)
        return 1
    except (KeyboardInterrupt, _StopRequested):
        _say("\nevse-agent demo: stopping")
        return 0
    except RuntimeError as exc:
        _say(f"evse-agent demo: {exc}", sys.stderr)
        return 1
    finally:
        for signum in STOP_SIGNALS:  # a second signal must not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)  # the demo's throw-away database
        for signum, handler in previous.items():
            signal.signal(signum, handler)
