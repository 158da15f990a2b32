"""SQLite adapters: the message repository and the key store."""

from contos_messaging.adapters.sqlite.keys import SQLiteKeyStore, load_master_key
from contos_messaging.adapters.sqlite.repository import SQLiteMessageRepository

__all__ = ["SQLiteKeyStore", "SQLiteMessageRepository", "load_master_key"]
