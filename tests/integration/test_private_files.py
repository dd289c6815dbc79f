"""Outside systemd (a shell's umask 022) the agent's files are its own all the same: data directory,
database, logs, security log, diagnostics (issue 17, item 10)."""

from __future__ import annotations

import os
import stat

from tests.file_servers import http_server  # noqa: F401 (fixture)
from tests.integration.test_hostile_backend import call_of, logging_agent  # noqa: F401 (fixture)


async def test_everything_the_agent_writes_is_private_whatever_the_umask(raw_csms, logging_agent, http_server, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # left open by an earlier start under umask 022
    data.chmod(0o755)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "agent.log").write_text("")  # a log file others may read
    (tmp_path / "logs" / "agent.log").chmod(0o644)
    old = os.umask(0o022)
    try:
        await logging_agent(raw_csms.port)
    finally:
        os.umask(old)
    await raw_csms.connected()
    uid = await raw_csms.call("GetDiagnostics", {"location": http_server.url("/upload")})
    await raw_csms.response_to(uid)
    await raw_csms.wait_for(call_of("DiagnosticsStatusNotification", status="Uploaded"), timeout=20)

    written = [data, *data.rglob("*"), *(tmp_path / "logs").rglob("*")]
    names = {p.name for p in written}
    assert {"evse-agent.db", "security.log", "agent.log", "diagnostics"} <= names  # the archive is gone once uploaded
    exposed = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in written
               if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert exposed == {}
