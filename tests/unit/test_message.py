"""The message entity: constructors, ids and the status machine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contos_messaging import (
    Channel,
    EntityKind,
    IllegalTransition,
    InvalidMessage,
    LinkedEntity,
    MessageStatus,
    UnknownEntityKind,
)
from contos_messaging.domain.message import TRANSITIONS
from tests.factories import email, sms

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
S = MessageStatus


def test_email_gets_a_uuid7_id_and_a_fixed_message_id_header():
    message = email(T0)
    parsed = uuid.UUID(message.id)
    assert parsed.version == 7
    assert int(parsed.hex[:12], 16) == int(T0.timestamp() * 1000)
    assert message.message_id_header == f"<{message.id}@contos.example.com>"
    assert message.transition(S.SENDING, at=T0).message_id_header == message.message_id_header


def test_ids_made_in_one_millisecond_sort_in_creation_order():
    ids = [email(T0).id for _ in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_new_messages_are_draft_or_queued_when_scheduled():
    assert email(T0).status is S.DRAFT
    assert email(T0, scheduled_at=T0 + timedelta(hours=1)).status is S.QUEUED


def test_sms_has_its_channel_and_no_subject():
    message = sms(T0)
    assert message.channel is Channel.SMS
    assert message.subject == ""
    assert message.html is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "a\r\nBcc: x"}, "subject"),
        ({"text": ""}, "body"),
        ({"subject": "x" * 999}, "subject"),
    ],
)
def test_invalid_email_content_names_the_field(kwargs, field):
    with pytest.raises(InvalidMessage) as info:
        email(T0, **kwargs)
    assert info.value.field == field


def test_naive_datetimes_are_rejected():
    with pytest.raises(InvalidMessage, match="time zone"):
        email(datetime(2026, 1, 1))


def test_every_allowed_transition_works_and_every_other_raises():
    for current in S:
        for target in S:
            message = email(T0)
            object.__setattr__(message, "status", current)
            if target in TRANSITIONS[current]:
                assert message.transition(target, at=T0).status is target
            else:
                with pytest.raises(IllegalTransition) as info:
                    message.transition(target, at=T0)
                assert (info.value.current, info.value.requested) == (current.value, target.value)


def test_sending_counts_attempts_and_deferral_keeps_the_retry_time():
    message = email(T0).transition(S.SENDING, at=T0)
    assert message.attempts == 1
    retry = T0 + timedelta(minutes=5)
    deferred = message.transition(S.DEFERRED, at=T0, next_attempt_at=retry)
    assert deferred.next_attempt_at == retry
    assert deferred.transition(S.SENDING, at=retry).next_attempt_at is None


def test_final_statuses():
    assert {s for s in S if s.is_final} == {
        S.SENT,
        S.PARTIALLY_SENT,
        S.FAILED,
        S.EXPIRED,
        S.CANCELLED,
        S.DELIVERED,
        S.UNDELIVERED,
    }


def test_links_are_deduplicated_and_the_key_scope_is_the_first_client():
    message = email(
        T0,
        links=(
            LinkedEntity.order("O-1"),
            LinkedEntity.client("C-9"),
            LinkedEntity.client("C-9"),
            LinkedEntity.client("C-3"),
        ),
    )
    assert len(message.links) == 3
    assert message.key_scope == "C-9"
    assert email(T0, links=()).key_scope == ""


def test_named_constructors_and_host_kinds():
    assert LinkedEntity.amendment("D-1") == LinkedEntity("amendment", "D-1")
    assert LinkedEntity.statement("V-1").key == "statement:V-1"
    with pytest.raises(UnknownEntityKind):
        LinkedEntity("invoice_x", "1")
    EntityKind.register("invoice_x")
    assert LinkedEntity("invoice_x", "1").kind == "invoice_x"
    assert "invoice_x" in EntityKind.all()
