"""The KeyStore contract (shipped in ``contos_messaging.testing.contracts``) on the fake and
on the SQLite key store."""

from __future__ import annotations

from contos_messaging.adapters.memory import InMemoryKeyStore
from contos_messaging.adapters.sqlite import SQLiteKeyStore
from contos_messaging.testing.contracts import KeyStoreContract
from tests.contract.embedded import MASTER


class TestInMemoryKeyStore(KeyStoreContract):
    async def make_key_store(self, directory):
        return InMemoryKeyStore()


class TestSQLiteKeyStore(KeyStoreContract):
    async def make_key_store(self, directory):
        return await SQLiteKeyStore.open(directory / "keys.sqlite", MASTER)
