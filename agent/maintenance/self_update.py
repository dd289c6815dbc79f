#!/usr/bin/python3 -I
"""Installing a new release of evse-agent itself, with a rollback when it does not come up.

The issue's firmware update of the agent (UpdateFirmware / SignedUpdateFirmware download the
file; ``[firmware] installer = "/opt/evse-agent/current/bin/evse-agent install-release {file}"``
installs it). Layout under the releases root (``/opt/evse-agent``)::

    releases/<version>/   one virtual environment per release
    current               symlink to releases/<version>: what the service runs
    pending.json          a release switched to but not yet confirmed
    rolled-back.json      the last rollback, until the agent has reported it
    release-check         this file (executable, system python): the unit's ExecStartPre
                          runs ``release-check check``

``install`` (the ``install-release`` command): the release file is a wheel of evse-agent, or
an archive (.tar.gz / .zip) of wheels: the agent's and any dependencies it needs. The file
came from the backend's file server, so it is read with bounds before anything else: at
most ``MAX_MEMBERS`` archive members, only files and directories with relative names that
stay inside the archive, and no more than ``max_unpacked_bytes`` (``--max-unpacked-mb``) in
all of what is unpacked (the archive's members, then the wheels' contents that pip would
write); members are streamed to disk, never read whole into memory. A new
virtual environment ``releases/<version>`` gets the running release's installed packages
(copied, so a release with the same dependencies installs without a network) and then the
new wheel by pip, dependencies only from the archive (``--no-index``; ``--index`` allows the
configured package index). It must import and name its version, or nothing changes. Then
``pending.json`` is written (the previous release, a deadline and a start budget) and
``current`` is switched atomically (a symlink renamed over the old one). The agent restarts
into the new release.

Confirmation: the new release confirms itself once it has connected and its
BootNotification was Accepted (``RunningRelease.confirm``, from the OCPP adapter); then
pending.json goes and releases other than the current and the previous one are deleted.

Rollback: if it is not confirmed by the deadline, or was started more than ``max_starts``
times without it (a release that dies at once: systemd's Restart=always starts it again,
and each start runs ``check`` first), ``current`` is switched back to the previous release,
which then starts and reports the failed installation (``take_rollback``). The deadline is
also watched by the running release itself (``RunningRelease.watch``), for a release that
runs but never connects.

This module uses the standard library only: ``check`` must work when the new release is
broken, so it runs from a copy of this file with the system python, not from the release.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/opt/evse-agent")
DEFAULT_CONFIRM_WITHIN_S = 600.0
DEFAULT_MAX_STARTS = 3
PROJECT = "evse-agent"
PENDING = "pending.json"
ROLLED_BACK = "rolled-back.json"
SCRIPT = "release-check"
PIP_TIMEOUT_S = 1200
DEFAULT_MAX_UNPACKED_MB = 512  # what a release may unpack to, in all (MiB)
MAX_MEMBERS = 1000  # members of a release archive, entries of one wheel: 10 x this
MAX_METADATA_BYTES = 1 << 20  # a wheel's METADATA / WHEEL file
CHUNK = 1 << 20


class ReleaseError(RuntimeError):
    """The release cannot be installed; the message says why (nothing was switched)."""


# ---- the releases root ---------------------------------------------------------------------


class Releases:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.directory = self.root / "releases"

    def current(self) -> str | None:
        """The release ``current`` points at, or None."""
        link = self.root / "current"
        if not link.is_symlink():
            return None
        return Path(os.readlink(link)).name

    def switch(self, release: str) -> None:
        """Point ``current`` at ``release``, atomically."""
        staged = self.root / ".current.new"
        staged.unlink(missing_ok=True)
        os.symlink(Path("releases") / release, staged)
        os.replace(staged, self.root / "current")

    def read(self, name: str) -> dict | None:
        try:
            return json.loads((self.root / name).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("%s: unreadable (%s); ignored", self.root / name, exc)
            return None

    def write(self, name: str, content: dict) -> None:
        staged = self.root / f".{name}.new"
        staged.write_text(json.dumps(content, indent=2) + "\n")
        os.replace(staged, self.root / name)

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def prune(self, keep: set[str]) -> None:
        """Delete releases not in ``keep``."""
        for path in self.directory.iterdir() if self.directory.is_dir() else ():
            if path.is_dir() and path.name not in keep:
                log.info("releases: removing %s", path.name)
                shutil.rmtree(path, ignore_errors=True)


# ---- install ---------------------------------------------------------------------------------


def install(
    file: Path,
    root: Path,
    *,
    confirm_within_s: float = DEFAULT_CONFIRM_WITHIN_S,
    max_starts: int = DEFAULT_MAX_STARTS,
    use_index: bool = False,
    python: str = sys.executable,
    now: float | None = None,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_MB << 20,
) -> str:
    """Install the release in ``file`` under ``root`` and switch to it; its version.
    Raises ReleaseError (and leaves ``current`` as it was)."""
    releases = Releases(root)
    releases.directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evse-release-") as scratch:
        wheel, version = _unpack(Path(file), Path(scratch), _Budget(max_unpacked_bytes))
        current = releases.current()
        if version == current:
            raise ReleaseError(f"release {version} is the one running")
        pending = releases.read(PENDING)
        # The release to fall back to: the last confirmed one.
        previous = pending["previous"] if pending and pending.get("release") == current else current
        target = releases.directory / version
        if target.exists():
            shutil.rmtree(target)
        log.info("releases: installing %s into %s", version, target)
        try:
            _make_environment(target, releases.directory / current if current else None, python)
            _pip_install(target, wheel, use_index, python)
            _check_release(target, version)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    releases.write(
        PENDING,
        {
            "release": version,
            "previous": previous,
            "deadline": (time.time() if now is None else now) + confirm_within_s,
            "max_starts": max_starts,
            "starts": 0,
        },
    )
    releases.switch(version)
    releases.remove(ROLLED_BACK)
    install_check_script(root)  # from the release that did the installing: a known good one
    log.info("releases: %s installed and current; it has %.0f s to connect", version, confirm_within_s)
    return version


def install_check_script(root: Path) -> Path:
    """``root/release-check``: this file, for the unit's ExecStartPre."""
    script = Path(root) / SCRIPT
    staged = script.with_name(f".{SCRIPT}.new")
    shutil.copyfile(Path(__file__), staged)
    staged.chmod(0o755)
    os.replace(staged, script)
    return script


class _Budget:
    """What unpacking a release may still write, in bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = self.left = limit

    def take(self, size: int, what: str) -> None:
        if size > self.left:
            raise ReleaseError(f"{what}: unpacking it would pass the limit of {self.limit >> 20} MiB (--max-unpacked-mb)")
        self.left -= size


def _unpack(file: Path, scratch: Path, budget: _Budget) -> tuple[Path, str]:
    """The evse-agent wheel in ``file`` (copied under its proper name into ``scratch``, with
    the archive's other wheels beside it) and its version."""
    if zipfile.is_zipfile(file) and _wheel_metadata(file) is not None:
        wheels = [file]
    elif zipfile.is_zipfile(file):
        with zipfile.ZipFile(file) as archive:
            wheels = _extract_zip_wheels(archive, file.name, scratch, budget)
    elif tarfile.is_tarfile(file):
        with tarfile.open(file) as archive:
            wheels = _extract_tar_wheels(archive, file.name, scratch, budget)
    else:
        raise ReleaseError(f"{file.name}: neither a wheel nor an archive (.tar.gz, .zip) of wheels")
    for wheel in wheels:
        _check_wheel_contents(wheel, budget)
    for wheel in wheels:
        metadata = _wheel_metadata(wheel)
        if metadata is not None and _normalise(metadata["Name"]) == _normalise(PROJECT):
            version = metadata["Version"]
            if not re.fullmatch(r"[A-Za-z0-9.+!_-]+", version):
                raise ReleaseError(f"{file.name}: unusable version {version!r}")
            named = scratch / f"{_normalise(PROJECT).replace('-', '_')}-{version}-{metadata['Tag']}.whl"
            if wheel != named:
                shutil.copyfile(wheel, named)
            return named, version
    raise ReleaseError(f"{file.name}: holds no wheel of {PROJECT}")


def _extract_zip_wheels(archive: zipfile.ZipFile, what: str, scratch: Path, budget: _Budget) -> list[Path]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ReleaseError(f"{what}: more than {MAX_MEMBERS} members")
    wheels = []
    for member in members:
        _check_member_name(member.filename, what)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise ReleaseError(f"{what}: {member.filename} is a link; a release holds files only")
        budget.take(member.file_size, what)
        if not member.is_dir() and _is_wheel(member.filename):
            with archive.open(member) as source:
                wheels.append(_copy_bounded(source, member.filename, member.file_size, scratch, what))
    return wheels


def _extract_tar_wheels(archive: tarfile.TarFile, what: str, scratch: Path, budget: _Budget) -> list[Path]:
    wheels, count = [], 0
    for member in archive:  # one header at a time: a member past a bound stops the reading
        count += 1
        if count > MAX_MEMBERS:
            raise ReleaseError(f"{what}: more than {MAX_MEMBERS} members")
        _check_member_name(member.name, what)
        if not (member.isfile() or member.isdir()):
            raise ReleaseError(f"{what}: {member.name} is a link or a device; a release holds files only")
        budget.take(member.size, what)
        if member.isfile() and _is_wheel(member.name):
            with archive.extractfile(member) as source:
                wheels.append(_copy_bounded(source, member.name, member.size, scratch, what))
    return wheels


def _check_member_name(name: str, what: str) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise ReleaseError(f"{what}: member name {name!r} points outside the archive")


def _is_wheel(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.endswith(".whl") and not base.startswith(".")


def _copy_bounded(source, name: str, size: int, scratch: Path, what: str) -> Path:
    """Stream a member of ``size`` bytes (as its header says) into ``scratch``, never more."""
    dest = scratch / PurePosixPath(name).name
    if dest.exists():
        raise ReleaseError(f"{what}: two wheels named {dest.name}")
    written = 0
    with open(dest, "wb") as out:
        while chunk := source.read(min(CHUNK, size - written + 1)):
            written += len(chunk)
            if written > size:
                raise ReleaseError(f"{what}: {name} is longer than its header says")
            out.write(chunk)
    return dest


def _check_wheel_contents(wheel: Path, budget: _Budget) -> None:
    """What pip would unpack from ``wheel`` (its entries' sizes, as the zip says; zipfile
    never inflates an entry past them) fits what is left of the budget."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReleaseError(f"{wheel.name}: not a wheel ({exc})") from None
    if len(entries) > 10 * MAX_MEMBERS:
        raise ReleaseError(f"{wheel.name}: more than {10 * MAX_MEMBERS} entries")
    budget.take(sum(entry.file_size for entry in entries), wheel.name)


def _wheel_metadata(path: Path) -> dict[str, str] | None:
    """Name, Version and the first Tag of a wheel (its dist-info METADATA and WHEEL), or None."""
    try:
        with zipfile.ZipFile(path) as wheel:
            names = wheel.namelist()
            metadata = next((n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), None)
            tags = next((n for n in names if re.fullmatch(r"[^/]+\.dist-info/WHEEL", n)), None)
            if metadata is None or tags is None:
                return None
            if max(wheel.getinfo(metadata).file_size, wheel.getinfo(tags).file_size) > MAX_METADATA_BYTES:
                return None
            fields = _headers(wheel.read(metadata).decode("utf-8", "replace"))
            tag = _headers(wheel.read(tags).decode("utf-8", "replace")).get("Tag", "py3-none-any")
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    if "Name" not in fields or "Version" not in fields:
        return None
    return {"Name": fields["Name"], "Version": fields["Version"], "Tag": tag}


def _headers(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the description follows the headers
        key, sep, value = line.partition(":")
        if sep and key not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _bare(version: str) -> str:
    """A version without separators, so "9.0.0-rc1" (the source) and "9.0.0rc1" (PEP 440) compare equal."""
    return re.sub(r"[-_.+!]", "", version.lower())


def _site_packages(environment: Path) -> Path:
    return environment / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _make_environment(target: Path, previous: Path | None, python: str) -> None:
    """A virtual environment at ``target`` with the packages of the ``previous`` release."""
    _run([python, "-m", "venv", "--without-pip", str(target)], "creating the virtual environment")
    source = _site_packages(previous) if previous is not None else None
    if source is not None and source.is_dir() and _site_packages(target).is_dir():
        shutil.copytree(source, _site_packages(target), symlinks=True, dirs_exist_ok=True)
    elif previous is not None:
        log.warning("releases: %s has no packages for this python; dependencies come from the release file", previous.name)


def _pip_install(target: Path, wheel: Path, use_index: bool, python: str) -> None:
    command = [
        python, "-m", "pip", "--python", str(target / "bin" / "python"), "install",
        "--disable-pip-version-check", "--no-input", "--quiet", "--find-links", str(wheel.parent),
    ]
    if not use_index:
        command.append("--no-index")
    _run([*command, str(wheel)], f"pip install {wheel.name}")


def _check_release(target: Path, version: str) -> None:
    """The new release imports (with its dependencies) and is the version it says."""
    probe = "import agent, agent.app.composition, agent.app.cli; print(agent.__version__)"
    output = _run([str(target / "bin" / "python"), "-I", "-c", probe], "checking the new release")
    found = output.strip().splitlines()[-1] if output.strip() else ""
    if _bare(found) != _bare(version):
        raise ReleaseError(f"the installed release says it is {found!r}, not {version}")


def _run(command: list[str], what: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReleaseError(f"{what}: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-1500:]
        raise ReleaseError(f"{what} failed (exit {result.returncode}): {detail}")
    return result.stdout


# ---- at each start: confirm or roll back ------------------------------------------------------


def check(root: Path, now: float | None = None) -> str | None:
    """The unit's ExecStartPre: count a start of an unconfirmed release and roll it back when
    it is past its deadline or its start budget. What was done, or None."""
    releases = Releases(root)
    pending = releases.read(PENDING)
    if pending is None:
        return None
    current = releases.current()
    if current != pending.get("release"):
        releases.remove(PENDING)  # switched by hand, or cut off before switching
        return f"pending release {pending.get('release')} is not current ({current}); forgotten"
    pending["starts"] = int(pending.get("starts", 0)) + 1
    releases.write(PENDING, pending)
    if pending["starts"] > int(pending.get("max_starts", DEFAULT_MAX_STARTS)):
        return rollback(root, f"release {current} started {pending['starts'] - 1} times without connecting")
    if (time.time() if now is None else now) > float(pending.get("deadline", 0)):
        return rollback(root, f"release {current} did not connect before its deadline")
    return f"release {current} not confirmed yet (start {pending['starts']} of {pending.get('max_starts')})"


def rollback(root: Path, reason: str) -> str:
    """Switch ``current`` back to the release before the pending one."""
    releases = Releases(root)
    pending = releases.read(PENDING) or {}
    previous = pending.get("previous")
    if not previous or not (releases.directory / previous).is_dir():
        releases.remove(PENDING)
        message = f"{reason}; no previous release to roll back to: keeping it"
        log.error("releases: %s", message)
        return message
    releases.write(ROLLED_BACK, {"release": pending.get("release"), "previous": previous, "reason": reason, "at": time.time()})
    releases.switch(previous)
    releases.remove(PENDING)
    message = f"{reason}: rolled back to {previous}"
    log.error("releases: %s", message)
    return message


@dataclass(frozen=True)
class RunningRelease:
    """The release this process runs from (``releases/<name>`` under ``root``)."""

    root: Path
    name: str

    @property
    def releases(self) -> Releases:
        return Releases(self.root)

    def pending(self) -> dict | None:
        pending = self.releases.read(PENDING)
        return pending if pending is not None and pending.get("release") == self.name else None

    def confirm(self) -> None:
        """Connected and accepted by the backend: this release stays."""
        pending = self.pending()
        if pending is None or self.releases.current() != self.name:
            return
        try:
            self.releases.remove(PENDING)
        except OSError as exc:  # then it is rolled back at the deadline: said loudly
            log.error("releases: cannot confirm %s: %s", self.name, exc)
            return
        log.info("releases: %s confirmed (connected and accepted)", self.name)
        self.releases.prune({self.name, pending.get("previous") or self.name})

    def take_rollback(self) -> str | None:
        """Why the release installed before the last restart was rolled back to this one
        (once: the record is removed), or None."""
        record = self.releases.read(ROLLED_BACK)
        if record is None or record.get("previous") != self.name:
            return None
        self.releases.remove(ROLLED_BACK)
        return str(record.get("reason") or f"release {record.get('release')} was rolled back")

    async def watch(self, restart) -> None:
        """Roll back when this release is not confirmed by its deadline (``restart(reason)``)."""
        pending = self.pending()
        if pending is None:
            return
        await asyncio.sleep(max(0.0, float(pending.get("deadline", 0)) - time.time()))
        if self.pending() is not None and self.releases.current() == self.name:
            restart(rollback(self.root, f"release {self.name} did not connect before its deadline"))


def running_release() -> RunningRelease | None:
    """The release this process runs from, when it runs from a releases root."""
    environment = Path(sys.prefix).resolve()
    if environment.parent.name != "releases" or not (environment.parent.parent / "current").is_symlink():
        return None
    return RunningRelease(environment.parent.parent, environment.name)


def restart_command(argv: list[str]) -> list[str] | None:
    """The command line that starts the current release again (it may be a new one), or None
    when this process does not run from a releases root."""
    release = running_release()
    if release is None:
        return None
    executable = release.root / "current" / "bin" / PROJECT
    return [str(executable), *argv] if executable.exists() else None


# ---- commands ---------------------------------------------------------------------------------


def add_install_arguments(parser: argparse.ArgumentParser) -> None:
    running = running_release()
    parser.add_argument("file", type=Path, help="a wheel of evse-agent, or a .tar.gz / .zip of wheels")
    parser.add_argument("--root", type=Path, default=running.root if running else DEFAULT_ROOT,
                        help="the releases root (default: the one this runs from, else /opt/evse-agent)")
    parser.add_argument("--confirm-within", type=float, default=DEFAULT_CONFIRM_WITHIN_S, metavar="SECONDS",
                        help="roll back unless the new release connects within this time (default 600)")
    parser.add_argument("--max-starts", type=int, default=DEFAULT_MAX_STARTS,
                        help="roll back after this many starts without connecting (default 3)")
    parser.add_argument("--index", action="store_true", help="let pip fetch missing dependencies from its package index")
    parser.add_argument("--max-unpacked-mb", type=int, default=DEFAULT_MAX_UNPACKED_MB, metavar="MIB",
                        help=f"refuse a release that unpacks to more than this, in all (default {DEFAULT_MAX_UNPACKED_MB})")


def install_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        version = install(args.file, args.root, confirm_within_s=args.confirm_within, max_starts=args.max_starts,
                          use_index=args.index, max_unpacked_bytes=args.max_unpacked_mb << 20)
    except (ReleaseError, OSError) as exc:
        print(f"evse-agent install-release: {exc}", file=sys.stderr)
        return 1
    print(f"evse-agent {version} installed in {args.root / 'releases' / version}; current -> releases/{version}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``release-check check --root DIR`` (the unit's ExecStartPre)."""
    parser = argparse.ArgumentParser(prog=SCRIPT, description="evse-agent release rollback check")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="count this start; roll back an unconfirmed release past its budget")
    check_parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    outcome = check(args.root)
    if outcome:
        print(f"evse-agent release check: {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
