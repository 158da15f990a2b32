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

from typing import TypedDict, Unpack

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
from contos_messaging.services.settings import MessengerSettings
from contos_messaging.sync import Messenger

__all__ = [
    "FakeParts",
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


class FakeParts(TypedDict, total=False):
    """What a test may give :func:`make_async_test_messenger` (and :func:`make_test_messenger`)
    instead of a fresh fake: ``company_sender`` (default ``ContOS s.r.o.
    <info@contos.example.com>``), ``settings`` (instead of ``company_sender``: limits,
    retries, ...), ``clock`` (default a :class:`ManualClock`), ``address_book``, ``context``,
    ``email_transport``, ``sms_transport``."""

    company_sender: EmailAddress | str
    settings: MessengerSettings | None
    clock: Clock | None
    address_book: InMemoryAddressBook | None
    context: InMemoryContextProvider | None
    email_transport: RecordingEmailTransport | None
    sms_transport: RecordingSmsTransport | None


def make_async_test_messenger(**parts: Unpack[FakeParts]) -> AsyncMessenger:
    """An :class:`AsyncMessenger` on fakes only; reach them through ``messenger.ports``."""
    keys = InMemoryKeyStore()
    return wire(
        company_sender=parts.get("company_sender", "ContOS s.r.o. <info@contos.example.com>"),
        settings=parts.get("settings"),
        repository=InMemoryMessageRepository(keys=keys),
        templates=InMemoryTemplateRepository(),
        blobs=InMemoryBlobStore(),
        search=InMemorySearchIndex(),
        keys=keys,
        email_transport=parts.get("email_transport") or RecordingEmailTransport(),
        sms_transport=parts.get("sms_transport") or RecordingSmsTransport(),
        address_book=parts.get("address_book") or InMemoryAddressBook(),
        context=parts.get("context") or InMemoryContextProvider(),
        clock=parts.get("clock") or ManualClock(),
        renderer=InProcessRenderer(),
    )


def make_test_messenger(**parts: Unpack[FakeParts]) -> Messenger:
    """A blocking :class:`Messenger` on fakes only (see :func:`make_async_test_messenger`)."""
    return Messenger(make_async_test_messenger(**parts))
