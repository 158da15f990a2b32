"""The limits of what a caller composes (``MessengerSettings.limits``), on the fakes and on the
embedded store: a value over its limit raises LimitExceeded naming the setting, nothing is
stored, and raising the limit admits it. Lone surrogates are refused the same way on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    BulkTarget,
    ConfigurationError,
    InvalidArgument,
    InvalidInput,
    LimitExceeded,
    Limits,
    LinkedEntity,
    MessageQuery,
    MessengerSettings,
    Permission,
)
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger
from tests.integration.conftest import MASTER_KEY

C1 = LinkedEntity.client("C-1")
ADMIN = Actor(
    "admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE, Permission.EDIT}
)
SMALL = Limits(
    recipients=3,
    subject_chars=20,
    html_bytes=100,
    text_bytes=50,
    attachments=2,
    attachments_bytes=1_000,
)
SENDER = "ContOS <info@contos.example.com>"


async def _open(
    kind: str, tmp_path: Path, clock: ManualClock, limits: Limits, max_size: int | None
) -> AsyncMessenger:
    settings = MessengerSettings(company_sender=SENDER, limits=limits)
    transport = RecordingEmailTransport(max_message_size=max_size)
    if kind == "fakes":
        return make_async_test_messenger(clock=clock, settings=settings, email_transport=transport)
    return await AsyncMessenger.open(
        tmp_path / "store",
        master_key=MASTER_KEY,
        settings=settings,
        email_transport=transport,
        clock=clock,
    )


@pytest.fixture(params=["fakes", "embedded"])
async def messenger(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[AsyncMessenger]:
    opened = await _open(request.param, tmp_path, clock, SMALL, 4_000)
    try:
        yield opened
    finally:
        await opened.aclose()


async def _nothing_stored(messenger: AsyncMessenger) -> None:
    page = await messenger.ports.repository.list_messages(MessageQuery())
    assert page.total == 0
    assert await messenger.ports.blobs.list_objects() == []


def _emails(n: int) -> list[str]:
    return [f"k{i}@example.com" for i in range(n)]


@pytest.mark.parametrize(
    ("setting", "fields"),
    [
        ("recipients", {"to": _emails(2), "cc": ["c@example.com"], "bcc": ["x@example.com"]}),
        ("subject_chars", {"subject": "Vyúčtování za říjen 2026"}),
        ("html_bytes", {"html": "<p>" + "ž" * 50 + "</p>"}),
        ("text_bytes", {"text": "š" * 26}),
    ],
)
async def test_an_email_over_a_limit_is_refused_naming_the_setting_and_nothing_is_stored(
    messenger, setting, fields
):
    values = {"to": "jan@example.com", "subject": "Dobrý den", "text": "Text"} | fields
    with pytest.raises(LimitExceeded) as info:
        await messenger.compose_email(ADMIN, links=[C1], **values)
    error = info.value
    assert error.setting == setting
    assert error.limit == getattr(SMALL, setting)
    assert error.value > error.limit
    assert f"Limits.{setting}" in str(error)
    await _nothing_stored(messenger)


async def test_attachments_are_limited_by_count_and_by_their_size_as_base64(messenger):
    three = [Attachment.from_bytes(f"{i}.txt", b"x") for i in range(3)]
    with pytest.raises(LimitExceeded) as count:
        await messenger.compose_email(
            ADMIN, to="jan@example.com", subject="S", text="T", attachments=three, links=[C1]
        )
    assert count.value.setting == "attachments"
    # 750 bytes are 1,000 characters of base64 (with line ends, 1,028): over 1,000.
    big = Attachment.from_bytes("smlouva.pdf", b"%PDF" + bytes(746))
    with pytest.raises(LimitExceeded) as size:
        await messenger.compose_email(
            ADMIN, to="jan@example.com", subject="S", text="T", attachments=[big], links=[C1]
        )
    assert (size.value.setting, size.value.value) == ("attachments_bytes", 1_028)
    await _nothing_stored(messenger)
    fits = Attachment.from_bytes("smlouva.pdf", b"%PDF" + bytes(700))
    message = await messenger.compose_email(
        ADMIN, to="jan@example.com", subject="S", text="T", attachments=[fits], links=[C1]
    )
    assert [a.filename for a in (await messenger.get(message.id)).attachments] == ["smlouva.pdf"]


async def test_an_email_larger_than_the_transport_takes_is_refused_when_composed(tmp_path, clock):
    for kind in ("fakes", "embedded"):
        messenger = await _open(kind, tmp_path / kind, clock, Limits(), 20_000)
        try:
            pdf = Attachment.from_bytes("objednávka.pdf", b"%PDF" + bytes(15_000))
            with pytest.raises(LimitExceeded) as info:
                await messenger.compose_email(
                    ADMIN,
                    to="jan@example.com",
                    subject="S",
                    text="T",
                    attachments=[pdf],
                    links=[C1],
                )
            assert info.value.setting == "max_message_size of the e-mail transport"
            assert info.value.limit == 20_000
            assert info.value.value > 20_000  # 15 kB are over 20 kB as base64 with headers
            await _nothing_stored(messenger)
        finally:
            await messenger.aclose()


async def test_raising_a_limit_admits_what_the_default_refuses(tmp_path, clock):
    to = _emails(600)
    for kind in ("fakes", "embedded"):
        default = await _open(kind, tmp_path / kind / "a", clock, Limits(), None)
        raised = await _open(kind, tmp_path / kind / "b", clock, Limits(recipients=600), None)
        try:
            with pytest.raises(LimitExceeded) as info:
                await default.compose_email(ADMIN, to=to, subject="S", text="T", links=[C1])
            assert (info.value.setting, info.value.limit, info.value.value) == (
                "recipients",
                500,
                600,
            )
            message = await raised.compose_email(ADMIN, to=to, subject="S", text="T", links=[C1])
            assert len((await raised.get(message.id)).recipients) == 600
        finally:
            await default.aclose()
            await raised.aclose()


async def test_an_edit_over_a_limit_is_refused_and_the_message_stays_as_it_was(messenger):
    message = await messenger.compose_email(
        ADMIN, to="jan@example.com", subject="S", text="T", links=[C1]
    )
    with pytest.raises(LimitExceeded) as info:
        await messenger.edit(ADMIN, message.id, to=_emails(4))
    assert info.value.setting == "recipients"
    with pytest.raises(LimitExceeded):
        await messenger.edit(ADMIN, message.id, text="x" * 51)
    assert await messenger.get(message.id) == message


async def test_a_template_message_over_a_limit_is_refused_and_bulk_reports_it_per_target(
    messenger,
):
    await messenger.templates.save(ADMIN, "upominka", subject="Upomínka", text="{{ body }}")
    with pytest.raises(LimitExceeded) as info:
        await messenger.compose_from_template(
            ADMIN, "upominka", links=[C1], to="jan@example.com", variables={"body": "x" * 51}
        )
    assert info.value.setting == "text_bytes"
    targets = [
        BulkTarget(
            links=(LinkedEntity.client(f"C-{i}"),),
            to=f"k{i}@example.com",
            variables={"body": "x" * (10 if i % 2 else 60)},
        )
        for i in range(4)
    ]
    report = await messenger.generate_bulk(ADMIN, "upominka", targets)
    assert len(report.created) == 2
    assert [f.index for f in report.failures] == [0, 2]
    assert all(isinstance(f.error, LimitExceeded) for f in report.failures)


@pytest.mark.parametrize("field", ["subject", "html", "text"])
async def test_a_lone_surrogate_is_refused_by_the_fakes_and_the_store_alike(messenger, field):
    values = {"subject": "S", "text": "T"} | {field: "Dobrý den \ud800"}
    with pytest.raises(InvalidArgument, match="lone surrogate") as info:
        await messenger.compose_email(ADMIN, to="jan@example.com", links=[C1], **values)
    assert info.value.parameter == field
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        await messenger.compose_sms(ADMIN, to="+420601123456", text="Kód \udfff", links=[C1])
    for lookup in (
        messenger.get("\ud800"),
        messenger.templates.get("\ud800"),
        messenger.erase_client(ADMIN, "C-\ud800"),
        messenger.send(ADMIN, ["\ud800"]),
    ):
        with pytest.raises(InvalidArgument, match="lone surrogate"):
            await lookup
    await _nothing_stored(messenger)


async def test_a_lone_surrogate_from_a_template_variable_is_refused_in_the_message(messenger):
    await messenger.templates.save(ADMIN, "upominka", subject="Upomínka", text="{{ body }}")
    with pytest.raises(InvalidInput, match="surrogate"):
        await messenger.compose_from_template(
            ADMIN, "upominka", links=[C1], to="jan@example.com", variables={"body": "\ud800"}
        )
    assert (await messenger.ports.repository.list_messages(MessageQuery())).total == 0


@pytest.mark.parametrize(
    "fields",
    [{"recipients": 0}, {"offset": -1}, {"html_bytes": True}, {"subject_chars": 999}],
)
def test_a_limit_must_be_a_positive_whole_number(fields):
    with pytest.raises(ConfigurationError):
        Limits(**fields)


@pytest.mark.parametrize("key", ["{" * 201, ""])
async def test_a_bad_idempotency_key_is_refused_before_any_attachment_is_stored(messenger, key):
    pdf = Attachment.from_bytes("smlouva.pdf", b"%PDF-1.4")
    with pytest.raises(InvalidInput, match="idempotency key"):
        await messenger.compose_email(
            ADMIN, to="jan@example.com", subject="S", text="T", attachments=[pdf],
            links=[C1], idempotency_key=key,
        )  # fmt: skip
    await _nothing_stored(messenger)
