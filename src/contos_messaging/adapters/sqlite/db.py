"""One SQLite connection on one worker thread, with migrations and lock-retry.

Every write runs in ``BEGIN IMMEDIATE`` so two processes never deadlock on a lock upgrade;
``busy_timeout`` waits for the other writer and a whole transaction is retried if SQLite still
reports the database busy, so callers never see "database is locked".
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from contos_messaging.errors import InvalidInput, StorageError, UsageError

__all__ = ["SQLiteWorker"]

T = TypeVar("T")
LOCK_DEADLINE_SECONDS = 120.0


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SQLiteWorker:
    """Runs functions against one connection on a dedicated thread.

    ``migrations`` is the schema history: entry ``i`` moves ``PRAGMA user_version`` from ``i``
    to ``i + 1``; pending ones run when the database is opened.
    """

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Sequence[str]],
        name: str,
        secure_delete: bool = False,
    ) -> None:
        self.path = path
        self._migrations = migrations
        self._name = name
        self._secure_delete = secure_delete
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread_id: int | None = None

    async def start(self) -> None:
        """Open the connection on the worker thread and migrate the schema."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        await self.run(self._connect)

    def _connect(self) -> None:
        self._thread_id = threading.get_ident()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA busy_timeout = 10000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB of page cache
        conn.execute("PRAGMA wal_autocheckpoint = 8192")  # checkpoint every ~32 MiB of WAL
        if self._secure_delete:
            conn.execute("PRAGMA secure_delete = ON")
        self._conn = conn
        self._migrate()

    def _migrate(self) -> None:
        def step(conn: sqlite3.Connection) -> None:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(self._migrations):
                raise StorageError(
                    f"{self.path} has schema version {version}, newer than this library "
                    f"knows ({len(self._migrations)}); upgrade contos_messaging"
                )
            for index in range(version, len(self._migrations)):
                for statement in self._migrations[index]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {index + 1}")

        self.write(step)

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection (only on the worker thread)."""
        if self._conn is None:
            raise UsageError(f"{self._name}: the database is not open")
        return self._conn

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the worker thread."""
        if self._executor is None:
            raise UsageError(f"{self._name}: the database is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(fn, *args))
        except RuntimeError as exc:
            if "shutdown" in str(exc):
                raise UsageError(f"{self._name}: the database is closed") from exc
            raise

    async def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction on the worker thread."""
        return await self.run(self.write, fn)

    async def query(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a read transaction on the worker thread."""
        return await self.run(self.read, fn)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction, retrying while the file is busy."""
        return self._retry(fn, "BEGIN IMMEDIATE")

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (a consistent snapshot)."""
        return self._retry(fn, "BEGIN")

    def _retry(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        conn = self.conn
        deadline = time.monotonic() + LOCK_DEADLINE_SECONDS
        delay = 0.005
        while True:
            try:
                conn.execute(begin)
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise StorageError(f"{self.path}: {exc}") from exc
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.2)
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc
            except OverflowError as exc:  # rolled back above: a number SQLite cannot hold
                raise InvalidInput(f"{self._name}: {exc}") from None
            except UnicodeEncodeError as exc:  # rolled back above
                raise InvalidInput(
                    f"{self._name}: text with a lone surrogate (U+{ord(exc.object[exc.start]):04X})"
                    " can be neither stored nor looked up"
                ) from None

    async def close(self) -> None:
        """Checkpoint, close the connection and stop the thread."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None

        def shut() -> None:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    self._conn.close()
                    self._conn = None

        await asyncio.get_running_loop().run_in_executor(executor, shut)
        executor.shutdown(wait=True)
