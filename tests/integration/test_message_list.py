"""The communication window's list (issue 16, item 3, first part), on the fakes and on the
embedded store alike: several statuses and channels at once, several linked records (any of
them or all of them), oldest first, the count of all and per status for the tabs; search takes
the same filters; members or their string values everywhere; pages are iterable."""

from __future__ import annotations

from datetime import timedelta

from contos_messaging import (
    Actor,
    Channel,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
)

ADMIN = Actor.system()
C1, C2 = LinkedEntity.client("C-1"), LinkedEntity.client("C-2")
ORDER, STATEMENT = LinkedEntity.order("O-7"), LinkedEntity.statement("V-2026-11")


async def _window(messenger, clock):
    made = {}
    for name, links, scheduled in [
        ("draft-c1-order", [C1, ORDER], False),
        ("queued-c1-statement", [C1, STATEMENT], True),
        ("draft-c2-order-statement", [C2, ORDER, STATEMENT], False),
        ("queued-c2", [C2], True),
    ]:
        clock.advance(timedelta(minutes=1))
        made[name] = await messenger.compose_email(
            ADMIN, to="jan@example.com", subject=f"Zpráva {name}", text="provize za listopad",
            links=links, scheduled_at=clock.now() + timedelta(days=1) if scheduled else None,
        )  # fmt: skip
    clock.advance(timedelta(minutes=1))
    made["sms"] = await messenger.compose_sms(
        ADMIN, to="+420601123456", text="provize odeslány", links=[C1]
    )
    await messenger.wait_indexed()
    return made


def _names(page, made):
    by_id = {m.id: name for name, m in made.items()}
    return [by_id[getattr(item, "message", item).id] for item in page]


async def test_the_list_filters_by_several_values_and_orders_both_ways(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    made = await _window(messenger, clock)
    everything = await messenger.messages()
    assert everything.total == 5
    assert _names(everything, made)[0] == "sms"  # newest first
    oldest = await messenger.messages(order="oldest", limit=2)
    assert _names(oldest, made) == ["draft-c1-order", "queued-c1-statement"]
    assert oldest.total == 5

    drafts_and_queued = await messenger.messages(status=["draft", MessageStatus.QUEUED])
    assert drafts_and_queued.total == 5  # (an SMS composed is a draft too)
    emails = await messenger.messages(channel="email", status=["queued"])
    assert sorted(_names(emails, made)) == ["queued-c1-statement", "queued-c2"]

    either = await messenger.messages(linked=[ORDER, STATEMENT], channel=Channel.EMAIL)
    assert sorted(_names(either, made)) == [
        "draft-c1-order", "draft-c2-order-statement", "queued-c1-statement",
    ]  # fmt: skip
    both = await messenger.messages(MessageQuery(linked=[ORDER, STATEMENT], linked_all=True))
    assert _names(both, made) == ["draft-c2-order-statement"]
    assert _names(await messenger.history(C2, status=["queued"]), made) == ["queued-c2"]

    counts = await messenger.status_counts(linked=C1)
    assert counts[MessageStatus.DRAFT] == 2
    assert counts[MessageStatus.QUEUED] == 1
    assert counts[MessageStatus.SENT] == 0
    assert await messenger.status_counts(status=["draft", "sent"]) == {
        MessageStatus.DRAFT: 3,
        MessageStatus.SENT: 0,
    }


async def test_search_takes_the_same_filters(fakes_or_embedded, clock):
    messenger = fakes_or_embedded
    made = await _window(messenger, clock)
    page = await messenger.search("provize", status=["queued"], linked=[ORDER, STATEMENT])
    assert _names(page, made) == ["queued-c1-statement"]
    assert [hit.message.id for hit in page] == [made["queued-c1-statement"].id]  # (iterable)
    oldest = await messenger.search("provize", order="oldest", channel=["email", "sms"])
    assert _names(oldest, made)[0] == "draft-c1-order"
    assert oldest.total == 5
    both = await messenger.search("provize", linked=[C2, ORDER], linked_all=True)
    assert _names(both, made) == ["draft-c2-order-statement"]
