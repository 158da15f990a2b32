"""The list and search filters through the facade, on the fakes and on the embedded store: the
same MessageQuery gives the same messages on both."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    InvalidInput,
    LinkedEntity,
    MessageQuery,
    Permission,
)
from contos_messaging.adapters.clock import ManualClock

C1 = LinkedEntity.client("C-1")
ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})


@pytest.fixture
def messenger(fakes_or_embedded: AsyncMessenger) -> AsyncMessenger:
    return fakes_or_embedded


async def _compose(messenger: AsyncMessenger, clock: ManualClock) -> dict[str, str]:
    await messenger.templates.save(
        ADMIN, "upominka", subject="Upomínka {{ n }}", text="Splatnost faktury {{ n }}"
    )
    ids = {}
    for n in range(3):
        clock.advance(60)
        made = await messenger.compose_from_template(
            ADMIN, "upominka", to="jan@example.com", links=[C1], variables={"n": n}
        )
        ids[f"t{n}"] = made.id
    clock.advance(60)
    ids["hand"] = (
        await messenger.compose_email(
            ADMIN, to="jan@example.com", subject="Splatnost", text="faktury", links=[C1]
        )
    ).id
    return ids


async def test_history_and_search_filter_by_template(messenger, clock):
    ids = await _compose(messenger, clock)
    history = await messenger.history(C1, template="upominka")
    assert [m.id for m in history.items] == [ids["t2"], ids["t1"], ids["t0"]]
    assert history.total == 3
    found = await messenger.search("splatnost faktury", template="upominka", order="newest")
    assert [hit.message.id for hit in found.hits] == [ids["t2"], ids["t1"], ids["t0"]]
    everything = await messenger.search("splatnost faktury")
    assert {hit.message.id for hit in everything.hits} == set(ids.values())
    # A search page is a Page of hits: it iterates as a history page does.
    assert [hit.message.id for hit in found] == [m.id for m in history]
    assert len(found) == len(history) == 3


async def test_a_query_object_and_keywords_combine_the_keywords_winning(messenger, clock):
    ids = await _compose(messenger, clock)
    base = MessageQuery(template="upominka", limit=2)
    page = await messenger.history(C1, base, offset=1)
    assert ([m.id for m in page.items], page.limit, page.offset) == ([ids["t1"], ids["t0"]], 2, 1)
    page = await messenger.history(C1, base, limit=1)
    assert [m.id for m in page.items] == [ids["t2"]]
    hits = await messenger.search("splatnost", base, channel="email")
    assert (len(hits.hits), hits.total, hits.limit) == (2, 3, 2)


async def test_defaults_are_the_querys_page_sizes(messenger, clock):
    await _compose(messenger, clock)
    assert (await messenger.history(C1)).limit == MessageQuery.LIST_PAGE
    assert (await messenger.search("splatnost")).limit == MessageQuery.SEARCH_PAGE


async def test_bad_filters_are_refused_before_anything_runs(messenger, clock):
    await _compose(messenger, clock)
    with pytest.raises(InvalidInput, match="'relevance' needs search text"):
        await messenger.history(C1, order="relevance")
    with pytest.raises(InvalidInput, match="sort is not a parameter"):
        await messenger.history(C1, sort="newest")  # type: ignore[call-arg]
    with pytest.raises(InvalidInput, match="order takes"):
        await messenger.search("x", order="subject")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="query takes MessageQuery"):
        await messenger.search("x", {"limit": 5})  # type: ignore[arg-type]
