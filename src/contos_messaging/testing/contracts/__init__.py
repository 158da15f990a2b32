"""The port contract suites, for host applications that write their own adapters (as
``trio.testing`` ships its conformance checks). The library runs the same suites against its
fakes and its embedded adapters.

One class per port. Subclass it in your tests under a name pytest collects (``Test...``) and
define its factory, an ``async`` method that gets a fresh empty directory and returns a new
adapter; the suite closes the adapter after each test (``aclose()``), then undoes whatever the
factory pushed on ``self.cleanup`` (an :class:`contextlib.AsyncExitStack`)::

    from contos_messaging.testing.contracts import BlobStoreContract

    class TestS3BlobStore(BlobStoreContract):
        async def make_blob_store(self, directory):
            return await S3BlobStore.open(bucket="contos-test", prefix=directory.name)

Needs pytest and pytest-asyncio (the ``testing`` extra installs both); runs in either of
pytest-asyncio's modes. Transport suites also have hooks that act on the peer (see
:mod:`contos_messaging.testing.contracts.transports`). ``docs/adapters.md`` has the whole
story, with an example that runs.

.. versionadded:: 0.3
"""

from contos_messaging.testing.contracts._base import Contract
from contos_messaging.testing.contracts.blobs import BlobStoreContract
from contos_messaging.testing.contracts.keys import KeyStoreContract
from contos_messaging.testing.contracts.repository import RepositoryContract
from contos_messaging.testing.contracts.search import SearchIndexContract
from contos_messaging.testing.contracts.templates import TemplateRepositoryContract
from contos_messaging.testing.contracts.transports import (
    EmailTransportContract,
    SmsTransportContract,
)

__all__ = [
    "BlobStoreContract",
    "Contract",
    "EmailTransportContract",
    "KeyStoreContract",
    "RepositoryContract",
    "SearchIndexContract",
    "SmsTransportContract",
    "TemplateRepositoryContract",
]
