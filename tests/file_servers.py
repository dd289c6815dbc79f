"""Real file servers on loopback for firmware downloads and diagnostics uploads.

- ``ftp_server``: pyftpdlib, user ``evse`` / password ``pa:ss`` (a colon, so URLs must
  quote it), home directory ``root`` (files to download go there; uploads land there);
- ``http_server``: aiohttp; GET ``/files/<name>`` serves ``files[name]`` (404 otherwise),
  GET ``/streams/<name>`` sends ``streams[name]`` (a ``Stream``: chunked, no Content-Length,
  as big and as slow as asked, endless if so), POST ``/upload`` takes a multipart ``file``
  field; every request is counted.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

FTP_USER = "evse"
FTP_PASSWORD = "pa:ss"
FTP_PASSWORD_QUOTED = "pa%3Ass"


class FtpServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        authorizer = DummyAuthorizer()
        authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm="elradfmwMT")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
        self._server = FTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.address[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ftp-server", daemon=True)

    def url(self, path: str = "/") -> str:
        return f"ftp://{FTP_USER}:{FTP_PASSWORD_QUOTED}@127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self._server.close_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


@dataclass
class Stream:
    """A body sent in ``chunk``-byte pieces, ``pause_s`` apart, ``size`` bytes in all (None: endless)."""

    size: int | None
    chunk: int = 1 << 16
    pause_s: float = 0.0


class HttpServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.streams: dict[str, Stream] = {}
        self.sent: Counter[str] = Counter()  # bytes of each stream handed to the connection
        self.requests: Counter[str] = Counter()
        self.uploads: dict[str, bytes] = {}
        self.upload_fields: list[str] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _get(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests[name] += 1
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests[name] += 1
        if name not in self.streams:
            raise web.HTTPNotFound()
        stream = self.streams[name]
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        left = stream.size
        piece = bytes(stream.chunk)
        try:
            while left is None or left > 0:
                data = piece if left is None else piece[:left]
                await response.write(data)
                self.sent[name] += len(data)
                if left is not None:
                    left -= len(data)
                if stream.pause_s:
                    await asyncio.sleep(stream.pause_s)
            await response.write_eof()
        except ConnectionError:
            pass  # the client hung up: what a refused download does
        return response

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self.requests["upload"] += 1
        reader = await request.multipart()
        async for part in reader:
            self.upload_fields.append(part.name)
            self.uploads[part.filename] = await part.read()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_get("/files/{name}", self._get)
        app.router.add_get("/streams/{name}", self._stream)
        app.router.add_post("/upload", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ftp_server(tmp_path):
    root = tmp_path / "ftp"
    root.mkdir()
    server = FtpServer(root)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http_server():
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()
