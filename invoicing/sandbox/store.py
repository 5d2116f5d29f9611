"""SQLite state of the sandbox.

One file holds every account's entities, documents, number sequences and idempotent replies, so
state survives restarts and several threads or server processes can share it. The file runs in WAL
mode with ``synchronous = OFF``: a commit is written but never waits for the disk, so state survives
the server stopping or crashing but not the machine losing power, a fair trade for a test double
(waiting for the disk at checkpoints cost a fifth of a create). Every connection waits up to 30 s
for a lock. Connections are pooled (opening one parses the schema, and closing the last one
checkpoints the WAL: together 10x the cost of a request); each request borrows one: reads run in one
deferred transaction (a consistent snapshot), writes in one ``BEGIN IMMEDIATE`` transaction, which
takes the write lock up front so that checking an idempotency key, allocating a document number and
inserting the document happen atomically across threads and processes.

Writers queue for that lock first on a ``threading.Lock`` and then on an exclusive ``flock`` of
``<data file>.lock``, both of which wake the next writer as soon as the lock is free. Left to
SQLite, contending writers poll with sleeps of 1 to 100 ms (its busy handler), which under load
cost more time than the writes themselves. Nothing is opened before the first request, so a
server may fork worker processes after creating its store; each then opens its own connections
and lock file descriptor (``flock`` locks belong to an open file, which a fork would share).

Entities and documents are stored as their JSON answer; ``seq`` (an autoincrement rowid) keeps
creation order. Every other resource (taxes, customers, payments, entity users, entity API keys,
sent messages, webhooks) is a row of ``records``: its kind, account, entity (if scoped) and JSON
answer, plus an optional unique ``lookup`` that lets the database enforce uniqueness (a user's
e-mail per entity) or find a row by something other than its id (an API key's digest).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoicing.sandbox import jsoncodec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    environment TEXT NOT NULL CHECK (environment IN ('live', 'sandbox'))
);
CREATE TABLE IF NOT EXISTS entities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_by_account ON entities (account_id, seq);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL REFERENCES entities (id),
    type TEXT NOT NULL CHECK (type IN ('invoice', 'credit_note')),
    number TEXT,
    shareable_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_entity ON documents (entity_id, type, seq);
CREATE UNIQUE INDEX IF NOT EXISTS documents_unique_number
    ON documents (entity_id, type, number) WHERE number IS NOT NULL;
CREATE TABLE IF NOT EXISTS sequences (
    entity_id TEXT NOT NULL REFERENCES entities (id),
    document_type TEXT NOT NULL,
    period TEXT NOT NULL,
    last_value INTEGER NOT NULL CHECK (last_value >= 1),
    PRIMARY KEY (entity_id, document_type, period)
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    entity_id TEXT REFERENCES entities (id),
    lookup TEXT UNIQUE,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_scope ON records (kind, account_id, entity_id, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    headers TEXT NOT NULL,
    created_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, request_id)
);
"""


@dataclass(frozen=True)
class Row:
    """A stored entity or document: its creation order and its JSON answer."""

    seq: int
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredReply:
    """The first answer to an idempotent request, replayed for repeats of its request id."""

    fingerprint: str
    status: int
    body: str
    headers: dict[str, str]


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lock_file: int | None = None

    def initialize(self, accounts: dict[str, str]) -> None:
        """Create the file and schema if needed and register ``{account_id: environment}``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect()
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            with self._transaction(connection, "BEGIN IMMEDIATE"):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                columns = {row[1] for row in connection.execute("PRAGMA table_info(idempotency)")}
                if "created_at" not in columns:  # a file from before replies were dated
                    connection.execute(
                        "ALTER TABLE idempotency ADD COLUMN created_at REAL NOT NULL DEFAULT 0"
                    )
                connection.executemany(
                    "INSERT OR IGNORE INTO accounts (id, environment) VALUES (?, ?)",
                    accounts.items(),
                )
        finally:
            connection.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session("BEGIN") as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction holding the database write lock from its first statement."""
        with self._write_lock:
            if self._lock_file is None:
                self._lock_file = os.open(
                    f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
                )
                weakref.finalize(self, os.close, self._lock_file)
            lock_file = self._lock_file
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with self._session("BEGIN IMMEDIATE") as session:
                    yield session
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    @contextmanager
    def _session(self, begin: str) -> Iterator[Session]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        connection = connection or self._connect()
        try:
            with self._transaction(connection, begin):
                yield Session(connection)
        finally:
            if connection.in_transaction:
                connection.close()
            else:
                with self._lock:
                    self._idle.append(connection)

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection, begin: str) -> Iterator[None]:
        connection.execute(begin)
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are only the ones this module begins explicitly.
        connection = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = OFF")
        return connection


class Session:
    """Queries inside one transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo everything done inside the block if it raises, keeping the outer transaction."""
        self._db.execute("SAVEPOINT work")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO work")
            raise
        finally:
            self._db.execute("RELEASE work")

    # Entities

    def entity_get(self, account_id: str, entity_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM entities WHERE account_id = ? AND id = ?", (account_id, entity_id)
        ).fetchone()
        return jsoncodec.loads(row[0]) if row else None

    def entity_list(self, account_id: str, *, limit: int = -1) -> list[Row]:
        rows = self._db.execute(
            "SELECT seq, body FROM entities WHERE account_id = ? ORDER BY seq LIMIT ?",
            (account_id, limit),
        )
        return [Row(seq, jsoncodec.loads(body)) for seq, body in rows]

    def entity_insert(self, entity: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO entities (id, account_id, body) VALUES (?, ?, ?)",
            (entity["id"], entity["account_id"], jsoncodec.dumps(entity)),
        )

    def entity_update(self, entity: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE entities SET body = ? WHERE id = ? AND account_id = ?",
            (jsoncodec.dumps(entity), entity["id"], entity["account_id"]),
        )

    def entity_by_id(self, entity_id: str) -> dict[str, Any] | None:
        """Any account's entity; only for public pages that already hold a document."""
        row = self._db.execute("SELECT body FROM entities WHERE id = ?", (entity_id,)).fetchone()
        return jsoncodec.loads(row[0]) if row else None

    # Documents

    def document_get(
        self, entity_id: str, document_type: str, document_id: str
    ) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM documents WHERE entity_id = ? AND type = ? AND id = ?",
            (entity_id, document_type, document_id),
        ).fetchone()
        return jsoncodec.loads(row[0]) if row else None

    def document_list(self, entity_id: str, document_type: str) -> list[Row]:
        rows = self._db.execute(
            "SELECT seq, body FROM documents WHERE entity_id = ? AND type = ? ORDER BY seq",
            (entity_id, document_type),
        )
        return [Row(seq, jsoncodec.loads(body)) for seq, body in rows]

    def document_update(self, document: dict[str, Any]) -> None:
        """Store a changed document (payment, void, finalization); its number may be new."""
        self._db.execute(
            "UPDATE documents SET body = ?, number = ? WHERE id = ? AND entity_id = ?",
            (jsoncodec.dumps(document), document["number"], document["id"], document["entity_id"]),
        )

    def document_by_shareable_id(self, shareable_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(document type, document)`` for a share link, whatever its account."""
        row = self._db.execute(
            "SELECT type, body FROM documents WHERE shareable_id = ?", (shareable_id,)
        ).fetchone()
        return (row[0], jsoncodec.loads(row[1])) if row else None

    def document_insert(self, document_type: str, document: dict[str, Any]) -> str:
        """Insert ``document``; return the JSON text stored."""
        text = jsoncodec.dumps(document)
        self._db.execute(
            "INSERT INTO documents (id, entity_id, type, number, shareable_id, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                document["id"],
                document["entity_id"],
                document_type,
                document["number"],
                document["shareable_id"],
                text,
            ),
        )
        return text

    def sequence_next(self, entity_id: str, document_type: str, period: str, start: int) -> int:
        """Allocate the next number of a sequence; ``start`` is its first value (or a floor).

        Run inside :meth:`Store.write`, the increment and the document insert commit together,
        so numbers never skip or repeat.
        """
        row = self._db.execute(
            "INSERT INTO sequences (entity_id, document_type, period, last_value)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (entity_id, document_type, period)"
            " DO UPDATE SET last_value = MAX(last_value + 1, excluded.last_value)"
            " RETURNING last_value",
            (entity_id, document_type, period, start),
        ).fetchone()
        return int(row[0])

    def sequence_peek(self, entity_id: str, document_type: str, period: str, start: int) -> int:
        """The value :meth:`sequence_next` would allocate now, allocating nothing."""
        row = self._db.execute(
            "SELECT last_value FROM sequences"
            " WHERE entity_id = ? AND document_type = ? AND period = ?",
            (entity_id, document_type, period),
        ).fetchone()
        return start if row is None else max(int(row[0]) + 1, start)

    # Records: every other resource

    def record_insert(
        self, kind: str, account_id: str, record: dict[str, Any], *, lookup: str | None = None
    ) -> None:
        """Insert ``record`` (its ``id``, ``entity_id`` if scoped). Raises
        ``sqlite3.IntegrityError`` when ``lookup`` is taken."""
        self._db.execute(
            "INSERT INTO records (id, kind, account_id, entity_id, lookup, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                record["id"],
                kind,
                account_id,
                record.get("entity_id"),
                lookup,
                jsoncodec.dumps(record),
            ),
        )

    def record_get(
        self, kind: str, account_id: str, record_id: str, *, entity_id: str | None = None
    ) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM records WHERE kind = ? AND account_id = ? AND id = ?"
            " AND entity_id IS ?",
            (kind, account_id, record_id, entity_id),
        ).fetchone()
        return jsoncodec.loads(row[0]) if row else None

    def record_by_lookup(self, kind: str, lookup: str) -> tuple[str, dict[str, Any]] | None:
        """``(account id, record)`` found by its lookup value, whatever its account."""
        row = self._db.execute(
            "SELECT account_id, body FROM records WHERE kind = ? AND lookup = ?", (kind, lookup)
        ).fetchone()
        return (row[0], jsoncodec.loads(row[1])) if row else None

    def record_list(self, kind: str, account_id: str, *, entity_id: str | None = None) -> list[Row]:
        rows = self._db.execute(
            "SELECT seq, body FROM records WHERE kind = ? AND account_id = ? AND entity_id IS ?"
            " ORDER BY seq",
            (kind, account_id, entity_id),
        )
        return [Row(seq, jsoncodec.loads(body)) for seq, body in rows]

    def record_list_all(self, kind: str, account_id: str) -> list[Row]:
        """Every record of a kind in the account, whatever its entity."""
        rows = self._db.execute(
            "SELECT seq, body FROM records WHERE kind = ? AND account_id = ? ORDER BY seq",
            (kind, account_id),
        )
        return [Row(seq, jsoncodec.loads(body)) for seq, body in rows]

    def record_update(self, kind: str, record: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE records SET body = ? WHERE kind = ? AND id = ?",
            (jsoncodec.dumps(record), kind, record["id"]),
        )

    def record_delete(self, kind: str, account_id: str, record_id: str) -> bool:
        cursor = self._db.execute(
            "DELETE FROM records WHERE kind = ? AND account_id = ? AND id = ?",
            (kind, account_id, record_id),
        )
        return cursor.rowcount == 1

    def account_reset(self, account_id: str) -> None:
        """Delete everything the account holds (``POST /sandbox/reset``)."""
        for statement in (
            "DELETE FROM records WHERE account_id = ?",
            "DELETE FROM idempotency WHERE account_id = ?",
            "DELETE FROM documents WHERE entity_id IN"
            " (SELECT id FROM entities WHERE account_id = ?)",
            "DELETE FROM sequences WHERE entity_id IN"
            " (SELECT id FROM entities WHERE account_id = ?)",
            "DELETE FROM entities WHERE account_id = ?",
        ):
            self._db.execute(statement, (account_id,))

    # Idempotency

    def reply_get(
        self, account_id: str, request_id: str, *, kept_after: float | None = None
    ) -> StoredReply | None:
        """The reply kept for ``request_id``; one stored at or before ``kept_after`` (a Unix
        time) is forgotten, as if never sent."""
        row = self._db.execute(
            "SELECT fingerprint, status, body, headers FROM idempotency"
            " WHERE account_id = ? AND request_id = ? AND (? IS NULL OR created_at > ?)",
            (account_id, request_id, kept_after, kept_after),
        ).fetchone()
        if row is None:
            return None
        fingerprint, status, body, headers = row
        return StoredReply(fingerprint, status, body, jsoncodec.loads(headers))

    def reply_put(
        self, account_id: str, request_id: str, reply: StoredReply, *, created_at: float
    ) -> None:
        """Keep ``reply`` for ``request_id`` from ``created_at`` (a Unix time), replacing a
        forgotten one."""
        self._db.execute(
            "INSERT INTO idempotency"
            " (account_id, request_id, fingerprint, status, body, headers, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account_id, request_id) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,"
            " headers = excluded.headers, created_at = excluded.created_at",
            (
                account_id,
                request_id,
                reply.fingerprint,
                reply.status,
                reply.body,
                jsoncodec.dumps(reply.headers),
                created_at,
            ),
        )
