"""For any set of messages (ties in creation time, scheduled or not, sent or not, any status)
and any list order, range and page size: the SQLite repository lists exactly what the
in-memory fake lists, in the same order, and walking the keyset pages gives the same list as
walking by offset, each message once."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contos_messaging.adapters.memory import InMemoryMessageRepository
from contos_messaging.adapters.sqlite import SQLiteKeyStore, SQLiteMessageRepository
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import MessageStatus
from contos_messaging.domain.ordering import list_orders
from contos_messaging.domain.query import MessageQuery
from contos_messaging.testing.contracts._messages import email

S = MessageStatus
T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)

_message = st.tuples(
    st.integers(0, 5),  # created minute (ties likely)
    st.none() | st.integers(0, 9),  # scheduled minute
    st.sampled_from(["keep", "sent", "cancelled"]),
)


def _minutes(value: int | None) -> datetime | None:
    return None if value is None else T0 + timedelta(minutes=value)


async def _fill(repository, specs) -> None:
    for created, scheduled, fate in specs:
        message = email(_minutes(created), scheduled_at=_minutes(scheduled))
        await repository.add([message])
        if fate == "cancelled":
            await repository.update(Update(message.transition(S.CANCELLED, at=T0), message))
        elif fate == "sent":
            sending = message.transition(S.SENDING, at=T0)
            await repository.update(Update(sending, message))
            at = _minutes(created + 3)
            await repository.update(Update(sending.transition(S.SENT, at=at), sending))


async def _walk(repository, query: MessageQuery, by_cursor: bool) -> list[str]:
    ids: list[str] = []
    page = await repository.list_messages(query)
    while True:
        ids += [m.id for m in page.items]
        if not page.has_more:
            assert page.next_after is None
            return ids
        following = {"after": page.next_after} if by_cursor else {"offset": len(ids)}
        page = await repository.list_messages(MessageQuery.of(query, **following))


async def _compare(specs, queries, directory: Path) -> None:
    keys = await SQLiteKeyStore.open(directory / "keys.sqlite", bytes(range(32)))
    stored = await SQLiteMessageRepository.open(directory / "messages.sqlite", keys=keys)
    fake = InMemoryMessageRepository()
    try:
        # The same messages in both (the fake gets the stored ones, ids and all).
        await _fill(stored, specs)
        everything = await stored.list_messages(MessageQuery(limit=500))
        await fake.add(await stored.get_many([m.id for m in everything.items]))
        for query in queries:
            expected = await _walk(fake, query, by_cursor=False)
            assert await _walk(stored, query, by_cursor=False) == expected, query
            assert await _walk(stored, query, by_cursor=True) == expected, query
            assert await _walk(fake, query, by_cursor=True) == expected, query
            assert len(set(expected)) == len(expected)
    finally:
        await stored.aclose()
        await keys.aclose()


_query = st.builds(
    MessageQuery,
    order=st.sampled_from(list_orders()),
    limit=st.integers(1, 4),
    scheduled_since=st.none() | st.integers(0, 9).map(_minutes),
    sent_until=st.none() | st.integers(0, 9).map(_minutes),
    status=st.none() | st.sampled_from(["draft", "queued", "sent", "cancelled"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_message, min_size=0, max_size=9), st.lists(_query, min_size=1, max_size=4))
def test_sqlite_lists_what_the_fake_lists_and_cursors_walk_like_offsets(specs, queries):
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_compare(specs, queries, Path(directory)))
