"""The file store's layout on disk: the index schema (objects and their chunks), the SQL its
rows are read and written with, and the file helpers (reading a file in chunks, making a new
file's directory entry durable). :mod:`~contos_messaging.adapters.filestore.store` runs them."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contos_messaging.adapters.sqlite.codec import to_us

__all__ = [
    "CHUNK_BYTES",
    "MIGRATIONS",
    "SEGMENT_LIMIT",
    "chunk_id",
    "data_chunks",
    "file_chunks",
    "fsync_dir",
    "index_object",
    "live_chunks",
    "now_us",
    "repoint",
    "touch",
]

CHUNK_BYTES = 1 << 20
SEGMENT_LIMIT = 256 << 20

MIGRATIONS = [
    [
        "CREATE TABLE objects (scope TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,"
        " chunks INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (scope, key))"
        " WITHOUT ROWID",
        "CREATE TABLE chunks (scope TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,"
        " segment INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,"
        " PRIMARY KEY (scope, key, n)) WITHOUT ROWID",
        "CREATE INDEX chunks_segment ON chunks (segment)",
    ]
]


def live_chunks(segment: int) -> Callable[[sqlite3.Connection], list[Any]]:
    def read(conn: sqlite3.Connection) -> list[Any]:
        return conn.execute(
            "SELECT scope, key, n, offset, length FROM chunks WHERE segment = ?", (segment,)
        ).fetchall()

    return read


def repoint(updates: list[tuple[int, int, str, str, int]]) -> Callable[[sqlite3.Connection], None]:
    def write(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "UPDATE chunks SET segment = ?, offset = ? WHERE scope = ? AND key = ? AND n = ?",
            updates,
        )

    return write


def file_chunks(path: Path) -> Iterator[bytes]:
    """A file's content CHUNK_BYTES at a time, read as it is consumed (an empty file is one
    empty chunk)."""
    with open(path, "rb") as fh:
        chunk = fh.read(CHUNK_BYTES)
        yield chunk
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (a file just created there) durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_us() -> int:
    """Now, in microseconds since the epoch (as the index stores times)."""
    return to_us(datetime.now(UTC)) or 0


def touch(conn: sqlite3.Connection, scope: str, key: str) -> bool:
    """Refresh an object's age; whether it is stored."""
    cursor = conn.execute(
        "UPDATE objects SET created_at = max(created_at, ?) WHERE scope = ? AND key = ?",
        (now_us(), scope, key),
    )
    return cursor.rowcount > 0


def chunk_id(scope: str, key: str, n: int) -> str:
    return f"blob:{scope}/{key}#{n}"


def data_chunks(data: bytes) -> Iterator[bytes]:
    """``data`` in chunks of :data:`CHUNK_BYTES` (one empty chunk for empty content)."""
    return (data[start : start + CHUNK_BYTES] for start in range(0, max(len(data), 1), CHUNK_BYTES))


def index_object(
    conn: sqlite3.Connection,
    scope: str,
    key: str,
    size: int,
    placed: list[tuple[int, int, int, int]],
) -> None:
    """The index rows of one stored object: the object, and where each chunk ``n`` lies."""
    conn.execute(
        "INSERT INTO objects VALUES (?, ?, ?, ?, ?)", (scope, key, size, len(placed), now_us())
    )
    conn.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
        [(scope, key, n, seg, off, length) for n, seg, off, length in placed],
    )
