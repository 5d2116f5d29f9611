"""The sandbox's HTTP/1.1 server: keep-alive connections, a thread per connection, and
optionally several pre-forked worker processes accepting on one listening socket.

werkzeug's development server answers every request with ``Connection: close`` and then waits
for the client to hang up, so each call paid a TCP handshake, a new thread and that wait. This
server keeps connections open (HTTP/1.1 by default, HTTP/1.0 with ``Connection: keep-alive``),
reads exactly the body that ``Content-Length`` or the chunked encoding announces, and sends each
answer with one ``sendall`` (Nagle off).

Limits: the request line and each header line 64 KiB, 100 headers, a chunked body 16 MiB (413
and close beyond); an idle connection is closed after 60 s. A body the application did not read
(a 413 for a large upload) is read and dropped, up to 16 MiB, so the connection stays usable;
beyond that the connection closes. An application raising ``ConnectionError`` (the sandbox's
lost-response fault) gets its connection closed without an answer. Each answered request is
logged on ``invoicing.sandbox.requests``: method, path and status; never headers (they carry the
key) nor the query string (filters may hold personal data).

With ``workers`` > 1, :func:`serve` forks that many processes in all (the calling one included)
before any thread starts; they share the listening socket and the kernel hands each new
connection to one of them. A worker exits when the first process does (SIGTERM, SIGINT, or it
disappears).
"""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from functools import lru_cache
from time import time
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

logger = logging.getLogger("invoicing.sandbox.requests")

MAX_LINE = 64 * 1024
MAX_HEADERS = 100
MAX_CHUNKED_BODY = 16 * 1024 * 1024
MAX_DRAIN = 16 * 1024 * 1024
IDLE_TIMEOUT = 60.0

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_NO_BODY = frozenset({204, 304})


class _Refused(Exception):
    """A request the server answers itself (with ``status``) before closing the connection."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _Body(io.RawIOBase):
    """A request body: the next ``length`` bytes of the connection."""

    def __init__(self, stream: io.BufferedIOBase, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.remaining <= 0:
            return 0
        with memoryview(buffer) as view:
            count = self._stream.readinto(view[: self.remaining])
        if not count:
            raise ConnectionResetError("the client closed the connection inside a body")
        self.remaining -= count
        return count

    def drain(self) -> bool:
        """Read and drop what the application left unread; False if too much is left."""
        if self.remaining > MAX_DRAIN:
            return False
        while self.remaining:
            self.read(min(self.remaining, 64 * 1024))
        return True


@lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)


def _read_line(stream: io.BufferedIOBase) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise _Refused("431 Request Header Fields Too Large")
    return line


def _read_chunked(stream: io.BufferedIOBase) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _read_line(stream).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _Refused("400 Bad Request")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > MAX_CHUNKED_BODY:
            raise _Refused("413 Content Too Large")
        data = stream.read(size)
        if len(data) < size:
            raise ConnectionResetError("the client closed the connection inside a chunk")
        parts.append(data)
        if _read_line(stream) not in (b"\r\n", b"\n"):
            raise _Refused("400 Bad Request")
    for _ in range(MAX_HEADERS + 1):  # trailers, ignored
        if _read_line(stream) in (b"\r\n", b"\n", b""):
            return b"".join(parts)
    raise _Refused("431 Request Header Fields Too Large")


class _Connection(socketserver.StreamRequestHandler):
    server: SandboxServer
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True

    def handle(self) -> None:
        try:
            while self._serve_one():
                pass
        except (ConnectionError, TimeoutError):
            pass

    def _serve_one(self) -> bool:
        """Answer one request; whether the connection stays open for another."""
        try:
            line = _read_line(self.rfile)
            if line in (b"\r\n", b"\n"):  # a stray empty line between requests
                line = _read_line(self.rfile)
            if not line:
                return False
            environ, body, keep_alive = self._request(line)
            answer = self._call_app(environ)
        except _Refused as refused:
            self.connection.sendall(
                f"HTTP/1.1 {refused.status}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            return False
        if answer is None:
            return False
        status, headers, content = answer
        keep_alive = keep_alive and body.drain()
        code = int(status.split(" ", 1)[0])
        lines = [f"HTTP/1.1 {status}\r\n"]
        has_length = False
        for name, value in headers:
            lines.append(f"{name}: {value}\r\n")
            has_length = has_length or name.lower() == "content-length"
        if not has_length and code not in _NO_BODY and code >= 200:
            lines.append(f"Content-Length: {len(content)}\r\n")
        lines.append(f"Date: {_http_date(int(time()))}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif environ["SERVER_PROTOCOL"] == "HTTP/1.0":
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        send_body = environ["REQUEST_METHOD"] != "HEAD" and code not in _NO_BODY
        self.connection.sendall(head + content if send_body else head)
        logger.info("%s %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"], code)
        return keep_alive

    def _request(self, line: bytes) -> tuple[dict[str, Any], _Body, bool]:
        """The WSGI environ of the request starting with ``line``, its body and whether the
        client wants the connection kept open."""
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]):
            raise _Refused("400 Bad Request")
        method, target, version = (part.decode("latin-1") for part in parts)
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _Refused("505 HTTP Version Not Supported")
        if target.startswith("/"):
            path, _, query = target.partition("?")
        elif target.startswith(("http://", "https://")):
            split = urlsplit(target)
            path, query = split.path or "/", split.query
        else:
            raise _Refused("400 Bad Request")
        host, port = self.server.server_address[:2]
        client_host, client_port = self.client_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": str(client_host),
            "REMOTE_PORT": str(client_port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": self.server.workers > 1,
            "wsgi.run_once": False,
            # The name werkzeug's server uses: the sandbox drops it for a lost-response fault.
            "werkzeug.socket": self.connection,
        }
        for _ in range(MAX_HEADERS + 1):
            header = _read_line(self.rfile)
            if header in (b"\r\n", b"\n", b""):
                break
            name, colon, value = header.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise _Refused("400 Bad Request")
            if b"_" in name:  # ambiguous with "-" once in the environ; dropped as gunicorn does
                continue
            key = name.decode("latin-1").upper().replace("-", "_")
            text = value.strip().decode("latin-1")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        else:
            raise _Refused("431 Request Header Fields Too Large")

        tokens = {token.strip() for token in environ.get("HTTP_CONNECTION", "").lower().split(",")}
        keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        if environ.get("HTTP_EXPECT", "").lower() == "100-continue" and version == "HTTP/1.1":
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        encoding = environ.pop("HTTP_TRANSFER_ENCODING", None)
        length_text = environ.get("CONTENT_LENGTH", "")
        if encoding is not None:
            if encoding.lower() != "chunked":
                raise _Refused("501 Not Implemented")
            if length_text:
                raise _Refused("400 Bad Request")
            content = _read_chunked(self.rfile)
            environ["CONTENT_LENGTH"] = str(len(content))
            body = _Body(io.BytesIO(content), len(content))
        else:
            if length_text and not length_text.isdigit():
                raise _Refused("400 Bad Request")
            body = _Body(self.rfile, int(length_text or 0))
        environ["wsgi.input"] = body
        return environ, body, keep_alive

    def _call_app(
        self, environ: WSGIEnvironment
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The application's status, headers and body; None when it dropped the connection on
        purpose. Raises ``_Refused`` (a bare 500) when it failed without an answer."""
        answer: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            answer[:] = [status, headers]
            return written.append

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ConnectionError:
            return None
        except Exception:
            logger.exception("the application failed on %s", environ["PATH_INFO"])
            raise _Refused("500 Internal Server Error") from None
        if not answer:
            logger.error("the application answered nothing on %s", environ["PATH_INFO"])
            raise _Refused("500 Internal Server Error")
        return answer[0], answer[1], b"".join(written)


class SandboxServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threaded HTTP/1.1 server of one WSGI application; see the module documentation."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, host: str, port: int, app: WSGIApplication, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.app = app
        self.workers = workers
        super().__init__((host, port), _Connection)
        if workers > 1:
            # Workers race for each connection; the losers' accept() must not block.
            self.socket.setblocking(False)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def serve(server: SandboxServer, ready: Callable[[], None]) -> int:
    """Serve until SIGTERM or SIGINT, in ``server.workers`` processes; ``ready`` runs in the
    calling process once it serves. Returns the exit status (0)."""
    parent = os.getpid()
    children = []
    for _ in range(server.workers - 1):
        pid = os.fork()
        if pid == 0:
            _serve_until_stopped(server, orphaned=lambda: os.getppid() != parent)
            os._exit(0)
        children.append(pid)

    def stop_children() -> None:
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    _serve_until_stopped(server, ready=ready, stopping=stop_children)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


def _serve_until_stopped(
    server: SandboxServer,
    *,
    orphaned: Callable[[], bool] = lambda: False,
    ready: Callable[[], None] = lambda: None,
    stopping: Callable[[], None] = lambda: None,
) -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-server"
    )
    serving.start()
    ready()
    while not stop.wait(1.0):
        if orphaned():
            break
    stopping()
    server.shutdown()
    serving.join()
    server.server_close()
