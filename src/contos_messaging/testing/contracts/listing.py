"""Contract of the communication list of the :class:`~contos_messaging.ports.MessageRepository`
port: orders by scheduled / sent time and status, scheduled and sent date ranges, keyset pages
(``after`` / ``Page.next_after``)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.ordering import encode_cursor
from contos_messaging.domain.query import MessageQuery
from contos_messaging.errors import InvalidInput
from contos_messaging.ports import MessageRepository
from contos_messaging.testing.contracts._messages import email

__all__ = ["RepositoryListContract"]

S = MessageStatus
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _sent(repository: MessageRepository, message: Message, at: datetime) -> Message:
    sending = message.transition(S.SENDING, at=at)
    await repository.update(Update(sending, message))
    sent = sending.transition(S.SENT, at=at)
    await repository.update(Update(sent, sending))
    return sent


async def _window(repository: MessageRepository) -> dict[str, Message]:
    """a (draft), b and c (scheduled at +90 and +30 minutes), d and e (sent at +50 and +20)."""
    a = email(_at(1))
    b = email(_at(2), scheduled_at=_at(90))
    c = email(_at(3), scheduled_at=_at(30))
    d, e = email(_at(4)), email(_at(5))
    await repository.add([a, b, c, d, e])
    return {
        "a": a, "b": b, "c": c,
        "d": await _sent(repository, d, _at(50)), "e": await _sent(repository, e, _at(20)),
    }  # fmt: skip


class RepositoryLargePageContract:
    """A page far larger than the facade allows (the port takes any limit); mixed into
    :class:`RepositoryListContract`."""

    async def test_a_page_of_any_size_is_whole(self, repository: MessageRepository) -> None:
        await repository.add([email(_at(0) + timedelta(seconds=i)) for i in range(1200)])
        page = await repository.list_messages(MessageQuery(limit=100_000))
        assert (len(page.items), page.total, page.next_after) == (1200, 1200, None)
        assert len({m.id for m in page.items}) == 1200


class RepositoryListContract(RepositoryLargePageContract):
    """List orders, date ranges and keyset pages; mixed into
    :class:`~contos_messaging.testing.contracts.RepositoryContract`."""

    @pytest.mark.parametrize(
        ("order", "expected"),
        [
            ("newest", "edcba"),
            ("oldest", "abcde"),
            ("scheduled", "cbade"),  # soonest first; the unscheduled after, oldest first
            ("-scheduled", "bceda"),
            ("sent", "edabc"),  # earliest sent first; the unsent after
            ("-sent", "decba"),
            ("status", "acbed"),  # draft, queued, ..., sent; newest first within each
            ("-status", "edcba"),
        ],
    )
    async def test_each_order_sorts_by_its_keys(
        self, repository: MessageRepository, order: str, expected: str
    ) -> None:
        window = _window_names(await _window(repository))
        page = await repository.list_messages(MessageQuery(order=order))  # type: ignore[arg-type]
        assert "".join(window[m.id] for m in page.items) == expected

    async def test_sent_messages_know_when_they_were_sent(
        self, repository: MessageRepository
    ) -> None:
        window = await _window(repository)
        stored = await repository.get(window["d"].id)
        assert (stored.status, stored.sent_at) == (S.SENT, _at(50))
        assert (await repository.get(window["a"].id)).sent_at is None

    async def test_scheduled_and_sent_ranges_bound_their_times(
        self, repository: MessageRepository
    ) -> None:
        window = _window_names(await _window(repository))

        async def names(**filters: datetime) -> str:
            page = await repository.list_messages(MessageQuery.of(order="oldest", **filters))
            return "".join(window[m.id] for m in page.items)

        assert await names(scheduled_since=_at(30)) == "bc"
        assert await names(scheduled_since=_at(31)) == "b"
        assert await names(scheduled_until=_at(90)) == "c"  # until is exclusive
        assert await names(sent_since=_at(20), sent_until=_at(50)) == "e"
        assert await names(sent_until=_at(51)) == "de"
        assert await names(scheduled_since=_at(0), sent_since=_at(0)) == ""

    async def test_keyset_pages_cover_the_list_once_in_order(
        self, repository: MessageRepository
    ) -> None:
        await _window(repository)
        for order in ("newest", "scheduled", "-sent", "status"):
            everything = await repository.list_messages(MessageQuery(order=order))
            seen: list[str] = []
            offsets: list[int] = []
            query = MessageQuery(order=order, limit=2)
            while True:
                page = await repository.list_messages(query)
                offsets.append(page.offset)
                seen += [m.id for m in page.items]
                if page.next_after is None:
                    assert not page.has_more
                    break
                assert page.has_more
                query = MessageQuery(order=order, limit=2, after=page.next_after)
            assert seen == [m.id for m in everything.items], order
            assert offsets == [0, 2, 4]

    async def test_a_message_added_before_the_cursor_moves_nothing_after_it(
        self, repository: MessageRepository
    ) -> None:
        messages = [email(_at(i)) for i in range(6)]
        await repository.add(messages)
        first = await repository.list_messages(MessageQuery(limit=3))
        await repository.add([email(_at(10))])  # newest: before the cursor
        second = await repository.list_messages(MessageQuery(limit=3, after=first.next_after))
        assert [m.id for m in second.items] == [m.id for m in reversed(messages[:3])]
        # (its offset is where the cursor was: 3 when the first page was read)
        assert (second.offset, second.total, second.next_after) == (3, 7, None)
        assert not second.has_more

    async def test_a_bad_cursor_is_refused(self, repository: MessageRepository) -> None:
        await repository.add([email(_at(i)) for i in range(3)])
        page = await repository.list_messages(MessageQuery(limit=1))
        assert page.next_after is not None
        with pytest.raises(InvalidInput, match="cursor of a page in order 'newest'"):
            await repository.list_messages(MessageQuery(order="sent", after=page.next_after))
        forged = [  # the right shape with a value no store holds
            encode_cursor("newest", 1, (10**30, page.items[0].id)),
            encode_cursor("newest", 1, (1, "not-an-id")),
            encode_cursor("newest", 1, (True, page.items[0].id)),
            encode_cursor("newest", -1, (1, page.items[0].id)),
            _raw([["newest"], 0, 1, page.items[0].id]),  # (an order that is not text)
            _raw([{"a": 1}, 0, 1, page.items[0].id]),
        ]
        for bad in (
            "",
            "x",
            page.next_after[:-3],
            "W10",
            "WyJuZXdlc3QiLDEsMl0",
            "é" * 600,
            *forged,
        ):
            with pytest.raises(InvalidInput, match="after must be the next_after"):
                await repository.list_messages(MessageQuery(after=bad))
        with pytest.raises(InvalidInput, match=r"after .* or offset, not both"):
            await repository.list_messages(MessageQuery(after=page.next_after, offset=1))


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _window_names(window: dict[str, Message]) -> dict[str, str]:
    return {message.id: name for name, message in window.items()}
