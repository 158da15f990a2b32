"""Helpers for host applications' tests: a messenger wired entirely on in-memory fakes, the
fakes themselves, and in submodules (imported only when asked for):

- :mod:`contos_messaging.testing.smtp`: ``LocalSMTPServer``, aiosmtpd on loopback over TLS
  (extra ``testing``);
- :mod:`contos_messaging.testing.contracts`: the port contract suites, to run against an
  adapter a host writes itself (needs pytest and pytest-asyncio).

Importing any of them changes no global state (no logging configuration, no event loop).

::

    from contos_messaging import Actor, LinkedEntity
    from contos_messaging.testing import make_test_messenger

    def test_order_confirmation_is_sent():
        with make_test_messenger() as messenger:
            ...  # run host code that uses the messenger
            assert messenger.ports.email_transport.sent  # RecordingEmailTransport
"""

from __future__ import annotations

from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.memory import (
    InMemoryAddressBook,
    InMemoryBlobStore,
    InMemoryContextProvider,
    InMemoryKeyStore,
    InMemoryMessageRepository,
    InMemorySearchIndex,
    InMemoryTemplateRepository,
    RecordingEmailTransport,
    RecordingSmsTransport,
    Refusal,
)
from contos_messaging.adapters.rendering import InProcessRenderer
from contos_messaging.bootstrap import wire
from contos_messaging.domain.addresses import EmailAddress
from contos_messaging.messenger import AsyncMessenger
from contos_messaging.ports import Clock
from contos_messaging.sync import Messenger

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
    "make_async_test_messenger",
    "make_test_messenger",
]


def make_async_test_messenger(
    *,
    company_sender: EmailAddress | str = "ContOS s.r.o. <info@contos.example.com>",
    clock: Clock | None = None,
    address_book: InMemoryAddressBook | None = None,
    context: InMemoryContextProvider | None = None,
    email_transport: RecordingEmailTransport | None = None,
    sms_transport: RecordingSmsTransport | None = None,
) -> AsyncMessenger:
    """An :class:`AsyncMessenger` on fakes only; reach them through ``messenger.ports``."""
    return wire(
        company_sender=company_sender,
        repository=InMemoryMessageRepository(),
        templates=InMemoryTemplateRepository(),
        blobs=InMemoryBlobStore(),
        search=InMemorySearchIndex(),
        keys=InMemoryKeyStore(),
        email_transport=email_transport or RecordingEmailTransport(),
        sms_transport=sms_transport or RecordingSmsTransport(),
        address_book=address_book or InMemoryAddressBook(),
        context=context or InMemoryContextProvider(),
        clock=clock or ManualClock(),
        renderer=InProcessRenderer(),
    )


def make_test_messenger(
    *,
    company_sender: EmailAddress | str = "ContOS s.r.o. <info@contos.example.com>",
    clock: Clock | None = None,
    address_book: InMemoryAddressBook | None = None,
    context: InMemoryContextProvider | None = None,
    email_transport: RecordingEmailTransport | None = None,
    sms_transport: RecordingSmsTransport | None = None,
) -> Messenger:
    """A blocking :class:`Messenger` on fakes only (see :func:`make_async_test_messenger`)."""
    return Messenger(
        make_async_test_messenger(
            company_sender=company_sender,
            clock=clock,
            address_book=address_book,
            context=context,
            email_transport=email_transport,
            sms_transport=sms_transport,
        )
    )
