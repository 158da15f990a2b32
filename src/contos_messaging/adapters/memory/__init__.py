"""In-memory fakes of every port, shipped for unit tests and for host applications' tests."""

from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.memory.blobs import InMemoryBlobStore
from contos_messaging.adapters.memory.context import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.adapters.memory.keys import InMemoryKeyStore
from contos_messaging.adapters.memory.repository import InMemoryMessageRepository
from contos_messaging.adapters.memory.search import InMemorySearchIndex
from contos_messaging.adapters.memory.templates import InMemoryTemplateRepository
from contos_messaging.adapters.memory.transports import (
    RecordingEmailTransport,
    RecordingSmsTransport,
    Refusal,
)

__all__ = [
    "InMemoryAddressBook",
    "InMemoryBlobStore",
    "InMemoryContextProvider",
    "InMemoryKeyStore",
    "InMemoryMessageRepository",
    "InMemorySearchIndex",
    "InMemoryTemplateRepository",
    "ManualClock",
    "RecordingEmailTransport",
    "RecordingSmsTransport",
    "Refusal",
]
