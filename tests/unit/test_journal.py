"""Journal entries carry the charge point and connector as fields (a datagram socket of our own
stands in for journald's, speaking its native protocol)."""

import logging
import socket
import struct

from agent.app.journal import JournalHandler, encode


def parse(datagram: bytes) -> dict[str, str]:
    fields, rest = {}, datagram
    while rest:
        line, sep, tail = rest.partition(b"\n")
        if b"=" in line:
            name, _, value = line.partition(b"=")
            fields[name.decode()] = value.decode()
            rest = tail
        else:  # NAME\n<u64 length><data>\n
            (length,) = struct.unpack("<Q", tail[:8])
            fields[line.decode()] = tail[8 : 8 + length].decode()
            rest = tail[8 + length + 1 :]
    return fields


def test_entries_have_charge_point_and_connector_fields(tmp_path):
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    handler = JournalHandler("CP-7", path=path)
    logger = logging.getLogger("test.journal")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.warning("connector %d: board reports %s", 2, "rcd")
        first = parse(server.recv(65536))
        logger.info("line one\nline two")
        second = parse(server.recv(65536))
    finally:
        logger.removeHandler(handler)
        handler.close()
        server.close()
    assert first["CHARGE_POINT_ID"] == "CP-7" and first["CONNECTOR_ID"] == "2"
    assert first["PRIORITY"] == "4" and first["MESSAGE"].endswith("connector 2: board reports rcd")
    assert "CONNECTOR_ID" not in second and second["MESSAGE"] == "line one\nline two"


def test_encode_plain_and_binary_safe():
    assert encode({"A": "b"}) == b"A=b\n"
    assert encode({"A": "x\ny"}) == b"A\n" + struct.pack("<Q", 3) + b"x\ny\n"
