"""The sandbox's HTTP/1.1 server, spoken to over raw sockets: keep-alive, bodies, bad requests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pytest

from invoicing.sandbox import create_app
from invoicing.sandbox.server import SandboxServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

KEY = "sk_sandbox_http"


@pytest.fixture
def address(tmp_path: Path) -> Iterator[tuple[str, int]]:
    server = SandboxServer("127.0.0.1", 0, create_app(tmp_path / "http.sqlite3", [KEY]))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield "127.0.0.1", server.port
    server.shutdown()
    thread.join()
    server.server_close()


def read_answer(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0")))
    return status, headers, body


@pytest.fixture
def connection(address: tuple[str, int]) -> Iterator[socket.socket]:
    with socket.create_connection(address, timeout=5) as sock:
        yield sock


def post_entity(name: str, *, extra: str = "") -> bytes:
    body = json.dumps({"name": name, "country_code": "SI"}).encode()
    return (
        f"POST /entities HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def test_one_connection_carries_several_requests(connection: socket.socket) -> None:
    stream = connection.makefile("rb")
    connection.sendall(post_entity("First") + post_entity("Second"))  # pipelined

    first, second = read_answer(stream), read_answer(stream)
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: sandbox\r\n\r\n")
    health = read_answer(stream)

    assert [answer[0] for answer in (first, second, health)] == [201, 201, 200]
    assert json.loads(first[2])["name"] == "First"
    assert json.loads(second[2])["name"] == "Second"
    assert "connection" not in health[1]
    assert health[1]["date"].endswith(" GMT")


def test_connection_close_and_http_1_0_end_the_connection(address: tuple[str, int]) -> None:
    for request in (
        b"GET /health HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
    ):
        with socket.create_connection(address, timeout=5) as sock:
            stream = sock.makefile("rb")
            sock.sendall(request)
            status, headers, body = read_answer(stream)
            assert (status, headers["connection"], json.loads(body)) == (
                200,
                "close",
                {"status": "ok"},
            )
            assert stream.read() == b""  # closed by the server


def test_http_1_0_keep_alive_is_honoured(connection: socket.socket) -> None:
    stream = connection.makefile("rb")
    for _ in range(2):
        connection.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, headers, _ = read_answer(stream)
        assert (status, headers["connection"]) == (200, "keep-alive")


def test_a_chunked_body_is_read(connection: socket.socket) -> None:
    body = json.dumps({"name": "Chunked", "country_code": "SI"}).encode()
    connection.sendall(
        f"POST /entities HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
        + f"{len(body[:10]):x}\r\n".encode()
        + body[:10]
        + f"\r\n{len(body[10:]):x};ext=1\r\n".encode()
        + body[10:]
        + b"\r\n0\r\n\r\n"
    )
    status, _, answer = read_answer(connection.makefile("rb"))

    assert (status, json.loads(answer)["name"]) == (201, "Chunked")


def test_an_unread_large_body_is_skipped_and_the_connection_kept(
    connection: socket.socket,
) -> None:
    stream = connection.makefile("rb")
    big = b"x" * (3 * 1024 * 1024)
    connection.sendall(
        f"POST /entities HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Length: {len(big)}\r\n\r\n".encode()
        + big
        + post_entity("After")
    )

    too_large, after = read_answer(stream), read_answer(stream)

    assert (too_large[0], json.loads(too_large[2])["code"]) == (413, "payload_too_large")
    assert (after[0], json.loads(after[2])["name"]) == (201, "After")


def test_head_answers_without_a_body(connection: socket.socket) -> None:
    stream = connection.makefile("rb")
    connection.sendall(b"HEAD /health HTTP/1.1\r\nHost: sandbox\r\n\r\n")
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: sandbox\r\n\r\n")

    assert stream.readline().startswith(b"HTTP/1.1 200")
    while stream.readline() != b"\r\n":
        pass
    assert read_answer(stream)[0] == 200  # the next bytes are the GET's answer


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /health HTTP/2.0\r\n\r\n", 505),
        (b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"POST /entities HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /entities HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST /entities HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 431),
    ],
)
def test_malformed_requests_are_refused_and_the_connection_closed(
    connection: socket.socket, request_bytes: bytes, status: int
) -> None:
    stream = connection.makefile("rb")
    connection.sendall(request_bytes)

    answered, headers, _ = read_answer(stream)

    assert (answered, headers["connection"]) == (status, "close")
    assert stream.read() == b""


def failing_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("broken")


def dropping_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    raise ConnectionAbortedError("the answer is lost")


@pytest.mark.parametrize(
    ("app", "expected"),
    [(failing_app, b"HTTP/1.1 500 Internal Server Error\r\n"), (dropping_app, b"")],
)
def test_an_application_failure_or_drop_closes_the_connection(
    app: WSGIApplication, expected: bytes
) -> None:
    server = SandboxServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            stream = sock.makefile("rb")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            assert stream.readline() == expected
            while stream.readline():  # the rest of the head, then the end of the connection
                pass
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
