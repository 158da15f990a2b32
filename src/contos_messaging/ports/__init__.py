"""Ports: the ``typing.Protocol`` interfaces the services depend on. Adapters implement them
without inheriting from them; every adapter of a port passes the port's contract test suite."""

from contos_messaging.ports.blobs import BlobStore
from contos_messaging.ports.clock import Clock
from contos_messaging.ports.context import (
    AddressBook,
    Contact,
    ContactLookup,
    ContextProvider,
    RecordOwners,
)
from contos_messaging.ports.keys import KeyStore
from contos_messaging.ports.permissions import PermissionPolicy
from contos_messaging.ports.rendering import RenderedParts, TemplateRenderer
from contos_messaging.ports.repository import MessageRepository
from contos_messaging.ports.search import (
    CompactionReport,
    SearchDocument,
    SearchHits,
    SearchIndex,
)
from contos_messaging.ports.templates import TemplateRepository
from contos_messaging.ports.transports import (
    DeliveryReport,
    EmailTransport,
    OutgoingEmail,
    SmsTransport,
)

__all__ = [
    "AddressBook",
    "BlobStore",
    "Clock",
    "CompactionReport",
    "Contact",
    "ContactLookup",
    "ContextProvider",
    "DeliveryReport",
    "EmailTransport",
    "KeyStore",
    "MessageRepository",
    "OutgoingEmail",
    "PermissionPolicy",
    "RecordOwners",
    "RenderedParts",
    "SearchDocument",
    "SearchHits",
    "SearchIndex",
    "SmsTransport",
    "TemplateRenderer",
    "TemplateRepository",
]
