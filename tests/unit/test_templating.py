"""Templates through the facade on fakes: versions, languages, variables, compose, bulk."""

from __future__ import annotations

import datetime as dt
import html
from datetime import timedelta

import pytest

from contos_messaging import (
    Actor,
    BulkTarget,
    Channel,
    Contact,
    InvalidMessage,
    LinkedEntity,
    MessageStatus,
    Permission,
    PermissionDenied,
    TemplateError,
    TemplateNotFound,
)
from contos_messaging.testing import (
    InMemoryAddressBook,
    InMemoryContextProvider,
    make_async_test_messenger,
)

NBSP = "\u00a0"
ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})
ORDER_HTML = (
    "<p>{{ client.last_name|salutation }},</p>\n"
    "<p>objednávka {{ order.number }} ze dne {{ order.date|date_cz }} na {{ order.total|money }}"
    " obsahuje {{ order.item_count|plural('položku', 'položky', 'položek') }}.</p>"
)


def client(n: int) -> LinkedEntity:
    return LinkedEntity.client(f"C-{n}")


def order(n: int) -> LinkedEntity:
    return LinkedEntity.order(f"O-{n}")


@pytest.fixture
def context() -> InMemoryContextProvider:
    provider = InMemoryContextProvider()
    for n in range(1, 21):
        provider.add(
            client(n), {"first_name": "Jan", "last_name": "Novák" if n % 2 else "Nováková"}
        )
        provider.add(
            order(n),
            {
                "number": f"O-{n}",
                "date": dt.date(2026, 11, 28),
                "total": 1234.5 * n,
                "item_count": n,
            },
        )
    return provider


@pytest.fixture
def book() -> InMemoryAddressBook:
    contacts = InMemoryAddressBook()
    for n in range(1, 21):
        contacts.add(
            client(n), Contact(f"Klient {n}", email=f"klient{n}@example.com", phone="601 123 456")
        )
    contacts.add(client(13), Contact("Bez adresy"))
    return contacts


@pytest.fixture
async def messenger(clock, context, book):
    async with make_async_test_messenger(clock=clock, context=context, address_book=book) as m:
        await m.templates.save(
            ADMIN, "order-confirmation", subject="Objednávka {{ order.number }}", html=ORDER_HTML
        )
        yield m


async def test_save_makes_versions_and_lists_variables(messenger):
    first = await messenger.templates.get("order-confirmation")
    assert first.version == 1
    assert first.variables == frozenset({"client", "order"})
    second = await messenger.templates.save(
        ADMIN, "order-confirmation", subject="Nová verze", html="<p>{{ order.number }}</p>"
    )
    assert second.version == 2
    assert (await messenger.templates.get("order-confirmation", version=1)).html == ORDER_HTML
    assert await messenger.templates.variables("order-confirmation") == frozenset({"order"})
    assert [t.name for t in await messenger.templates.list()] == ["order-confirmation"]


async def test_a_syntax_error_is_refused_at_save_and_nothing_is_stored(messenger):
    with pytest.raises(TemplateError) as info:
        await messenger.templates.save(ADMIN, "broken", subject="S", html="<p>\n{% if %}</p>")
    assert (info.value.part, info.value.line) == ("html", 2)
    with pytest.raises(TemplateNotFound):
        await messenger.templates.get("broken")


async def test_saving_needs_the_permission(messenger, clerk):
    with pytest.raises(PermissionDenied):
        await messenger.templates.save(clerk, "x", subject="S", html="<p>x</p>")


async def test_language_variants_fall_back_to_the_default(messenger):
    await messenger.templates.save(
        ADMIN,
        "order-confirmation",
        language="en",
        subject="Order {{ order.number }}",
        html="<p>Hello</p>",
    )
    assert (await messenger.templates.get("order-confirmation", language="en")).subject.startswith(
        "Order"
    )
    fallback = await messenger.templates.get("order-confirmation", language="de")
    assert fallback.language == "cs"


async def test_retire_hides_the_template(messenger):
    assert await messenger.templates.retire(ADMIN, "order-confirmation") == 1
    with pytest.raises(TemplateNotFound):
        await messenger.templates.get("order-confirmation")
    with pytest.raises(TemplateNotFound):
        await messenger.templates.retire(ADMIN, "nothing-like-it")


async def test_preview_renders_from_linked_records_without_storing(messenger):
    preview = await messenger.templates.preview("order-confirmation", links=[client(1), order(2)])
    assert preview.subject == "Objednávka O-2"
    assert "Vážený pane Nováku" in preview.html
    assert f"2{NBSP}469,00{NBSP}Kč" in html.unescape(preview.html)  # (as &nbsp; when sanitised)
    assert "2 položky" in preview.html
    assert "28. 11. 2026" in preview.plain_text
    assert (await messenger.history(client(1))).total == 0


async def test_explicit_variables_win_over_linked_records(messenger):
    preview = await messenger.templates.preview(
        "order-confirmation",
        {"order": {"number": "RUČNĚ", "date": "2026-01-02", "total": 1, "item_count": 5}},
        links=[client(2), order(2)],
    )
    assert preview.subject == "Objednávka RUČNĚ"
    assert "Vážená paní Nováková" in preview.html
    assert "5 položek" in preview.html


async def test_compose_from_template_takes_the_recipient_from_the_address_book(messenger, clerk):
    message = await messenger.compose_from_template(
        clerk, "order-confirmation", links=[client(3), order(3)]
    )
    assert [(a.display_name, a.addr_spec) for a in message.recipients.to] == [
        ("Klient 3", "klient3@example.com")
    ]
    assert (message.template.name, message.template.version) == ("order-confirmation", 1)
    assert message.subject == "Objednávka O-3"
    assert message.text is None
    assert "Vážený pane Nováku" in message.body_text  # the generated plain-text alternative
    assert (await messenger.get(message.id)).html == message.html
    assert [m.id for m in (await messenger.history(order(3))).items] == [message.id]


async def test_compose_from_template_reports_render_errors(messenger, clerk):
    with pytest.raises(TemplateError) as info:
        await messenger.compose_from_template(
            clerk, "order-confirmation", links=[client(3)], to="x@example.com"
        )
    assert info.value.variable == "order"
    with pytest.raises(InvalidMessage, match="no e-mail address"):
        await messenger.compose_from_template(
            clerk, "order-confirmation", links=[client(13), order(13)]
        )


async def test_sms_templates(messenger, clerk):
    await messenger.templates.save(
        ADMIN, "ready", channel=Channel.SMS, text="Objednávka {{ order.number }} je připravena."
    )
    sms = await messenger.compose_from_template(clerk, "ready", links=[client(4), order(4)])
    assert sms.channel is Channel.SMS
    assert sms.text == "Objednávka O-4 je připravena."
    assert sms.recipients.envelope == ("+420601123456",)


async def test_bulk_stores_queued_messages_reports_progress_and_failures(messenger, clerk, clock):
    seen = []
    targets = [BulkTarget(links=[client(n), order(n)]) for n in range(1, 21)]
    targets[4] = BulkTarget(links=[client(5)])  # no order: the template fails
    targets.append(BulkTarget(links=[client(1), order(1)], to="not an address"))
    when = clock.now() + timedelta(days=1)
    report = await messenger.generate_bulk(
        clerk,
        "order-confirmation",
        targets,
        scheduled_at=when,
        batch_size=7,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.total == 21
    assert [f.index for f in report.failures] == [4, 12, 20]
    assert isinstance(report.failures[0].error, TemplateError)
    assert "no e-mail address" in report.failures[1].reason
    assert "not an address" in report.failures[2].reason
    assert len(report.created) == 18
    assert seen == [(7, 21), (14, 21), (21, 21)]
    stored = await messenger.get(report.created[0])
    assert stored.status is MessageStatus.QUEUED
    assert stored.scheduled_at == when
    assert stored.template.name == "order-confirmation"
    assert (await messenger.history(order(20))).items[0].subject == "Objednávka O-20"
    assert await messenger.ports.repository.due(when) != []
