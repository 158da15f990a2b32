"""Composition root: settings and adapters in, a wired messenger out. No I/O at import."""

from __future__ import annotations

from contos_messaging.adapters.clock import SystemClock
from contos_messaging.adapters.memory.context import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.adapters.permissions import ActorPermissionPolicy
from contos_messaging.domain.addresses import EmailAddress
from contos_messaging.ports import (
    AddressBook,
    BlobStore,
    Clock,
    ContextProvider,
    EmailTransport,
    KeyStore,
    MessageRepository,
    PermissionPolicy,
    SearchIndex,
    SmsTransport,
)
from contos_messaging.services.messenger import AsyncMessenger
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["wire"]


def wire(
    *,
    company_sender: EmailAddress | str | None = None,
    settings: MessengerSettings | None = None,
    repository: MessageRepository,
    blobs: BlobStore,
    search: SearchIndex,
    keys: KeyStore,
    email_transport: EmailTransport | None = None,
    sms_transport: SmsTransport | None = None,
    address_book: AddressBook | None = None,
    context: ContextProvider | None = None,
    permissions: PermissionPolicy | None = None,
    clock: Clock | None = None,
) -> AsyncMessenger:
    """Build an :class:`AsyncMessenger` from adapters.

    Give either ``settings`` or ``company_sender``. Omitted optional ports get defaults: the
    actor-permission policy, the system clock and an empty address book / context provider.
    """
    if settings is None:
        if company_sender is None:
            raise TypeError("wire() needs settings= or company_sender=")
        settings = MessengerSettings(company_sender=company_sender)
    ports = Ports(
        repository=repository,
        blobs=blobs,
        search=search,
        keys=keys,
        email_transport=email_transport,
        sms_transport=sms_transport,
        permissions=permissions or ActorPermissionPolicy(),
        address_book=address_book or InMemoryAddressBook(),
        context=context or InMemoryContextProvider(),
        clock=clock or SystemClock(),
    )
    return AsyncMessenger(ports, settings)
