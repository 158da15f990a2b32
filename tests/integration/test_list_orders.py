"""The communication list ordered by scheduled and sent time and by status, bounded by scheduled
and sent dates, paged by keyset cursors (issue 16, item 3, second part): on the fakes and on
the embedded store alike, through the facade; search refuses what its index cannot do; a store
of an earlier version learns when its messages were sent."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    InvalidInput,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
)
from contos_messaging.testing import RecordingEmailTransport, Refusal
from tests.integration.conftest import MASTER_KEY

ADMIN = Actor.system()
C1 = LinkedEntity.client("C-1")


async def _window(messenger, clock):
    """later (scheduled in 2 days), soon (in 1 day), first-sent, then-sent, draft."""
    made = {}
    for name, days in [("later", 2), ("soon", 1), ("first-sent", None), ("then-sent", None)]:
        clock.advance(timedelta(minutes=1))
        made[name] = await messenger.compose_email(
            ADMIN, to="jan@example.com", subject=name, text="provize", links=[C1],
            scheduled_at=None if days is None else clock.now() + timedelta(days=days),
        )  # fmt: skip
    for name in ("first-sent", "then-sent"):
        clock.advance(timedelta(minutes=5))
        report = await messenger.send(ADMIN, [made[name].id])
        assert report.sent == (made[name].id,)
    clock.advance(timedelta(minutes=1))
    made["draft"] = await messenger.compose_email(
        ADMIN, to="jan@example.com", subject="draft", text="provize", links=[C1]
    )
    return made


def _names(page, made):
    by_id = {m.id: name for name, m in made.items()}
    return [by_id[m.id] for m in page]


async def test_the_list_orders_by_scheduled_and_sent_time_and_status(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    made = await _window(messenger, clock)
    assert _names(await messenger.messages(order="scheduled"), made) == [
        "soon", "later", "first-sent", "then-sent", "draft",
    ]  # fmt: skip
    assert _names(await messenger.messages(order="-sent"), made)[:2] == ["then-sent", "first-sent"]
    assert _names(await messenger.messages(order="status"), made) == [
        "draft", "soon", "later", "then-sent", "first-sent",
    ]  # fmt: skip
    sent = await messenger.get(made["then-sent"].id)
    assert sent.sent_at == made["draft"].created_at - timedelta(minutes=1)
    since = sent.sent_at
    assert _names(await messenger.messages(sent_since=since), made) == ["then-sent"]
    tomorrow = clock.now() + timedelta(days=1)
    later = await messenger.messages(scheduled_since=tomorrow - timedelta(minutes=5))
    assert _names(later, made) == ["later"]
    assert _names(await messenger.messages(scheduled_until=tomorrow), made) == ["soon"]


async def test_keyset_pages_walk_the_whole_list(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    made = await _window(messenger, clock)
    for order in ("newest", "-scheduled", "sent", "-status"):
        page = await messenger.messages(order=order, limit=2)
        walked = list(page)
        while page.next_after is not None:
            page = await messenger.messages(order=order, limit=2, after=page.next_after)
            walked += list(page)
        everything = await messenger.messages(order=order)
        assert [m.id for m in walked] == [m.id for m in everything], order
        assert len(walked) == len(made) == page.offset + len(page)


async def test_search_refuses_what_its_index_cannot_order_or_filter(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    await _window(messenger, clock)
    for filters, words in [
        ({"order": "-sent"}, "search orders by 'relevance', 'newest' or 'oldest', not '-sent'"),
        ({"sent_since": clock.now()}, "search does not filter by sent_since"),
        ({"scheduled_until": clock.now()}, "search does not filter by scheduled_until"),
        ({"after": "x"}, "search pages go by offset"),
    ]:
        with pytest.raises(InvalidInput, match=words):
            await messenger.search("provize", **filters)
    assert (await messenger.search("provize", order="oldest")).total == 5


async def test_queue_takes_filters_not_a_page_cursor(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    await _window(messenger, clock)
    page = await messenger.messages(limit=1)
    with pytest.raises(InvalidInput, match="give the ids of that page instead"):
        await messenger.queue(ADMIN, MessageQuery(after=page.next_after))
    assert (await messenger.status_counts(after=page.next_after))["draft"] == 1


async def test_a_store_of_an_earlier_version_learns_when_its_messages_were_sent(tmp_path, clock):
    store = tmp_path / "store"
    transport = RecordingEmailTransport()

    async def opened() -> AsyncMessenger:
        return await AsyncMessenger.open(
            store, master_key=MASTER_KEY, clock=clock, email_transport=transport,
            company_sender="ContOS <info@contos.example.com>",
        )  # fmt: skip

    async with await opened() as messenger:
        made = await _window(messenger, clock)
        sent_at = (await messenger.get(made["then-sent"].id)).sent_at
        transport.refuse["jan@example.com"] = Refusal(550, "no such user")
        clock.advance(timedelta(minutes=1))
        await messenger.resend(ADMIN, made["then-sent"].id)  # refused: FAILED, once sent
        failed = await messenger.get(made["then-sent"].id)
        assert (failed.status, failed.sent_at) == (MessageStatus.FAILED, sent_at)
    with sqlite3.connect(store / "messages.sqlite") as db:  # as version 0.4 left it
        _undo_migrations(db, since=4)
    db.close()
    async with await opened() as messenger:
        first = await messenger.get(made["first-sent"].id)
        assert first.sent_at is not None
        assert first.sent_at == (await messenger.send_log(first.id))[-1].finished_at
        assert (await messenger.get(made["draft"].id)).sent_at is None
        assert (await messenger.get(made["then-sent"].id)).sent_at == sent_at  # (FAILED now)
        assert _names(await messenger.messages(order="sent", limit=2), made) == [
            "first-sent", "then-sent",
        ]  # fmt: skip


def _undo_migrations(db: sqlite3.Connection, since: int) -> None:
    """Take a database back to schema version ``since``: what each later migration created
    is dropped, newest first (the data it filled in goes with it)."""
    from contos_messaging.adapters.sqlite.schema import MIGRATIONS

    for steps in reversed(MIGRATIONS[since:]):
        for statement in reversed(steps):
            words = statement.split()
            if words[:2] == ["CREATE", "TABLE"]:
                db.execute(f"DROP TABLE {words[2]}")
            elif words[:2] == ["CREATE", "INDEX"]:
                db.execute(f"DROP INDEX {words[2]}")
            elif words[:1] == ["ALTER"] and words[3:5] == ["ADD", "COLUMN"]:
                db.execute(f"ALTER TABLE {words[2]} DROP COLUMN {words[5]}")
    db.execute(f"PRAGMA user_version = {since}")


@pytest.mark.parametrize(
    ("order", "index"),
    [
        ("newest", "messages_created"),
        ("oldest", "messages_created"),
        ("scheduled", "messages_scheduled_up"),
        ("-scheduled", "messages_scheduled_down"),
        ("sent", "messages_sent_up"),
        ("-sent", "messages_sent_down"),
    ],
)
async def test_each_time_order_reads_its_pages_from_an_index(messenger, order, index):
    """The list's SQL and the schema's indexes name the same expressions: a page (and a keyset
    page) is read in index order, with no sort of the whole list."""
    from contos_messaging.adapters.sqlite.listing import after_segments, order_clause
    from contos_messaging.domain.ordering import ORDERINGS

    anchor = tuple(
        "0194f297-c007-7c79-b51f-74028ac434d0" if key.field == "id" else 1
        for key in ORDERINGS[order]
    )
    segments = [(f" WHERE {c}", args, by) for c, args, by in after_segments(order, anchor)]
    with sqlite3.connect(messenger.ports.repository._path) as db:
        for where, values, ordered in [("", [], order_clause(order)), *segments]:
            plan = db.execute(
                f"EXPLAIN QUERY PLAN SELECT m.id FROM messages m{where} {ordered} LIMIT 50",
                values,
            ).fetchall()
            text = " | ".join(row[-1] for row in plan)
            assert f"INDEX {index}" in text, text
            assert "TEMP B-TREE" not in text, text
            if where:  # a keyset page seeks its start in the index, reading nothing before it
                assert text.startswith("SEARCH m USING"), text
                assert "=?" in text or where.count("?") == 1, text  # (its prefix too)
    db.close()


async def test_a_missing_time_sorts_last_even_after_times_before_1970(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    made = {}
    for name, when in [
        ("never", None),
        ("just-before-1970", datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("1960", datetime(1960, 1, 1, tzinfo=UTC)),
    ]:
        clock.advance(timedelta(minutes=1))
        made[name] = await messenger.compose_email(
            ADMIN, to="jan@example.com", subject=name, text="x", scheduled_at=when, links=[C1]
        )
    for order in ("scheduled", "-scheduled"):
        names = _names(await messenger.messages(order=order), made)
        assert names[-1] == "never", (order, names)
    page = await messenger.messages(order="-scheduled", limit=1)
    walked = list(page)
    while page.next_after is not None:
        page = await messenger.messages(order="-scheduled", limit=1, after=page.next_after)
        walked += list(page)
    assert _names(walked, made) == ["just-before-1970", "1960", "never"]
