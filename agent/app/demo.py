"""``evse-agent demo``: the simulator, a demo backend and the agent, together until Ctrl-C.

Each runs as its own process, as on a real installation; this only starts them,
waits until each is listening, and stops them all on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIM_AGENT_CONFIG = ROOT / "config" / "agent-sim.toml"


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


def run_demo(http_port: int = 8765, csms_port: int = 9000, modbus_port: int = 5020) -> int:
    python = sys.executable
    data_dir = tempfile.mkdtemp(prefix="evse-agent-demo-")
    config = _agent_config(modbus_port, data_dir)
    procs: list[tuple[str, subprocess.Popen]] = []
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    def start(name: str, *argv: str) -> subprocess.Popen:
        proc = subprocess.Popen([python, *argv], env=env, start_new_session=True)
        procs.append((name, proc))
        return proc

    try:
        sim = start("simulator", "-m", "simulator.cli", "--http-port", str(http_port), "--modbus-port", str(modbus_port))
        csms = start("demo CSMS", "-m", "simulator.csms.demo_csms", "--port", str(csms_port),
                     "--sim-url", f"http://127.0.0.1:{http_port}")  # its OCPP log on the page
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
        )
        print(
            f"\n  evse-agent demo is running.\n"
            f"  Open http://127.0.0.1:{http_port}/ : plug an EV in, tap a card, watch it charge.\n"
            f"  The demo CSMS prints what it receives below. Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        for name, proc in procs:
            if proc.poll() is not None:
                print(f"evse-agent demo: {name} exited with status {proc.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nevse-agent demo: stopping", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"evse-agent demo: {exc}", file=sys.stderr)
        return 1
    finally:
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
