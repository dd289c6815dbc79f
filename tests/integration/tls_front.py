"""A TLS server in front of a plain backend, as a deployment puts one (nginx, a load balancer).

Blocking OpenSSL on threads: a refused handshake ends with its TLS alert, as from any real TLS
server (asyncio's TLS server resets the connection instead, so the client never learns why).
``context`` may be replaced between connections; ``handshakes`` records each one's outcome.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading


class TlsFront:
    def __init__(self, context: ssl.SSLContext, target_port: int) -> None:
        self.context = context
        self.target_port = target_port
        self.handshakes: list[tuple[str, str]] = []  # ("accepted", cipher) or ("refused", reason)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._accept, name="tls-front", daemon=True).start()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.handshakes.append(("refused", getattr(exc, "reason", None) or type(exc).__name__))
            conn.close()
            return
        self.handshakes.append(("accepted", tls.cipher()[0]))
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        with self._lock:
            self._sockets += [tls, upstream]
        _pump(tls, upstream)


def _pump(tls: ssl.SSLSocket, plain: socket.socket) -> None:
    """Bytes both ways on one thread (an SSL object must not be read and written at once)."""
    try:
        while True:
            ready, _, _ = select.select([tls, plain], [], [])
            if tls in ready:
                data = tls.recv(65536)
                if not data:
                    return
                plain.sendall(data)
                while tls.pending():
                    plain.sendall(tls.recv(tls.pending()))
            if plain in ready:
                data = plain.recv(65536)
                if not data:
                    return
                tls.sendall(data)
    except (OSError, ValueError):
        return
    finally:
        for sock in (tls, plain):
            with contextlib.suppress(OSError):
                sock.close()
