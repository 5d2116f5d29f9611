"""The sandbox's HTTP server: gunicorn's threaded worker (``gthread``), embedded through gunicorn's
application API.

:func:`listen` binds the listening socket first, so that a taken address fails at once and
``--port 0`` knows its port before anything starts. :class:`SandboxServer` then runs gunicorn's
master on that socket: it forks ``workers`` worker processes, which accept on the one socket
(the kernel hands each new connection to one of them) and answer from a pool of
:data:`THREADS` threads each: a request holds its thread throughout, injected latency and
timeouts included, so that many slow answers may be under way at once. Connections stay open
between requests (HTTP/1.1 keep-alive, or HTTP/1.0 with ``Connection: keep-alive``) until idle
for :data:`KEEPALIVE_S` seconds; after an answer gunicorn reads and drops up to 64 KiB of a body
the application left unread (a 413), and closes the connection when more is left. The workers
share nothing in memory: the sandbox's state is its SQLite file (see :mod:`.store`). The
lost-response fault hangs up through the worker's own socket (``environ["gunicorn.socket"]``,
see :mod:`.app`).

The master stops on SIGTERM (workers finish the requests in flight, for at most
:data:`GRACEFUL_TIMEOUT_S` seconds) or SIGINT (at once), stops its workers and exits 0; a worker
whose master disappears stops too. gunicorn's own messages go to stderr; each answered request
is logged on ``invoicing.sandbox.requests``: method, path and status, never headers (they carry
the key) nor the query string (filters may hold personal data).
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

THREADS = 32
KEEPALIVE_S = 60
GRACEFUL_TIMEOUT_S = 5
BACKLOG = 1024
MAX_CHUNKED_BODY = 16 * 1024 * 1024

requests_logger = logging.getLogger("invoicing.sandbox.requests")


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (``0``: a free port); raises ``OSError`` when the
    address is taken or not this machine's."""
    return socket.create_server((host, port), backlog=BACKLOG)


class _RequestLog(Logger):  # type: ignore[misc]
    """gunicorn's logger, with the access line the sandbox has always written (also for the
    requests gunicorn refuses itself, whose ``environ`` is partial)."""

    def access(
        self, resp: Any, req: Any, environ: WSGIEnvironment, request_time: timedelta
    ) -> None:
        status = str(resp.status).split(" ", 1)[0]
        requests_logger.info("%s %s %s", req.method, req.path, status)


def _chunked_bodies_read_first(app: WSGIApplication) -> WSGIApplication:
    """``app``, given a chunked request body already read (up to :data:`MAX_CHUNKED_BODY`, with
    its ``CONTENT_LENGTH``): a malformed chunk is then gunicorn's 400 before the application runs,
    not an error inside it. A body beyond the limit reaches the application at that length, which
    it refuses as too large."""

    def read_first(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Popped: the application reads the body by its length, as any other.
        if "chunked" in environ.pop("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(MAX_CHUNKED_BODY + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return read_first


class SandboxServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving ``app`` on ``listener`` (taken over: the socket object is left empty);
    ``ready`` runs in the master once it listens.

    :meth:`run` serves until SIGTERM or SIGINT, then exits the process with status 0.
    """

    def __init__(
        self,
        app: WSGIApplication,
        listener: socket.socket,
        *,
        workers: int = 1,
        ready: Callable[[], None] = lambda: None,
    ) -> None:
        self._app = _chunked_bodies_read_first(app)
        self._settings: dict[str, Any] = {
            # gunicorn takes the socket's descriptor over (it closes it once it has its own copy).
            "bind": [f"fd://{listener.detach()}"],
            "backlog": BACKLOG,
            "worker_class": "gthread",
            "workers": workers,
            "threads": THREADS,
            "keepalive": KEEPALIVE_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            # The longest request line gunicorn allows: list filters make long query strings.
            "limit_request_line": 8190,
            "logger_class": _RequestLog,
            "errorlog": "-",
            "loglevel": "info",
            # Its default path is one per user: several sandboxes (tests) would take it over.
            "control_socket_disable": True,
            "when_ready": lambda arbiter: ready(),
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApplication:
        return self._app
