"""EncryptedFileStore: sealed objects appended to segment files, indexed in SQLite.

Many small objects share a segment file (no file per object). Each object is sealed under its
scope's current key in chunks of at most 1 MiB, so a large attachment is streamed from its file
and never sits whole in memory. A write appends, fsyncs the segment, then commits the index
rows: a crash leaves unindexed bytes (reclaimed by :meth:`compact`), never an index row
pointing at nothing. A segment file created by a write has its directory fsynced too, before the
rows pointing into it commit, so the file's name survives a power cut as well as its bytes.

Storing a key that is already stored refreshes its ``created_at`` (what :meth:`list_objects`
and gc go by), and :meth:`delete_if_older` deletes only an object that was not refreshed since
gc listed it: a deduplicated attachment stored again while gc runs is never collected.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from contos_messaging.adapters._shared.sealing import Sealer, parse_header
from contos_messaging.adapters.filestore.layout import (
    MIGRATIONS,
    SEGMENT_LIMIT,
    chunk_id,
    data_chunks,
    file_chunks,
    fsync_dir,
    index_object,
    live_chunks,
    repoint,
    touch,
)
from contos_messaging.adapters.sqlite.codec import to_us
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.domain.integrity import IntegrityProblem, VerifyReport
from contos_messaging.errors import BlobNotFound, IntegrityError, KeyUnavailable, StorageError
from contos_messaging.ports import KeyStore

__all__ = ["EncryptedFileStore"]


class EncryptedFileStore:
    """Blob store in a directory: ``segments/NNNNNNNN.seg`` plus ``index.sqlite``.

    Open with ``await EncryptedFileStore.open(directory, keys=key_store)``.
    """

    def __init__(self, root: Path, keys: KeyStore, *, segment_limit: int = SEGMENT_LIMIT) -> None:
        self._root = root
        self._segments = root / "segments"
        self._db = SQLiteWorker(root / "index.sqlite", migrations=MIGRATIONS, name="blobs")
        self._keys = keys
        self._segment_limit = segment_limit
        self._sealer = Sealer()

    @classmethod
    async def open(
        cls, root: str | os.PathLike[str], *, keys: KeyStore, segment_limit: int = SEGMENT_LIMIT
    ) -> EncryptedFileStore:
        """Open (or create) the store in ``root``; segments roll over at ``segment_limit``."""
        store = cls(Path(root), keys, segment_limit=segment_limit)
        if not store._segments.is_dir():
            store._segments.mkdir(parents=True, exist_ok=True)
            fsync_dir(store._segments.parent)
        await store._db.start()
        return store

    # -- segments (worker thread only) --------------------------------------------------------

    def _segment_path(self, number: int) -> Path:
        return self._segments / f"{number:08d}.seg"

    def _active_segment(self) -> int:
        numbers = sorted(int(p.stem) for p in self._segments.glob("*.seg"))
        if not numbers:
            return 1
        last = numbers[-1]
        if self._segment_path(last).stat().st_size >= self._segment_limit:
            return last + 1
        return last

    def _open_segment(self, segment: int) -> tuple[Any, bool]:
        """The segment file opened for appending, and whether this call created it."""
        path = self._segment_path(segment)
        created = not path.exists()
        return open(path, "ab"), created

    def _append(self, records: Iterator[tuple[int, bytes]]) -> list[tuple[int, int, int, int]]:
        """Append sealed records; return (n, segment, offset, length) per record, fsynced (and
        the segments directory too when a segment file was created)."""
        placed: list[tuple[int, int, int, int]] = []
        segment = self._active_segment()
        fh, created = self._open_segment(segment)
        try:
            fh.seek(0, os.SEEK_END)  # the true end, whatever another process appended
            for n, record in records:
                if fh.tell() >= self._segment_limit:
                    fh.flush()
                    os.fsync(fh.fileno())
                    fh.close()
                    segment += 1
                    fh, new = self._open_segment(segment)
                    created = created or new
                offset = fh.tell()
                fh.write(record)
                placed.append((n, segment, offset, len(record)))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()
        if created:
            fsync_dir(self._segments)
        return placed

    def _refresh(self, scope: str, key: str) -> bool:
        """Refresh a stored object's age (worker thread); whether it is stored. Committed
        without an fsync (``synchronous = NORMAL``: the WAL stays intact, a power cut may only
        lose the refresh): the age matters to a gc running now, and after a power cut the
        committed message that took the object up refers to it anyway."""
        conn = self._db.conn
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            return self._db.write(lambda c: touch(c, scope, key))
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    def _read_record(self, segment: int, offset: int, length: int, object_id: str) -> bytes:
        try:
            with open(self._segment_path(segment), "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        except FileNotFoundError:
            raise IntegrityError(object_id, f"segment {segment} is missing") from None
        if len(data) != length:
            raise IntegrityError(object_id, "truncated: the segment ends early")
        return data

    # -- port --------------------------------------------------------------------------------

    async def put(self, scope: str, key: str, data: bytes, /) -> None:
        """Store ``data``; when the key exists in the scope, only refresh its age."""
        if await self._db.run(self._refresh, scope, key):
            return
        key_id, secret = await self._keys.current(scope)

        def records() -> Iterator[tuple[int, bytes]]:
            return self._sealed(scope, key, key_id, secret, data_chunks(data))

        await self._db.run(self._store, scope, key, len(data), records)

    async def put_many(self, items: Sequence[tuple[str, str, bytes]], /) -> None:
        """Store several objects in one append (one fsync) and one index transaction; those
        stored already only get their age refreshed."""
        if not items:
            return
        secrets: dict[str, tuple[str, bytes]] = {}
        for scope, _key, _data in items:
            if scope not in secrets:
                secrets[scope] = await self._keys.current(scope)
        unique = list({(scope, key): data for scope, key, data in items}.items())

        def index(conn: sqlite3.Connection) -> None:
            todo = [(sk, data) for sk, data in unique if not touch(conn, *sk)]
            owners: list[tuple[int, int]] = []  # (object, chunk n) of each record, in order

            def records() -> Iterator[tuple[int, bytes]]:
                for number, ((scope, key), data) in enumerate(todo):
                    key_id, secret = secrets[scope]
                    for n, record in self._sealed(scope, key, key_id, secret, data_chunks(data)):
                        owners.append((number, n))
                        yield len(owners) - 1, record

            placed = self._append(records())  # synced before the rows that point at it commit
            by_object: dict[int, list[tuple[int, int, int, int]]] = {}
            for index_, segment, offset, length in placed:
                number, n = owners[index_]
                by_object.setdefault(number, []).append((n, segment, offset, length))
            for number, ((scope, key), data) in enumerate(todo):
                index_object(conn, scope, key, len(data), by_object.get(number, []))

        await self._db.run(self._db.write, index)

    async def put_file(self, scope: str, key: str, path: Path, /) -> None:
        """Store a file's content, read and sealed 1 MiB at a time (an existing key: only its
        age is refreshed)."""
        if await self._db.run(self._refresh, scope, key):
            return
        key_id, secret = await self._keys.current(scope)

        def store() -> None:
            size = Path(path).stat().st_size

            def records() -> Iterator[tuple[int, bytes]]:
                return self._sealed(scope, key, key_id, secret, file_chunks(path))

            self._store(scope, key, size, records)

        try:
            await self._db.run(store)
        except OSError as exc:
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"cannot store {path}: {exc}") from exc

    def _sealed(
        self, scope: str, key: str, key_id: str, secret: bytes, chunks: Iterable[bytes]
    ) -> Iterator[tuple[int, bytes]]:
        """``(n, sealed chunk n)`` of an object, sealed as they are consumed."""
        for n, chunk in enumerate(chunks):
            object_id = chunk_id(scope, key, n)
            yield (
                n,
                self._sealer.seal(
                    chunk, object_id=object_id, scope=scope, key_id=key_id, key=secret
                ),
            )

    def _store(
        self, scope: str, key: str, size: int, records: Callable[[], Iterator[tuple[int, bytes]]]
    ) -> None:
        """Append and index in one write transaction: the index database's write lock also
        serialises appends to the shared segment files between processes."""

        def index(conn: sqlite3.Connection) -> None:
            if touch(conn, scope, key):
                return  # stored meanwhile by another process
            placed = self._append(records())  # synced before the rows that point at it commit
            index_object(conn, scope, key, size, placed)

        self._db.write(index)

    def _chunks(self, scope: str, key: str) -> list[tuple[int, int, int, int]]:
        rows = self._db.read(
            lambda c: c.execute(
                "SELECT n, segment, offset, length FROM chunks WHERE scope = ? AND key = ?"
                " ORDER BY n",
                (scope, key),
            ).fetchall()
        )
        if not rows:
            raise BlobNotFound(scope, key)
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def get(self, scope: str, key: str, /) -> bytes:
        """The whole content."""
        return b"".join([chunk async for chunk in self.read_chunks(scope, key)])

    async def read_chunks(self, scope: str, key: str, /) -> AsyncIterator[bytes]:
        """Yield the content chunk by chunk (1 MiB each)."""
        chunks = await self._db.run(self._chunks, scope, key)
        for n, segment, offset, length in chunks:
            object_id = chunk_id(scope, key, n)
            try:
                blob = await self._db.run(self._read_record, segment, offset, length, object_id)
            except IntegrityError:
                # Another process may have compacted the segment since we read the index.
                _n, segment, offset, length = (await self._db.run(self._chunks, scope, key))[n]
                blob = await self._db.run(self._read_record, segment, offset, length, object_id)
            header = parse_header(object_id, blob)
            secret = await self._keys.get(scope, header.key_id)
            yield await self._db.run(self._open, blob, object_id, scope, secret)

    def _open(self, blob: bytes, object_id: str, scope: str, secret: bytes) -> bytes:
        return self._sealer.open(blob, object_id=object_id, scope=scope, key_for=lambda _k: secret)

    async def exists(self, scope: str, key: str, /) -> bool:
        """Whether the object is indexed."""
        return await self._db.query(
            lambda c: (
                c.execute(
                    "SELECT 1 FROM objects WHERE scope = ? AND key = ?", (scope, key)
                ).fetchone()
                is not None
            )
        )

    async def delete(self, scope: str, key: str, /) -> None:
        """Unindex one object (its bytes go with the next :meth:`compact`)."""

        def tx(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM objects WHERE scope = ? AND key = ?", (scope, key))
            conn.execute("DELETE FROM chunks WHERE scope = ? AND key = ?", (scope, key))

        await self._db.transact(tx)

    async def delete_if_older(self, scope: str, key: str, /, *, before: datetime) -> bool:
        """Unindex one object only if it was stored (or last stored again) before ``before``;
        whether it was. In one transaction with the check: gc's way to delete."""

        def tx(conn: sqlite3.Connection) -> bool:
            gone = conn.execute(
                "DELETE FROM objects WHERE scope = ? AND key = ? AND created_at < ?",
                (scope, key, to_us(before)),
            ).rowcount
            if gone:
                conn.execute("DELETE FROM chunks WHERE scope = ? AND key = ?", (scope, key))
            return bool(gone)

        return await self._db.transact(tx)

    async def delete_scope(self, scope: str, /) -> int:
        """Unindex every object of a scope; return how many."""

        def tx(conn: sqlite3.Connection) -> int:
            count = conn.execute("DELETE FROM objects WHERE scope = ?", (scope,)).rowcount
            conn.execute("DELETE FROM chunks WHERE scope = ?", (scope,))
            return int(count)

        return await self._db.transact(tx)

    async def list_objects(
        self, *, created_before: datetime | None = None
    ) -> list[tuple[str, str]]:
        """Indexed objects, optionally only those created before a time."""
        limit = to_us(created_before) if created_before else None
        return await self._db.query(
            lambda c: [
                (s, k)
                for s, k in c.execute(
                    "SELECT scope, key FROM objects WHERE ? IS NULL OR created_at < ?",
                    (limit, limit),
                )
            ]
        )

    async def compact(self) -> int:
        """Rewrite segments that are mostly dead, delete dead ones; return bytes freed."""
        return await self._db.run(self._compact)

    def _compact(self) -> int:
        freed = 0
        for path in sorted(self._segments.glob("*.seg")):
            moved: int = self._db.write(partial(self._compact_segment, path=path))
            if moved >= 0:
                # Only after the repointing committed: a crash before leaves a spare copy.
                size = path.stat().st_size
                path.unlink()
                freed += size - moved
        return freed

    def _compact_segment(self, conn: sqlite3.Connection, path: Path) -> int:
        """Under the write lock: copy the live records of a mostly dead segment to the active
        one and repoint them. Returns the bytes moved, or -1 when the segment stays."""
        segment = int(path.stem)
        if segment == self._active_segment() or not path.exists():
            return -1
        size = path.stat().st_size
        live = live_chunks(segment)(conn)
        live_bytes = int(sum(r[4] for r in live))
        if live and live_bytes * 2 >= size:
            return -1
        moved = self._append(
            (i, self._read_record(segment, r[3], r[4], chunk_id(r[0], r[1], r[2])))
            for i, r in enumerate(live)
        )
        repoint(
            [
                (seg, off, row[0], row[1], row[2])
                for row, (_, seg, off, _length) in zip(live, moved, strict=True)
            ]
        )(conn)
        return live_bytes

    async def verify(self) -> VerifyReport:
        """Open every chunk; report each one that fails (wrong key, corrupted, missing)."""
        rows = await self._db.query(
            lambda c: c.execute(
                "SELECT scope, key, n, segment, offset, length FROM chunks"
            ).fetchall()
        )
        problems: list[IntegrityProblem] = []
        for scope, key, n, segment, offset, length in rows:
            object_id = chunk_id(scope, key, n)
            try:
                blob = await self._db.run(self._read_record, segment, offset, length, object_id)
                header = parse_header(object_id, blob)
                secret = await self._keys.get(scope, header.key_id)
                await self._db.run(self._open, blob, object_id, scope, secret)
            except (IntegrityError, KeyUnavailable) as exc:
                problems.append(IntegrityProblem(object_id, str(exc)))
        return VerifyReport(len(rows), tuple(problems))

    async def aclose(self) -> None:
        """Close the index."""
        await self._db.close()
