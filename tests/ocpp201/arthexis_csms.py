"""A real open-source OCPP 2.0.1 backend for the tests: Arthexis (PyPI ``arthexis``, Django +
Channels under daphne), started by the tests themselves.

It lives in its own virtual environment, ``.venv-arthexis`` (``.ci/dev setup`` makes it: its
exact pins, Django 5.2, celery, Twisted, and its top-level ``apps``/``scripts`` packages stay out
of the project's venv), with Debian's ``redis-server`` as its channel layer: Arthexis sends a
request to a station only through a shared channel layer.

    async with ArthexisCsms.running(tmp_path) as csms:
        ... a station connects to csms.url() with HTTP Basic auth: its id and csms.enrollment_token
        result = await csms.request("CP-1", "GetVariables", {...})   # the station's camelCase answer

Arthexis enrolls an unknown station whose HTTP Basic password is the enrollment token and then
knows it by that password; it authorizes any idToken (its "open" policy). Two things differ from
other backends: its route wants a slash after the station id (``/ws/ocpp/<id>/``), which the
station's URL (``<csms url>/<id>``) has not, so daphne serves it through
``tests.ocpp201.arthexis_asgi`` (the path rewrite a reverse proxy in front of it would do); and it
picks the first subprotocol the station offers, not its own preference.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("ARTHEXIS_VENV", ROOT / ".venv-arthexis"))
PYTHON = VENV / "bin" / "python"

_REQUEST = r'''
import asyncio, json, sys, time
from apps.ocpp.models import Charger, ProtocolOperation
from apps.ocpp.protocol.contracts import ProtocolVersion
from apps.ocpp.transport.operations import request_explicit_operation
identity, action, payload, timeout = json.loads(sys.stdin.read())
charger = Charger.objects.get(identity=identity)
operation = asyncio.run(request_explicit_operation(charger=charger, version=ProtocolVersion.OCPP_201,
                                                   action=action, payload=payload, timeout=timeout))
deadline = time.monotonic() + timeout + 5
while True:
    operation.refresh_from_db()
    if operation.status not in ("pending", "delivering") or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print(json.dumps({"status": operation.status, "response": operation.response_payload,
                  "error_code": operation.error_code, "error_description": operation.error_description}))
'''


def unavailable() -> str | None:
    """Why Arthexis cannot run here, or None."""
    if not PYTHON.exists():
        return f"no {VENV} (`.ci/dev setup` installs Arthexis there)"
    if shutil.which("redis-server") is None:
        return "no redis-server (Debian package redis-server)"
    return None


async def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.05)


class ArthexisCsms:
    enrollment_token = "arthexis-enroll-1"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self._procs: list[subprocess.Popen] = []
        self._env: dict[str, str] = {}

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/ocpp"

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, workdir: Path) -> AsyncIterator[ArthexisCsms]:
        csms = cls(workdir)
        try:
            await csms._start()
            yield csms
        finally:
            csms._stop()

    def _manage(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        site = subprocess.run([str(PYTHON), "-c", "import arthexis, os; print(os.path.dirname(os.path.dirname("
                               "arthexis.__file__)))"], capture_output=True, text=True, check=True).stdout.strip()
        done = subprocess.run([str(PYTHON), "-W", "ignore", f"{site}/manage.py", *args], input=stdin, cwd=self.workdir,
                              env=self._env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done.stdout

    async def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        redis_port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._procs.append(redis)
        await _wait_listening(redis_port, redis)
        self._env = {
            **os.environ,
            "ARTHEXIS_DATA_DIR": str(self.workdir),
            "ARTHEXIS_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ARTHEXIS_CHANNEL_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PYTHONPATH": str(ROOT),  # for tests.ocpp201.arthexis_asgi
        }
        hasher = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'arthexis.settings'); "
                  "django.setup(); from django.contrib.auth.hashers import make_password; "
                  f"print(make_password({self.enrollment_token!r}))")
        token_hash = await asyncio.to_thread(lambda: subprocess.run(
            [str(PYTHON), "-c", hasher], env=self._env, capture_output=True, text=True, check=True).stdout.strip())
        self._env["ARTHEXIS_OCPP_ENROLLMENT_TOKEN_HASH"] = token_hash
        await asyncio.to_thread(self._manage, "migrate", "--noinput")
        self.port = free_port()
        log = (self.workdir / "daphne.log").open("w")
        daphne = subprocess.Popen([str(VENV / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                                   "tests.ocpp201.arthexis_asgi:application"],
                                  cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        self._procs.append(daphne)
        await _wait_listening(self.port, daphne)

    def _stop(self) -> None:
        for proc in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def log(self) -> str:
        path = self.workdir / "daphne.log"
        return path.read_text() if path.exists() else ""

    async def request(self, identity: str, action: str, payload: dict, *, timeout: float = 15.0) -> dict:
        """Have Arthexis send ``action`` to the connected station ``identity`` (as its operators do,
        an explicit operation through Redis); the station's camelCase answer. An error, a timeout or
        a lost connection raises RuntimeError with Arthexis's account of it."""
        text = await asyncio.to_thread(self._manage, "shell", "-c", _REQUEST,
                                       stdin=json.dumps([identity, action, payload, timeout]), timeout=timeout + 30)
        outcome = json.loads(text.strip().splitlines()[-1])
        if outcome["status"] != "completed":
            raise RuntimeError(f"Arthexis: {action} {outcome['status']}: {outcome['error_code']} "
                               f"{outcome['error_description']}")
        return outcome["response"]


if __name__ == "__main__":  # python -m tests.ocpp201.arthexis_csms: is it usable here?
    print(unavailable() or f"Arthexis is usable from {VENV}")
    sys.exit(1 if unavailable() else 0)
