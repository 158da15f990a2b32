"""The embedded adapters' helpers the contract subclasses share."""

from __future__ import annotations

from pathlib import Path

from contos_messaging.adapters.sqlite import SQLiteKeyStore
from contos_messaging.testing.contracts import Contract

MASTER = bytes(range(32))


async def open_keys(contract: Contract, directory: Path) -> SQLiteKeyStore:
    """A key store the adapter under test seals with, closed after it."""
    keys = await SQLiteKeyStore.open(directory / "keys.sqlite", MASTER)
    contract.cleanup.push_async_callback(keys.aclose)
    return keys
