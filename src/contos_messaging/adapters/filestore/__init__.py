"""The encrypted filesystem blob store."""

from contos_messaging.adapters.filestore.store import EncryptedFileStore

__all__ = ["EncryptedFileStore"]
