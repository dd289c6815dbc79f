"""Releases of this project for self-update tests (agent/maintenance/self_update.py).

``build_wheel`` writes a wheel (PEP 427) of this checkout's packages with another version
(and, for a broken release, an entry point that exits at once), with the dependencies of
setup.cfg; ``first_release`` makes the release a charger would have been installed with
(systemd/install.sh does it with pip and the package index). Release environments take
their dependencies from this test environment (a .pth file), so nothing is downloaded.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

from agent.maintenance.self_update import install_check_script

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "drivers", "simulator")
BROKEN_MAIN = (
    'def main(argv: list[str] | None = None) -> int:\n    raise SystemExit("evse-agent: this release is broken on purpose")\n\n\n'
    "def _main_unused(argv: list[str] | None = None) -> int:"
)


def build_wheel(dest: Path, version: str, *, broken: bool = False, on_import: str = "") -> Path:
    """``evse_agent-<version>-py3-none-any.whl`` in ``dest``; ``on_import``: Python code the
    release runs when ``agent`` is imported (what a hostile release would do: install-release
    imports the new release to check it)."""
    dist_info = f"evse_agent-{version}.dist-info"
    files: dict[str, bytes] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(REPO).as_posix()] = path.read_bytes()
    init = files["agent/__init__.py"].decode()
    files["agent/__init__.py"] = init.replace('__version__ = "', f'__version__ = "{version}"  # was "', 1).encode()
    if on_import:
        files["agent/__init__.py"] += b"\n" + on_import.encode() + b"\n"
    if broken:
        cli = files["agent/app/cli.py"].decode()
        files["agent/app/cli.py"] = cli.replace("def main(argv: list[str] | None = None) -> int:", BROKEN_MAIN, 1).encode()
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    requires = [line.strip() for line in setup["options"]["install_requires"].splitlines() if line.strip() and not line.strip().startswith("#")]
    files[f"{dist_info}/METADATA"] = "\n".join(
        ["Metadata-Version: 2.1", "Name: evse-agent", f"Version: {version}", "Requires-Python: >=3.11"]
        + [f"Requires-Dist: {r}" for r in requires]
    ).encode() + b"\n"
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests/release_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist_info}/entry_points.txt"] = b"[console_scripts]\nevse-agent = agent.app.cli:main\nevse-sim = simulator.cli:main\n"
    files[f"{dist_info}/top_level.txt"] = "\n".join(PACKAGES).encode() + b"\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + f"\n{dist_info}/RECORD,,\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"evse_agent-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def first_release(root: Path, wheel: Path, version: str) -> Path:
    """``root/releases/<version>`` with ``wheel`` installed, ``root/current`` pointing at it and
    ``root/release-check``, as systemd/install.sh leaves them."""
    environment = root / "releases" / version
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    site_packages = environment / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site_packages / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python"), "install", "--quiet",
         "--disable-pip-version-check", "--no-index", "--no-deps", str(wheel)],
        check=True,
    )
    os.symlink(Path("releases") / version, root / "current")
    install_check_script(root)
    return environment


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
