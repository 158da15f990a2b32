"""MessageQuery: one checked value for the list and search filters, defaults in one place."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contos_messaging import (
    Channel,
    InvalidInput,
    LimitExceeded,
    Limits,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
)

C1 = LinkedEntity.client("C-1")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PLUS_5 = timezone(timedelta(hours=5))


def test_channel_and_status_accept_their_string_values():
    query = MessageQuery(channel="sms", status="draft")
    assert (query.channel, query.status) == ((Channel.SMS,), (MessageStatus.DRAFT,))


def test_several_values_are_any_of_them_in_the_enums_order_each_once():
    query = MessageQuery(status=["queued", MessageStatus.DRAFT, "queued"], channel={"sms"})
    assert query.status == (MessageStatus.DRAFT, MessageStatus.QUEUED)
    assert query.channel == (Channel.SMS,)
    order = LinkedEntity.order("O-1")
    linked = MessageQuery(linked=[order, C1, order])
    assert linked.linked == (order, C1)
    values = {
        "channel": Channel.EMAIL, "created_at": T0, "created_by": "jana", "template": None,
    }  # fmt: skip
    for status, expected in ((MessageStatus.QUEUED, True), (MessageStatus.SENT, False)):
        assert query.admits(status=status, links=[], **{**values, "channel": Channel.SMS}) is (
            expected
        )
    draft = {**values, "status": MessageStatus.DRAFT}
    assert linked.admits(links=[C1], **draft)
    assert not MessageQuery(linked=[order, C1], linked_all=True).admits(links=[C1], **draft)
    assert MessageQuery(linked=[order, C1], linked_all=True).admits(links=[C1, order], **draft)


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"channel": "fax"}, "Channel must be one of 'email', 'sms', got 'fax'"),
        ({"status": ["drafty"]}, "MessageStatus must be one of"),
        ({"status": []}, "give 1 to 64 MessageStatus values, got 0"),
        ({"status": 7}, "MessageStatus must be a value, its text or a list of them, got 7"),
        ({"linked": "client:C-1"}, "linked must be a LinkedEntity or a list of them"),
        ({"linked": ["client:C-1"]}, "linked must hold LinkedEntity values"),
        ({"linked_all": "yes"}, "linked_all must be bool or None"),
        ({"created_by": 7}, "created_by must be str or None, got 7"),
        ({"template": b"x"}, "template must be str or None"),
        ({"since": "2026-11-01"}, "since must be datetime or None"),
        ({"since": datetime(2026, 11, 1)}, "since must have a time zone (tzinfo=UTC, for one)"),
        ({"until": datetime.min.replace(tzinfo=PLUS_5)}, "until is out of the range of dates"),
        ({"order": "sideways"}, "order must be one of ('relevance', 'newest', 'oldest', 'sch"),
        ({"limit": 0}, "limit must be at least 1, got 0"),
        ({"limit": -5}, "limit must be at least 1, got -5"),
        ({"limit": -(10**5000)}, "limit must be at least 1, got int"),  # too long to show
        ({"offset": -(10**5000)}, "offset must not be negative, got int"),
        ({"limit": True}, "limit must be a whole number, got True"),
        ({"offset": -1}, "offset must not be negative, got -1"),
        ({"offset": 1.5}, "offset must be a whole number, got 1.5"),
    ],
)
def test_a_bad_value_is_refused_with_its_name_and_value(filters, words):
    with pytest.raises(InvalidInput) as info:
        MessageQuery(**filters)
    assert words in str(info.value)
    with pytest.raises(InvalidInput):  # the keyword form goes through the same checks
        MessageQuery.of(**filters)


def test_dates_are_kept_in_utc_as_the_same_points_in_time():
    local = datetime(2026, 11, 1, 8, 0, tzinfo=PLUS_5)
    query = MessageQuery(since=local, until=datetime.max.replace(tzinfo=UTC))
    assert (query.since, query.since.tzinfo) == (local, UTC)
    assert query.until == datetime.max.replace(tzinfo=UTC)


def test_an_unknown_filter_name_is_refused_and_the_known_ones_listed():
    with pytest.raises(InvalidInput, match="unknown filter 'statuss'; filters: channel, status"):
        MessageQuery.of(statuss="draft")


def test_of_sets_filters_on_a_given_query_and_leaves_it_unchanged():
    base = MessageQuery(channel=Channel.EMAIL, limit=10)
    query = MessageQuery.of(base, status="sent", offset=20)
    assert query == MessageQuery(
        channel=Channel.EMAIL, status=MessageStatus.SENT, limit=10, offset=20
    )
    assert base.status is None
    with pytest.raises(InvalidInput, match="expected a MessageQuery"):
        MessageQuery.of({"channel": "sms"})  # type: ignore[arg-type]


def test_defaults_live_in_the_query():
    query = MessageQuery()
    assert query.page_size(MessageQuery.SEARCH_PAGE) == 20
    assert query.page_size(MessageQuery.LIST_PAGE) == 50
    assert MessageQuery(limit=7).page_size(MessageQuery.LIST_PAGE) == 7
    assert query.ordered("relevance") == "relevance"
    assert MessageQuery(order="newest").ordered("relevance") == "newest"


def test_how_large_and_deep_a_page_may_be_is_the_messengers_limits_to_say():
    query = MessageQuery(limit=5_000, offset=10**10)  # the query itself only checks types
    with pytest.raises(LimitExceeded) as info:
        query.within(Limits())
    assert (info.value.setting, info.value.value, info.value.limit) == ("offset", 10**10, 10_000)
    assert "narrow the filters (a date range" in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).args == info.value.args
    with pytest.raises(LimitExceeded) as info:
        MessageQuery(limit=5_000, offset=10_000).within(Limits())
    assert (info.value.setting, info.value.value, info.value.limit) == ("page_size", 5_000, 1000)
    wide = Limits(offset=10**10, page_size=5_000)
    assert query.within(wide) is query
    assert MessageQuery().within(Limits(page_size=1, offset=1)) == MessageQuery()


def test_a_list_refuses_relevance_order_which_needs_search_text():
    assert MessageQuery(order="newest").for_list().order == "newest"
    with pytest.raises(InvalidInput, match="'relevance' needs search text"):
        MessageQuery(order="relevance").for_list()


def test_a_query_pickles_to_an_equal_query():
    query = MessageQuery(channel="sms", linked=C1, since=T0, template="upominka", limit=5)
    assert pickle.loads(pickle.dumps(query)) == query


_VALUES = {
    "channel": st.sampled_from(Channel),
    "status": st.sampled_from(MessageStatus),
    "links": st.lists(st.sampled_from([C1, LinkedEntity.order("O-1")]), max_size=2),
    "created_at": st.datetimes(timezones=st.just(UTC)),
    "created_by": st.sampled_from(["jana", "petr"]),
    "template": st.sampled_from([None, "upominka", "vyuctovani"]),
}


@given(
    message=st.fixed_dictionaries(_VALUES),
    channel=st.none() | st.sampled_from(Channel),
    status=st.none() | st.sampled_from(MessageStatus),
    linked=st.none() | st.sampled_from([C1, LinkedEntity.order("O-1")]),
    since=st.none() | st.datetimes(timezones=st.just(UTC)),
    until=st.none() | st.datetimes(timezones=st.just(UTC)),
    created_by=st.none() | st.sampled_from(["jana", "petr"]),
    template=st.none() | st.sampled_from(["upominka", "vyuctovani"]),
)
def test_admits_is_the_conjunction_of_every_filter_set(message, **filters):
    query = MessageQuery(**filters)
    expected = all(
        MessageQuery(**{name: value}).admits(**message)
        for name, value in filters.items()
        if value is not None
    )
    assert query.admits(**message) is expected
    assert MessageQuery().admits(**message)


@pytest.mark.parametrize(
    "field", ["channel", "status", "linked", "since", "until", "limit", "offset", "order"]
)
def test_a_deeply_nested_value_is_refused_in_a_few_characters(field):
    value: object = "x"
    for _ in range(5_000):
        value = [value]
    with pytest.raises(InvalidInput) as info:
        MessageQuery(**{field: value})
    assert len(str(info.value)) < 200
