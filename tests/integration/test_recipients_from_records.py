"""Recipients from any record (issue 16, item 2), on the embedded store: a message linked only
to an order reaches the order's client and is in the client's history, sealed under the
client's key (so erasing the client erases it); a record can be a recipient beside plain
addresses, for e-mail and SMS, in compose, templates and edit; a missing record is "not found",
a record without an address says so; autocomplete goes through the address book."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Channel,
    Contact,
    InvalidMessage,
    LinkedEntity,
    UsageError,
)
from contos_messaging.testing import InMemoryAddressBook, RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY

NOVAK = LinkedEntity.client("C-1")
DVORAKOVA = LinkedEntity.client("C-2")
ORDER = LinkedEntity.order("O-7")
CONTRACT = LinkedEntity.contract("K-3")
STATEMENT = LinkedEntity.statement("V-2026-10")
ORPHAN = LinkedEntity.order("O-404")  # the host knows no such order
ADMIN = Actor.system()


@pytest.fixture
def book() -> InMemoryAddressBook:
    book = InMemoryAddressBook(
        {
            NOVAK: Contact("Jan Novák", email="jan.novak@example.com", phone="+420601123456"),
            DVORAKOVA: Contact("Eva Dvořáková", email="eva@example.com"),  # (no phone)
        }
    )
    book.own(ORDER, NOVAK)
    book.own(CONTRACT, NOVAK)
    book.own(STATEMENT, DVORAKOVA)
    return book


@pytest.fixture
async def messenger(tmp_path, book):
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=RecordingEmailTransport(), address_book=book,
    )  # fmt: skip
    yield messenger
    await messenger.aclose()


async def test_a_message_linked_to_an_order_reaches_its_client_and_is_erased_with_it(messenger):
    message = await messenger.compose_email(
        ADMIN, subject="Potvrzení objednávky", text="Děkujeme.", links=[ORDER]
    )
    assert [str(a) for a in message.recipients.to] == ["Jan Novák <jan.novak@example.com>"]
    assert message.links == (ORDER, NOVAK)
    assert message.key_scope == "C-1"
    assert [m.id for m in await messenger.history(NOVAK)] == [message.id]
    await messenger.templates.save(
        ADMIN, "pripominka", channel=Channel.SMS, text="Dobrý den, připomínáme smlouvu."
    )
    sms = await messenger.compose_from_template(ADMIN, "pripominka", links=[CONTRACT])
    assert [str(n) for n in sms.recipients.numbers] == ["+420601123456"]
    assert await messenger.erase_client(ADMIN, "C-1") == tuple(sorted((message.id, sms.id))) or set(
        await messenger.erase_client(ADMIN, "C-1")
    ) <= {message.id, sms.id}
    assert (await messenger.history(ORDER)).total == 0


async def test_records_are_recipients_beside_plain_addresses(messenger):
    message = await messenger.compose_email(
        ADMIN, to=[ORDER, "ucetni@example.com"], cc=STATEMENT, subject="Vyúčtování",
        text="V příloze.", links=[ORDER, STATEMENT],
    )  # fmt: skip
    assert [a.addr_spec for a in message.recipients.to] == [
        "jan.novak@example.com",
        "ucetni@example.com",
    ]
    assert [a.addr_spec for a in message.recipients.cc] == ["eva@example.com"]
    edited = await messenger.edit(ADMIN, message.id, to=[DVORAKOVA])
    assert [a.addr_spec for a in edited.recipients.to] == ["eva@example.com"]
    sms = await messenger.compose_sms(ADMIN, to=[CONTRACT, "+420 777 000 111"], text="Kód 1234")
    assert [str(n) for n in sms.recipients.numbers] == ["+420601123456", "+420777000111"]


async def test_a_missing_record_is_not_found_and_a_record_without_an_address_says_so(messenger):
    with pytest.raises(InvalidMessage, match=r"order:O-404 is not in the address book \(not"):
        await messenger.compose_email(ADMIN, subject="S", text="T", links=[ORPHAN])
    with pytest.raises(InvalidMessage, match=r"order:O-404 is not in the address book"):
        await messenger.compose_email(ADMIN, to=[ORPHAN], subject="S", text="T")
    with pytest.raises(InvalidMessage, match="client:C-2 has no phone number"):
        await messenger.compose_sms(ADMIN, text="Kód", links=[STATEMENT])
    with pytest.raises(InvalidMessage, match=r"client:C-2 \(of statement:V-2026-10\) has no"):
        await messenger.compose_sms(ADMIN, to=[STATEMENT], text="Kód")
    with pytest.raises(InvalidMessage, match="client:C-9 is not in the address book"):
        await messenger.compose_email(
            ADMIN, subject="S", text="T", links=[LinkedEntity.client("C-9")]
        )
    assert (await messenger.history(NOVAK)).total == 0  # nothing was stored


async def test_autocomplete_goes_through_the_address_book(messenger, tmp_path):
    found = await messenger.lookup_contacts("dvor")
    assert found == [(DVORAKOVA, Contact("Eva Dvořáková", email="eva@example.com"))]
    assert [entity for entity, _ in await messenger.lookup_contacts("jan.")] == [NOVAK]
    assert await messenger.lookup_contacts("nikdo") == []
    with pytest.raises(Exception, match="limit must be 1 to 100"):
        await messenger.lookup_contacts("n", limit=0)

    class PlainBook:
        async def contact(self, entity):
            return None

    plain = await AsyncMessenger.open(
        tmp_path / "other", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        address_book=PlainBook(),
    )  # fmt: skip
    try:
        with pytest.raises(UsageError, match="ContactLookup"):
            await plain.lookup_contacts("nov")
        with pytest.raises(InvalidMessage, match="order:O-7 is not in the address book"):
            await plain.compose_email(ADMIN, subject="S", text="T", links=[ORDER])
    finally:
        await plain.aclose()
