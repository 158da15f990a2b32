"""The BlobStore contract (shipped in ``contos_messaging.testing.contracts``) on the fake and
on the encrypted file store."""

from __future__ import annotations

from contos_messaging.adapters.filestore import EncryptedFileStore
from contos_messaging.adapters.memory import InMemoryBlobStore
from contos_messaging.testing.contracts import BlobStoreContract
from tests.contract.embedded import open_keys


class TestInMemoryBlobStore(BlobStoreContract):
    async def make_blob_store(self, directory):
        return InMemoryBlobStore()


class TestEncryptedFileStore(BlobStoreContract):
    async def make_blob_store(self, directory):
        keys = await open_keys(self, directory)
        return await EncryptedFileStore.open(directory / "blobs", keys=keys)
