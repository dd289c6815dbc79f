"""Releases of the agent itself (agent/maintenance/self_update.py): the start check that rolls an unconfirmed
release back, confirmation, the rollback record, and installs refused before anything is
switched, among them archives that would unpack past their bounds (`evse-agent install-release`
run as a process, its memory measured). Releases are plain directories here, except where a
real install runs (a wheel of this project, tests/release_wheel.py, into a real virtual
environment)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from agent.maintenance.self_update import MAX_MEMBERS, ReleaseError, Releases, RunningRelease, check, install, restart_command
from tests.release_wheel import build_wheel, first_release


def releases_root(tmp_path: Path, *names: str, current: str = "1.1.0", pending: dict | None = None) -> Path:
    root = tmp_path / "opt"
    for name in names:
        (root / "releases" / name / "bin").mkdir(parents=True)
    os.symlink(Path("releases") / current, root / "current")
    if pending is not None:
        (root / "pending.json").write_text(json.dumps(pending))
    return root


def pending(release="1.1.0", previous="1.0.0", deadline_in=600.0, max_starts=2, starts=0) -> dict:
    return {"release": release, "previous": previous, "deadline": time.time() + deadline_in, "max_starts": max_starts, "starts": starts}


def current(root: Path) -> str:
    return os.readlink(root / "current")


# ---- the start check (the unit's ExecStartPre) ---------------------------------------------


def test_nothing_pending_nothing_done(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0")
    assert check(root) is None
    assert current(root) == "releases/1.1.0"


def test_a_release_started_too_often_is_rolled_back(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0", pending=pending(max_starts=2))
    assert "start 1 of 2" in check(root)
    assert "start 2 of 2" in check(root)
    assert current(root) == "releases/1.1.0"
    assert check(root) == "release 1.1.0 started 2 times without connecting: rolled back to 1.0.0"
    assert current(root) == "releases/1.0.0"
    assert not (root / "pending.json").exists()
    record = json.loads((root / "rolled-back.json").read_text())
    assert (record["release"], record["previous"]) == ("1.1.0", "1.0.0")
    assert check(root) is None  # the previous release starts as usual


def test_a_release_past_its_deadline_is_rolled_back(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0", pending=pending(deadline_in=-1))
    assert check(root) == "release 1.1.0 did not connect before its deadline: rolled back to 1.0.0"
    assert current(root) == "releases/1.0.0"


def test_without_a_previous_release_the_new_one_is_kept(tmp_path):
    root = releases_root(tmp_path, "1.1.0", pending=pending(deadline_in=-1))
    assert "no previous release to roll back to" in check(root)
    assert current(root) == "releases/1.1.0"
    assert not (root / "pending.json").exists()


def test_a_pending_release_that_is_not_current_is_forgotten(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0", current="1.0.0", pending=pending())
    assert "not current" in check(root)
    assert not (root / "pending.json").exists() and current(root) == "releases/1.0.0"


# ---- in the running release ------------------------------------------------------------------


def test_confirm_keeps_the_release_and_the_one_before_only(tmp_path):
    root = releases_root(tmp_path, "0.9.0", "1.0.0", "1.1.0", pending=pending())
    RunningRelease(root, "1.0.0").confirm()  # not the pending release: nothing happens
    assert (root / "pending.json").exists()
    RunningRelease(root, "1.1.0").confirm()
    assert not (root / "pending.json").exists()
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["1.0.0", "1.1.0"]
    assert check(root) is None


def test_the_rollback_is_told_once_to_the_release_rolled_back_to(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0", pending=pending(deadline_in=-1))
    check(root)
    assert RunningRelease(root, "1.1.0").take_rollback() is None
    assert RunningRelease(root, "1.0.0").take_rollback() == "release 1.1.0 did not connect before its deadline"
    assert RunningRelease(root, "1.0.0").take_rollback() is None


async def test_a_running_release_not_confirmed_by_its_deadline_rolls_itself_back(tmp_path):
    root = releases_root(tmp_path, "1.0.0", "1.1.0", pending=pending(deadline_in=0.05))
    reasons: list[str] = []
    await asyncio.wait_for(RunningRelease(root, "1.1.0").watch(reasons.append), 5)
    assert reasons == ["release 1.1.0 did not connect before its deadline: rolled back to 1.0.0"]
    assert current(root) == "releases/1.0.0"
    # A confirmed release has nothing to watch.
    await asyncio.wait_for(RunningRelease(root, "1.0.0").watch(reasons.append), 5)
    assert len(reasons) == 1


def test_outside_a_releases_root_the_agent_restarts_as_before():
    assert restart_command(["run", "--config", "x.toml"]) is None  # this test runs from a plain venv


# ---- installs ----------------------------------------------------------------------------------


def test_files_that_are_not_a_release_are_refused(tmp_path):
    root = releases_root(tmp_path, "1.1.0")
    not_a_release = tmp_path / "firmware.bin"
    not_a_release.write_bytes(b"\x7fELF" * 100)
    with pytest.raises(ReleaseError, match="neither a wheel nor an archive"):
        install(not_a_release, root)
    other_project = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(other_project, "w") as wheel:
        wheel.writestr("other-1.0.dist-info/METADATA", "Name: other\nVersion: 1.0\n")
        wheel.writestr("other-1.0.dist-info/WHEEL", "Tag: py3-none-any\n")
    with pytest.raises(ReleaseError, match="holds no wheel of evse-agent"):
        install(other_project, root)
    with pytest.raises(ReleaseError, match="release 1.1.0 is the one running"):
        install(build_wheel(tmp_path / "wheels", "1.1.0"), root)
    assert current(root) == "releases/1.1.0" and not (root / "pending.json").exists()


def test_an_archive_installs_and_a_release_that_does_not_import_is_refused(tmp_path):
    root = tmp_path / "opt"
    first_release(root, build_wheel(tmp_path / "wheels", "1.0.0"), "1.0.0")
    archive = tmp_path / "release-1.1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(build_wheel(tmp_path / "wheels", "1.1.0"), arcname="wheels/evse_agent-1.1.0-py3-none-any.whl")
    python = str(root / "current" / "bin" / "python")  # as the installing agent runs it
    assert install(archive, root, confirm_within_s=30, max_starts=2, python=python) == "1.1.0"
    assert current(root) == "releases/1.1.0"
    record = Releases(root).read("pending.json")
    assert (record["release"], record["previous"], record["max_starts"]) == ("1.1.0", "1.0.0", 2)
    assert os.access(root / "release-check", os.X_OK)

    # A release whose code does not even import: nothing switched, nothing left behind.
    wheel = build_wheel(tmp_path / "wheels", "1.2.0")
    unimportable = tmp_path / "evse_agent-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(unimportable, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, b"this is not python\n" if item.filename == "agent/app/composition.py" else data)
    with pytest.raises(ReleaseError, match="checking the new release failed"):
        install(unimportable, root, python=python)
    assert current(root) == "releases/1.1.0"
    assert not (root / "releases" / "1.2.0").exists()
    assert Releases(root).read("pending.json")["release"] == "1.1.0"


# ---- archives past their bounds ------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
BOMB_MEMBER = 1600 << 20  # issue 17: a 1.5 MB tar.gz that took install-release to 1.6 GB


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A tar.gz of one "wheel" of 1.6 GB of zeros: about 1.6 MB on the wire."""
    path = tmp_path_factory.mktemp("bomb") / "release-6.6.6.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        member = tarfile.TarInfo("wheels/evse_agent-6.6.6-py3-none-any.whl")
        member.size = BOMB_MEMBER
        tar.addfile(member, io.BufferedReader(_Zeros(BOMB_MEMBER), 1 << 20))
    return path


MEASURED = """
import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(run.returncode)
sys.stderr.write(run.stderr)
"""


def test_an_archive_bomb_is_refused_without_reading_it_into_memory(tmp_path, bomb):
    root = releases_root(tmp_path, "1.1.0")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "agent.app.cli", "install-release", str(bomb), "--root", str(root)]
    run = subprocess.run([sys.executable, "-c", MEASURED, *command], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "TMPDIR": str(scratch)}, timeout=120)
    peak_kib, status = map(int, run.stdout.split())
    print(f"install-release of a {bomb.stat().st_size} byte tar.gz ({BOMB_MEMBER >> 20} MiB unpacked): "
          f"peak RSS {peak_kib / 1024:.1f} MiB, exit {status}: {run.stderr.strip()}")
    assert status == 1
    assert "would pass the limit of 512 MiB (--max-unpacked-mb)" in run.stderr
    assert peak_kib < 200 * 1024  # the member is never read whole; python and the agent's imports are ~40 MiB
    assert list(scratch.iterdir()) == []  # nothing unpacked left behind
    assert current(root) == "releases/1.1.0" and not (root / "pending.json").exists()


def _archive(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def test_archives_that_break_a_bound_are_refused_before_anything_is_installed(tmp_path):
    root = releases_root(tmp_path, "1.1.0")
    wheel = build_wheel(tmp_path / "wheels", "1.2.0").read_bytes()
    name = "evse_agent-1.2.0-py3-none-any.whl"
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(MAX_MEMBERS + 1):
            archive.writestr(f"f{i}", b"")
    cases = [
        ("'../../evse_agent.* points outside the archive", _archive(tmp_path / "a.tar.gz", {f"../../{name}": wheel})),
        ("'/opt/evse_agent.* points outside the archive", _archive(tmp_path / "b.tar.gz", {f"/opt/{name}": wheel})),
        ("is a link or a device", _archive(tmp_path / "c.tar.gz", {}, links={name: "/etc/shadow"})),
        (f"more than {MAX_MEMBERS} members", _archive(tmp_path / "d.tar.gz", {f"f{i}": b"" for i in range(MAX_MEMBERS + 1)})),
        (f"more than {MAX_MEMBERS} members", many),
        ("two wheels named", _archive(tmp_path / "e.tar.gz", {f"a/{name}": wheel, f"b/{name}": wheel})),
    ]
    for expected, path in cases:
        with pytest.raises(ReleaseError, match=expected):
            install(path, root)
    # What pip would unpack from the wheel counts too.
    with pytest.raises(ReleaseError, match="would pass the limit of 1 MiB"):
        install(_archive(tmp_path / "g.tar.gz", {name: wheel}), root, max_unpacked_bytes=1 << 20)
    assert current(root) == "releases/1.1.0" and not (root / "releases" / "1.2.0").exists()
