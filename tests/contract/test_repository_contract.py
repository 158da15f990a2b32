"""The MessageRepository contract, leases and idempotency keys included (shipped in
``contos_messaging.testing.contracts``), on the fake and on the SQLite repository."""

from __future__ import annotations

from contos_messaging.adapters.memory import InMemoryMessageRepository
from contos_messaging.adapters.sqlite import SQLiteMessageRepository
from contos_messaging.testing.contracts import RepositoryContract
from tests.contract.embedded import open_keys


class TestInMemoryMessageRepository(RepositoryContract):
    async def make_repository(self, directory):
        return InMemoryMessageRepository()


class TestSQLiteMessageRepository(RepositoryContract):
    async def make_repository(self, directory):
        keys = await open_keys(self, directory)
        return await SQLiteMessageRepository.open(directory / "messages.sqlite", keys=keys)
