"""The sandbox's HTTP server (gunicorn's gthread worker), spoken to over raw sockets: keep-alive,
bodies, bad requests."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.servers import KEY, Server, read_answer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server of one worker for the module; each test makes its own entities."""
    data = tmp_path_factory.mktemp("http") / "http.sqlite3"
    with running_server(data) as server:
        yield server


@pytest.fixture
def address(server: Server) -> tuple[str, int]:
    return "127.0.0.1", server.port


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
    assert [answer[1]["connection"] for answer in (first, second, health)] == ["keep-alive"] * 3
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


def test_a_chunked_body_over_the_limit_is_refused_and_the_connection_kept(
    connection: socket.socket,
) -> None:
    stream = connection.makefile("rb")
    chunk = b"x" * (512 * 1024)
    connection.sendall(
        f"POST /entities HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
        + b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(3))
        + b"0\r\n\r\n"
        + post_entity("After")
    )

    too_large, after = read_answer(stream), read_answer(stream)

    assert (too_large[0], json.loads(too_large[2])["code"]) == (413, "payload_too_large")
    assert (after[0], json.loads(after[2])["name"]) == (201, "After")


def test_an_unread_body_is_skipped_and_the_connection_kept(connection: socket.socket) -> None:
    stream = connection.makefile("rb")
    ignored = b"x" * (32 * 1024)  # gunicorn reads up to 64 KiB the application left unread
    connection.sendall(
        f"GET /health HTTP/1.1\r\nHost: sandbox\r\nContent-Length: {len(ignored)}\r\n\r\n".encode()
        + ignored
        + post_entity("After")
    )

    health, after = read_answer(stream), read_answer(stream)

    assert (health[0], json.loads(health[2])) == (200, {"status": "ok"})
    assert (after[0], json.loads(after[2])["name"]) == (201, "After")


def test_a_body_over_the_limit_is_refused_before_it_is_read(connection: socket.socket) -> None:
    connection.sendall(
        f"POST /entities HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Length: {3 * 1024 * 1024}\r\n\r\n".encode()
    )

    status, _, body = read_answer(connection.makefile("rb"))

    assert (status, json.loads(body)["code"]) == (413, "payload_too_large")


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
        (b"GET /health HTTP/2.0\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"POST /entities HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /entities HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST /entities HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (
            f"POST /entities HTTP/1.1\r\nAuthorization: Bearer {KEY}\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode(),
            400,
        ),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
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


def test_a_lost_response_is_written_then_the_connection_dropped_without_an_answer(
    server: Server,
) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=10) as http:
        entity = http.post("/entities", json={"name": "Lost", "country_code": "SI"}).json()
        invoice = json.dumps(
            {"date": "2026-06-01", "items": [{"name": "Mug", "quantity": 1, "price": "10.00"}]}
        )
        http.post("/sandbox/faults", json={"lost_response_rate": 1})
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(
                    f"POST /invoices HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
                    f"x-entity-id: {entity['id']}\r\nX-Request-Id: order-lost\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(invoice)}\r\n\r\n"
                    f"{invoice}".encode()
                )
                seen = sock.makefile("rb").read()  # until the server closes the connection
        finally:
            http.post("/sandbox/faults", json={})
        listed = http.get("/invoices", headers={"x-entity-id": entity["id"]}).json()
        retry = http.post(
            "/invoices",
            content=invoice,
            headers={"x-entity-id": entity["id"], "X-Request-Id": "order-lost"},
        )

    assert seen == b""
    assert [document["number"] for document in listed["data"]] == ["2026-00001"]
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (201, "true")
    assert retry.json() == listed["data"][0]
    # The access line is written after the answer: wait for the retry's.
    deadline = time.monotonic() + 5
    while "POST /invoices 201" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log.read_text()
    assert "Traceback" not in log
    assert log.count("POST /invoices 201") == 1  # the retry's: the lost one was never answered
