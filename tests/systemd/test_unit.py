"""The systemd unit, install.sh/uninstall.sh and sd_notify, checked without touching the system.

- ``systemd-analyze verify`` and ``systemd-analyze security --offline=true`` (systemd 252, Debian
  package ``systemd``) run on copies of the unit; no running systemd is needed. Without
  systemd-analyze these tests skip, or fail when ``$CI`` is set.
- install.sh and uninstall.sh run with ``ROOT=<tmp dir>``, with stubs for apt-get, useradd,
  groupadd, usermod, chown and systemctl first on PATH that record any call, so that a call
  fails the test instead of changing the machine.
- agent.app.systemd.notify()/feed_watchdog() send to a datagram socket this test binds.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT_SRC = REPO / "systemd" / "evse-agent.service"
INSTALL = REPO / "systemd" / "install.sh"
UNINSTALL = REPO / "systemd" / "uninstall.sh"
BINARY = "/opt/evse-agent/current/bin/evse-agent"
RELEASE_CHECK = "/opt/evse-agent/release-check"
MAX_EXPOSURE = 1.5  # the score when the unit got its resource bounds: it may only get better

SKIP_VENV = os.environ.get("EVSE_AGENT_SKIP_VENV") == "1"


# --- helpers -------------------------------------------------------------------------------

def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        message = ("systemd-analyze not found: install the Debian package 'systemd' "
                   "(apt-get install systemd); no running systemd is needed")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"}
    return subprocess.run([systemd_analyze(), "--no-pager", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=60)


def unit_entries(path: Path = UNIT_SRC) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order; keys may repeat in systemd units."""
    entries, section = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment in {path.name}: {raw!r}"
        entries.append((section, key.strip(), value.strip()))
    return entries


def values(key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in unit_entries() if s == section and k == key]


def unit_with_binary(dest_dir: Path) -> Path:
    """The unit with ExecStart*/ExecStartPre pointing at executables that exist here."""
    exe = Path(sys.executable).with_name("evse-agent")
    if not os.access(exe, os.X_OK):
        found = shutil.which("evse-agent")
        assert found, "no evse-agent executable to stand in for " + BINARY
        exe = Path(found)
    text = UNIT_SRC.read_text()
    assert BINARY in text and RELEASE_CHECK in text
    unit = dest_dir / UNIT_SRC.name
    unit.write_text(text.replace(BINARY, str(exe)).replace(RELEASE_CHECK, str(REPO / "agent" / "self_update.py")))
    return unit


def verify_problems(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Lines of verify's output about our unit. verify is silent on a clean unit; it prints
    warnings (unknown key, unparsable value) with exit status 0, so any line naming the unit
    counts. Lines about other units on this host do not."""
    return [line for line in (result.stdout + result.stderr).splitlines()
            if "evse-agent.service" in line]


# --- the unit ------------------------------------------------------------------------------

def test_verify_is_clean(tmp_path):
    unit = unit_with_binary(tmp_path)
    result = analyze("verify", "--man=no", "--recursive-errors=no", unit)
    output = (result.stdout + result.stderr).strip()
    print("systemd-analyze verify printed:", output or "(nothing)")
    assert result.returncode == 0, output
    assert verify_problems(result) == [], output


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a bad key and a missing binary are reported."""
    unit = tmp_path / "evse-agent.service"
    unit.write_text(UNIT_SRC.read_text().replace("UMask=0077", "UMask=0077\nProtectSytem=strict"))
    result = analyze("verify", "--man=no", "--recursive-errors=no", unit)
    problems = "\n".join(verify_problems(result))
    assert "ProtectSytem" in problems
    assert f"{BINARY} is not executable" in problems
    assert result.returncode != 0


def test_security_exposure_at_most_2(tmp_path):
    result = analyze("security", "--offline=true", unit_with_binary(tmp_path))
    assert result.returncode == 0, result.stderr
    match = re.search(r"Overall exposure level for evse-agent\.service: (\d+(?:\.\d+)?) (\S+)",
                      result.stdout)
    assert match, "no 'Overall exposure level' line in:\n" + result.stdout + result.stderr
    exposure = float(match.group(1))
    print(f"offline security exposure: {exposure} {match.group(2)}")
    assert exposure <= MAX_EXPOSURE, "\n".join(
        line for line in result.stdout.splitlines() if line.startswith("✗"))


def _bytes(value: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_memory_and_tasks_are_bounded():
    """Issue 17: a runaway (a download, an unpacked archive, a thread leak) hits the service's
    own bounds, not the charger's; the bounds leave room for the agent (~50 MiB) and pip."""
    (high,), (maximum,), (tasks,) = values("MemoryHigh"), values("MemoryMax"), values("TasksMax")
    assert 128 << 20 <= _bytes(high) < _bytes(maximum) <= 512 << 20
    assert 32 <= int(tasks) <= 256


def test_unit_directives():
    assert values("Type") == ["notify"]
    assert values("NotifyAccess") == ["main"]
    (watchdog,) = values("WatchdogSec")
    assert int(watchdog) > 0
    assert values("Restart") == ["always"]
    assert values("ExecStart")[0].split()[:2] == [BINARY, "run"]
    # The release check runs first, and its failure does not stop the start ("-").
    assert [v.split()[0] for v in values("ExecStartPre")] == [f"-{RELEASE_CHECK}", BINARY]
    assert values("ReadWritePaths") == ["/opt/evse-agent"]  # where install-release puts releases
    assert values("User") == ["evse-agent"]
    assert values("SupplementaryGroups")[0].split() == ["dialout", "gpio", "i2c"]
    assert values("StateDirectory") == ["evse-agent"]
    assert values("ConfigurationDirectory") == ["evse-agent"]
    assert values("ProtectSystem") == ["strict"]
    assert values("NoNewPrivileges") == ["yes"]
    assert set(values("RestrictAddressFamilies")[0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert values("SystemCallFilter")
    assert values("DevicePolicy") == ["closed"]
    allowed = {v.split()[0] for v in values("DeviceAllow")}
    assert allowed >= {f"char-{d}" for d in ("ttyS", "ttyUSB", "ttyAMA", "ttyACM", "gpiochip", "i2c")}
    # PrivateDevices= would hide the serial, gpiochip and i2c devices.
    assert values("PrivateDevices") == []
    assert values("WantedBy", "Install") == ["multi-user.target"]


def test_install_script_creates_the_units_groups():
    """install.sh creates/joins exactly the groups the unit asks for."""
    wanted = re.search(r"^GROUPS_WANTED=\(([^)]*)\)", INSTALL.read_text(), re.M)
    assert wanted and wanted.group(1).split() == values("SupplementaryGroups")[0].split()


# --- install.sh / uninstall.sh under ROOT ----------------------------------------------------

STUBBED = ("apt-get", "apt", "dpkg", "useradd", "groupadd", "usermod", "userdel", "chown",
           "systemctl", "runuser")


def stub_path(tmp: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with failing stubs for every command that changes
    the system; each call is appended to the returned log file."""
    bin_dir, log = tmp / "stub-bin", tmp / "system-calls.log"
    bin_dir.mkdir(exist_ok=True)
    for name in STUBBED:
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 97\n')
        stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("ROOT", "DESTDIR", "PYTHON", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env, log


def run_script(script: Path, root: Path, *args: str, skip_venv: bool = SKIP_VENV,
               timeout: float = 600, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env, log = stub_path(root.parent)
    env["ROOT"] = str(root)
    env.update(env_extra or {})
    if skip_venv:
        env["EVSE_AGENT_SKIP_VENV"] = "1"
    result = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                            env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    calls = log.read_text() if log.exists() else ""
    assert calls == "", f"{script.name} called system commands under ROOT:\n{calls}"
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
    return result


def agent_version() -> str:
    return re.search(r'__version__ = "([^"]+)"', (REPO / "agent/__init__.py").read_text()).group(1)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One full install (venv and pip install included, unless EVSE_AGENT_SKIP_VENV=1)."""
    root = tmp_path_factory.mktemp("install") / "root"
    result = run_script(INSTALL, root)
    return root, result


@pytest.mark.timeout(900)
def test_install_tree(installed):
    root, result = installed
    unit = root / "etc/systemd/system/evse-agent.service"
    config = root / "etc/evse-agent/agent.toml"
    assert unit.read_text() == UNIT_SRC.read_text()
    assert mode(unit) == 0o644
    assert config.read_text() == (REPO / "config/agent.example.toml").read_text()
    assert mode(config) == 0o640
    assert mode(root / "etc/evse-agent") == 0o750
    assert mode(root / "var/lib/evse-agent") == 0o700
    assert (root / "opt/evse-agent").is_dir()
    assert os.access(root / RELEASE_CHECK.lstrip("/"), os.X_OK)
    assert "chown -R evse-agent:evse-agent /opt/evse-agent" in result.stdout
    # Nothing outside the staged root's usual places.
    assert {p.name for p in root.iterdir()} == {"etc", "opt", "var"}
    # What it would have done to the system is said, not done.
    for would in ("apt-get install", "useradd", "chown root:evse-agent /etc/evse-agent/agent.toml",
                  "systemctl daemon-reload && systemctl enable --now evse-agent"):
        assert would in result.stdout
    if not SKIP_VENV:
        exe = root / BINARY.lstrip("/")
        assert os.access(exe, os.X_OK)
        current = root / "opt/evse-agent/current"
        assert os.readlink(current) == f"releases/{agent_version()}"  # relative: valid in the staged root too
        assert "check-config" in result.stdout and "agent.toml: OK" in result.stdout


@pytest.mark.timeout(900)
def test_installed_unit_verifies_against_the_staged_venv(installed):
    """The unit as installed, checked inside the staged root: its ExecStart binary exists there."""
    if SKIP_VENV:
        pytest.skip("EVSE_AGENT_SKIP_VENV=1: no staged venv")
    root, _ = installed
    result = analyze("verify", "--man=no", "--recursive-errors=no", f"--root={root}",
                     "evse-agent.service")
    assert result.returncode == 0 and verify_problems(result) == [], result.stdout + result.stderr


@pytest.mark.timeout(900)
def test_second_install_keeps_edited_config(installed):
    root, _ = installed
    config = root / "etc/evse-agent/agent.toml"
    edited = config.read_text().replace('id = "CP-0001"', 'id = "CP-EDITED"')
    assert edited != config.read_text()
    config.write_text(edited)
    result = run_script(INSTALL, root)
    assert "keeping existing /etc/evse-agent/agent.toml" in result.stdout
    assert config.read_text() == edited
    assert mode(config) == 0o640
    assert (root / "etc/systemd/system/evse-agent.service").read_text() == UNIT_SRC.read_text()
    if not SKIP_VENV:
        assert os.access(root / BINARY.lstrip("/"), os.X_OK)
        assert "agent.toml: OK" in result.stdout  # check-config ran on the edited file


def staged_install(tmp_path: Path) -> Path:
    """A quick install without the venv, plus a stand-in venv file to be removed."""
    root = tmp_path / "root"
    run_script(INSTALL, root, skip_venv=True)
    exe = root / BINARY.lstrip("/")
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    (root / "var/lib/evse-agent/state.db").write_text("state")
    return root


def test_install_puts_the_manufacturer_roots_where_the_config_names_them(tmp_path):
    """The firmware trust anchors come from the installation: installed root-owned and
    read-only for the service; a second install with a new root (a key rotation) keeps the old."""
    from tests.pki import TestCA

    shipped = tmp_path / "shipped"
    TestCA("Manufacturer Root CA 2026").write(shipped / "root-2026.pem")
    root = tmp_path / "root"
    result = run_script(INSTALL, root, skip_venv=True, env_extra={"MANUFACTURER_ROOTS": str(shipped)})
    installed = root / "etc/evse-agent/manufacturer-roots"
    assert "root-2026.pem -> /etc/evse-agent/manufacturer-roots/" in result.stdout
    assert (installed / "root-2026.pem").read_text() == (shipped / "root-2026.pem").read_text()
    assert mode(installed) == 0o755 and mode(installed / "root-2026.pem") == 0o644
    assert 'manufacturer_roots = ["/etc/evse-agent/manufacturer-roots"]' in (root / "etc/evse-agent/agent.toml").read_text()
    (shipped / "root-2026.pem").unlink()
    TestCA("Manufacturer Root CA 2031").write(shipped / "root-2031.pem")
    run_script(INSTALL, root, skip_venv=True, env_extra={"MANUFACTURER_ROOTS": str(shipped)})
    assert sorted(p.name for p in installed.iterdir()) == ["root-2026.pem", "root-2031.pem"]


def test_install_with_the_service_page(tmp_path):
    """--service-page: the page on in a new config, the drop-in that lets the service write its
    configuration directory, and nothing else widened: the exposure stays at most MAX_EXPOSURE."""
    root = tmp_path / "root"
    result = run_script(INSTALL, root, "--service-page", skip_venv=True)
    etc = root / "etc/evse-agent"
    dropin = root / "etc/systemd/system/evse-agent.service.d/service-page.conf"
    assert mode(etc) == 0o770 and "would run: chown root:evse-agent /etc/evse-agent" in result.stdout
    assert (etc / "agent.toml").read_text().endswith('\n[service_page]\nlisten = "0.0.0.0:8443"\n')
    assert dropin.read_text() == (REPO / "systemd/service-page.conf").read_text()
    assert [line for line in dropin.read_text().splitlines() if line and not line.startswith("#")] == [
        "[Service]", "ReadWritePaths=/etc/evse-agent"]
    exe = root / BINARY.lstrip("/")
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (root / RELEASE_CHECK.lstrip("/")).chmod(0o755)
    verify = analyze("verify", "--man=no", "--recursive-errors=no", f"--root={root}", "evse-agent.service")
    assert verify.returncode == 0 and verify_problems(verify) == [], verify.stdout + verify.stderr
    security = analyze("security", "--offline=true", f"--root={root}", "evse-agent.service")
    match = re.search(r"Overall exposure level for evse-agent\.service: (\d+(?:\.\d+)?)", security.stdout)
    assert match and float(match.group(1)) <= MAX_EXPOSURE, security.stdout + security.stderr
    # An upgrade without the option keeps the page on; the config is not touched again.
    edited = (etc / "agent.toml").read_text() + "# edited\n"
    (etc / "agent.toml").write_text(edited)
    run_script(INSTALL, root, skip_venv=True)
    assert mode(etc) == 0o770 and dropin.exists() and (etc / "agent.toml").read_text() == edited
    run_script(UNINSTALL, root)
    assert not dropin.parent.exists()


def test_install_without_the_service_page_keeps_the_configuration_read_only(tmp_path):
    root = tmp_path / "root"
    run_script(INSTALL, root, skip_venv=True)
    assert mode(root / "etc/evse-agent") == 0o750
    assert not (root / "etc/systemd/system/evse-agent.service.d").exists()
    assert "\n[service_page]" not in (root / "etc/evse-agent/agent.toml").read_text()


def test_uninstall_keeps_config_and_state(tmp_path):
    root = staged_install(tmp_path)
    result = run_script(UNINSTALL, root)
    assert not (root / "etc/systemd/system/evse-agent.service").exists()
    assert not (root / "opt/evse-agent").exists()
    assert (root / "etc/evse-agent/agent.toml").is_file()
    assert (root / "var/lib/evse-agent/state.db").is_file()
    assert "--purge" in result.stdout
    run_script(UNINSTALL, root)  # again: nothing left to do, still succeeds


def test_uninstall_purge(tmp_path):
    root = staged_install(tmp_path)
    run_script(UNINSTALL, root, "--purge")
    assert not (root / "etc/evse-agent").exists()
    assert not (root / "var/lib/evse-agent").exists()
    assert not (root / "opt/evse-agent").exists()


def test_scripts_reject_unknown_arguments(tmp_path):
    for script in (INSTALL, UNINSTALL):
        result = subprocess.run(["bash", str(script), "--bogus"], capture_output=True, text=True,
                                env={**os.environ, "ROOT": str(tmp_path)}, timeout=30)
        assert result.returncode != 0
        assert "unknown argument: --bogus" in result.stderr


# --- sd_notify -----------------------------------------------------------------------------

NOTIFIER = ("import asyncio, agent.app.systemd as s; "
            "assert s.notify('READY=1'); "
            "asyncio.run(asyncio.wait_for(s.feed_watchdog(), 60))")


@pytest.fixture
def notify_socket():
    """A bound AF_UNIX datagram socket; yields (socket, $NOTIFY_SOCKET value) per address kind."""
    def make(kind: str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if kind == "abstract":
            name = f"evse-agent-test-{uuid.uuid4().hex}"
            sock.bind("\0" + name)
            address = "@" + name
        else:  # a short path: sun_path holds 108 bytes, pytest's tmp_path can be longer
            address = os.path.join(tempfile.mkdtemp(prefix="evse-notify-"), "notify")
            sock.bind(address)
        sockets.append((sock, address))
        return sock, address

    sockets: list[tuple[socket.socket, str]] = []
    yield make
    for sock, address in sockets:
        sock.close()
        if not address.startswith("@"):
            shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def start_notifier(address: str, watchdog_usec: int = 100_000) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": str(watchdog_usec),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", NOTIFIER], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def receive(sock: socket.socket, wanted: int, proc: subprocess.Popen[bytes]) -> list[str]:
    """Block on the socket until `wanted` datagrams arrived (10 s at most for each)."""
    sock.settimeout(10)
    got = []
    while len(got) < wanted:
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"only {got} arrived; notifier exit {proc.returncode}: {err.decode()}")
    return got


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_sd_notify_ready_then_watchdog(notify_socket, kind):
    sock, address = notify_socket(kind)
    proc = start_notifier(address)
    try:
        got = receive(sock, 3, proc)
    finally:
        proc.kill()
        proc.wait()
    assert got == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_watchdog_survives_a_recreated_notify_socket(notify_socket):
    """Each message connects anew, so feeding goes on after the socket file is re-created."""
    sock, address = notify_socket("path")
    proc = start_notifier(address)
    try:
        assert receive(sock, 2, proc) == ["READY=1", "WATCHDOG=1"]
        sock.close()
        os.unlink(address)
        again = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            again.bind(address)
            assert receive(again, 1, proc) == ["WATCHDOG=1"]
        finally:
            again.close()
    finally:
        proc.kill()
        proc.wait()


def test_no_notify_socket_no_watchdog(monkeypatch):
    """Outside systemd nothing is sent and the watchdog coroutine returns at once."""
    import asyncio

    from agent.app.composition import systemd as sd

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert sd.notify("READY=1") is False
    asyncio.run(asyncio.wait_for(sd.feed_watchdog(), 5))
