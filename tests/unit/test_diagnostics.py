"""Diagnostics archives (agent/maintenance/diagnostics.py) and their upload to real FTP / HTTP servers on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import tarfile

from agent.app.config import AgentConfig, OcppSection
from agent.maintenance.diagnostics import log_file_handler, log_lines_between, redact, write_archive
from agent.maintenance.transfer import upload, with_retries
from tests.file_servers import closed_port, ftp_server, http_server  # noqa: F401 (fixtures)

UTC = dt.timezone.utc


def test_secrets_are_removed_from_the_config():
    config = AgentConfig(
        ocpp=OcppSection(
            csms_url="wss://cp1:hunter2@csms.example.com/ocpp",
            keys={"AuthorizationKey": "0011223344556677", "HeartbeatInterval": 60},
        )
    )
    clean = redact(dataclasses.asdict(config))
    text = json.dumps(clean)
    assert "hunter2" not in text and "0011223344556677" not in text
    assert clean["ocpp"]["keys"] == {"AuthorizationKey": "***", "HeartbeatInterval": 60}
    assert clean["ocpp"]["csms_url"] == "wss://cp1:***@csms.example.com/ocpp"
    assert clean["charge_point"]["id"] == config.charge_point.id
    assert redact({"upstream": {"password": "x", "token": "", "list": ["ftp://u:p@h/"]}}) == {
        "upstream": {"password": "***", "token": "", "list": ["ftp://u:***@h/"]}
    }


def test_log_lines_between_start_and_stop_keep_their_tracebacks():
    lines = [
        "2026-03-01T10:00:00Z INFO a: before\n",
        "2026-03-01T11:00:00Z ERROR a: inside\n",
        "Traceback (most recent call last):\n",
        "  ValueError: boom\n",
        "2026-03-01T11:30:00Z INFO a: inside too\n",
        "2026-03-01T12:00:01Z INFO a: after\n",
        "  continuation of after\n",
    ]
    start = dt.datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    stop = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert list(log_lines_between(lines, start, stop)) == lines[1:5]
    assert list(log_lines_between(lines, None, None)) == lines
    assert list(log_lines_between(lines, stop, None)) == lines[5:]


def test_the_log_file_handler_writes_times_the_filter_reads(tmp_path):
    handler = log_file_handler(tmp_path / "logs" / "agent.log")
    logger = logging.getLogger("test-diagnostics-file")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("written now")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = (tmp_path / "logs" / "agent.log").read_text().splitlines(True)
    now = dt.datetime.now(UTC)
    assert len(list(log_lines_between(lines, now - dt.timedelta(minutes=1), now + dt.timedelta(minutes=1)))) == 1
    assert list(log_lines_between(lines, now + dt.timedelta(minutes=1), None)) == []


def test_archive_holds_the_state_and_the_selected_log_lines(tmp_path):
    old, new = tmp_path / "agent.log.1", tmp_path / "agent.log"
    old.write_text("2026-03-01T09:00:00Z INFO old: too early\n2026-03-01T10:10:00Z INFO old: rotated\n")
    new.write_text("2026-03-01T10:20:00Z INFO new: current\n")
    state = {"connectors": [{"id": 1, "status": "Available"}], "outbox_length": 0}
    archive = tmp_path / "diag.tar.gz"
    write_archive(archive, state, [tmp_path / "agent.log.2", old, new], dt.datetime(2026, 3, 1, 10, tzinfo=UTC), None)
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["agent.log", "state.json"]
        assert json.load(tar.extractfile("state.json")) == state
        log = tar.extractfile("agent.log").read().decode()
    assert log == "2026-03-01T10:10:00Z INFO old: rotated\n2026-03-01T10:20:00Z INFO new: current\n"


def test_archive_without_a_log_file_has_the_state_only(tmp_path):
    write_archive(tmp_path / "d.tar.gz", {"a": 1}, [], None, None)
    with tarfile.open(tmp_path / "d.tar.gz") as tar:
        assert tar.getnames() == ["state.json"]


async def test_upload_to_ftp_stores_the_file_in_the_location_directory(tmp_path, ftp_server):
    (ftp_server.root / "in").mkdir()
    archive = tmp_path / "diagnostics-CP-1.tar.gz"
    archive.write_bytes(b"archive bytes")
    await upload(archive, ftp_server.url("/in/"))
    assert (ftp_server.root / "in" / archive.name).read_bytes() == b"archive bytes"


async def test_upload_to_http_posts_multipart(tmp_path, http_server):
    archive = tmp_path / "diagnostics-CP-1.tar.gz"
    archive.write_bytes(b"archive bytes")
    await upload(archive, http_server.url("/upload"))
    assert http_server.uploads == {archive.name: b"archive bytes"}
    assert http_server.upload_fields == ["file"]


async def test_an_unreachable_upload_is_tried_the_number_of_attempts(tmp_path, http_server):
    archive = tmp_path / "d.tar.gz"
    archive.write_bytes(b"x")
    tried: list[int] = []
    ok = await with_retries("up", lambda: upload(archive, f"ftp://127.0.0.1:{closed_port()}/"), 2, 0, before_attempt=tried.append)
    assert not ok and tried == [1, 2]
    # An HTTP error status is a failure too.
    assert not await with_retries("up", lambda: upload(archive, http_server.url("/no-such-endpoint")), 1, 0)
