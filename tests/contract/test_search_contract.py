"""Contract of the SearchIndex port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contos_messaging import Channel, LinkedEntity, MessageQuery, MessageStatus
from contos_messaging.ports import SearchDocument

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
C1 = LinkedEntity.client("C-1")


def doc(
    n: int,
    *,
    subject: str = "",
    body: str = "",
    channel: Channel = Channel.EMAIL,
    status: MessageStatus = MessageStatus.SENT,
    links=(C1,),
    by: str = "jana",
    recipients: str = "",
    attachments: str = "",
    template: str = "",
) -> SearchDocument:
    return SearchDocument(
        message_id=f"m{n:03d}",
        channel=channel,
        status=status,
        created_at=T0 + timedelta(hours=n),
        created_by=by,
        links=links,
        subject=subject,
        body=body,
        recipients=recipients,
        attachment_names=attachments,
        template_name=template,
    )


async def ids(search, text: str = "", **filters) -> list[str]:
    return list((await search.search(text, MessageQuery(**filters))).ids)


async def test_diacritics_and_case_are_folded(search):
    await search.upsert([doc(1, subject="Pan Dvořák z Plzně", body="Příloha smlouvy")])
    for text in ("dvorak", "DVOŘÁK", "priloha", "plzne"):
        assert await ids(search, text=text) == ["m001"], text


async def test_a_term_matches_words_starting_with_it(search):
    await search.upsert(
        [doc(1, body="paní Nováková"), doc(2, body="pana Nováka"), doc(3, body="pan Svoboda")]
    )
    assert sorted(await ids(search, text="novák")) == ["m001", "m002"]


async def test_all_terms_must_match(search):
    await search.upsert([doc(1, body="faktura objednávka"), doc(2, body="faktura")])
    assert await ids(search, text="faktura objednavka") == ["m001"]


async def test_recipients_and_attachment_names_are_searchable(search):
    await search.upsert(
        [doc(1, recipients="Jan Novák jan@example.com", attachments="Vyúčtování 2026-11.pdf")]
    )
    assert await ids(search, text="vyuctovani") == ["m001"]
    assert await ids(search, text="novak") == ["m001"]


async def test_filters_channel_status_link_dates_creator(search):
    await search.upsert(
        [
            doc(1, body="termín", channel=Channel.SMS),
            doc(2, body="termín", status=MessageStatus.FAILED, by="petr"),
            doc(3, body="termín", links=(LinkedEntity.order("O-7"),)),
        ]
    )
    assert await ids(search, text="termin", channel=Channel.SMS) == ["m001"]
    assert await ids(search, text="termin", status=MessageStatus.FAILED) == ["m002"]
    assert await ids(search, text="termin", linked=LinkedEntity.order("O-7")) == ["m003"]
    assert await ids(search, text="termin", created_by="petr") == ["m002"]
    assert sorted(await ids(search, text="termin", since=T0 + timedelta(hours=2))) == [
        "m002",
        "m003",
    ]
    assert await ids(search, text="termin", until=T0 + timedelta(hours=2)) == ["m001"]


async def test_channel_and_status_filters_whichever_value_most_messages_have(search):
    # Most messages e-mail and SENT, a few otherwise; one SMS replaced by an e-mail and one
    # deleted, so that counts of old versions linger in the index until it merges.
    docs = [doc(n, body="termín") for n in range(1, 9)]
    docs += [doc(9, body="termín", channel=Channel.SMS, status=MessageStatus.FAILED)]
    docs += [doc(10, body="termín", channel=Channel.SMS, status=MessageStatus.QUEUED)]
    docs += [doc(11, body="termín", channel=Channel.SMS)]
    await search.upsert(docs)
    await search.upsert([doc(10, body="termín", status=MessageStatus.QUEUED)])
    await search.delete(["m011"])
    emails = sorted(await ids(search, text="termin", channel=Channel.EMAIL, limit=50))
    assert emails == [f"m{n:03d}" for n in [*range(1, 9), 10]]
    assert await ids(search, text="termin", channel=Channel.SMS) == ["m009"]
    sent = await search.search("", MessageQuery(status=MessageStatus.SENT, limit=50))
    assert sorted(sent.ids) == [f"m{n:03d}" for n in range(1, 9)]
    assert sent.total == 8
    assert await ids(search, text="", status=MessageStatus.DRAFT) == []
    assert await ids(search, channel=Channel.EMAIL, status=MessageStatus.QUEUED) == ["m010"]
    assert await ids(search, text="nic", channel=Channel.EMAIL) == []


async def test_template_filter_matches_the_template_name_exactly(search):
    await search.upsert(
        [
            doc(1, body="provize", template="vyuctovani"),
            doc(2, body="provize", template="vyuctovani-sms"),
            doc(3, body="provize"),
        ]
    )
    assert await ids(search, "provize", template="vyuctovani") == ["m001"]
    assert await ids(search, template="vyuctovani-sms") == ["m002"]
    assert await ids(search, "provize", template="vyuct") == []


async def test_the_search_page_default_and_an_offset_past_the_end(search):
    await search.upsert([doc(n, body="provize") for n in range(1, MessageQuery.SEARCH_PAGE + 3)])
    hits = await search.search("provize", MessageQuery())
    assert (len(hits.ids), hits.total) == (MessageQuery.SEARCH_PAGE, MessageQuery.SEARCH_PAGE + 2)
    far = await search.search("provize", MessageQuery(offset=10**6))
    assert (far.ids, far.total) == ((), MessageQuery.SEARCH_PAGE + 2)


async def test_newest_order_and_pagination_with_total(search):
    await search.upsert([doc(n, body="provize") for n in range(1, 8)])
    hits = await search.search("provize", MessageQuery(order="newest", limit=3, offset=3))
    assert hits.total == 7
    assert list(hits.ids) == ["m004", "m003", "m002"]


async def test_upsert_replaces_and_delete_removes(search):
    await search.upsert([doc(1, body="staré")])
    await search.upsert([doc(1, body="nové")])
    assert await ids(search, text="stare") == []
    assert await ids(search, text="nove") == ["m001"]
    assert await search.count() == 1
    await search.delete(["m001", "m999"])
    assert await search.count() == 0


@pytest.mark.parametrize(
    "text", ['"', "a:b", "(((", "AND", "1 500 + DPH", "č. 2024/0815", "*", "-"]
)
async def test_odd_user_input_never_raises(search, text):
    await search.upsert([doc(1, body="faktura č. 2024/0815 za 1 500 Kč + DPH")])
    hits = await search.search(text, MessageQuery())
    assert hits.total == len(hits.ids)


async def test_empty_text_lists_everything_matching_the_filters(search):
    await search.upsert([doc(1, body="a"), doc(2, body="b", channel=Channel.SMS)])
    assert await ids(search, text="", channel=Channel.EMAIL) == ["m001"]


async def test_ids_and_clear(search):
    await search.upsert([doc(1, body="a"), doc(2, body="b")])
    assert await search.ids() == {"m001", "m002"}
    await search.clear()
    assert await search.count() == 0
    assert await search.ids() == set()


async def test_quoted_phrases_need_the_words_in_order(search):
    await search.upsert([doc(1, body="pan Jan Novák podepsal"), doc(2, body="Novák Jan podepsal")])
    assert await ids(search, text='"jan novak"') == ["m001"]
    assert sorted(await ids(search, text="jan novak")) == ["m001", "m002"]
    assert sorted(await ids(search, text='"novak"')) == ["m001", "m002"]


async def test_add_indexes_new_documents_and_upsert_replaces_them(search):
    await search.add([doc(1, body="nová smlouva"), doc(2, body="provize")])
    assert await ids(search, text="smlouva") == ["m001"]
    await search.upsert([doc(1, body="dodatek")])
    assert await ids(search, text="smlouva") == []
    assert await ids(search, text="dodatek") == ["m001"]
    assert await search.count() == 2


FOOTER = "Fakturační údaje: ContOS s.r.o., Plzeň"


async def test_a_word_every_message_holds_matches_every_message(search):
    await search.upsert(
        [
            doc(1, body=f"faktura, splatnost 14 dní. {FOOTER}"),
            doc(2, body=f"faktura za říjen. {FOOTER}"),
            doc(3, body=f"splatnost prodloužena. {FOOTER}", channel=Channel.SMS),
            doc(4, body=FOOTER),
        ]
    )
    everything = await search.search("contos", MessageQuery(limit=50))
    assert sorted(everything.ids) == ["m001", "m002", "m003", "m004"]
    assert everything.total == 4
    assert sorted(await ids(search, text="contos splatnost")) == ["m001", "m003"]
    # "faktura" also starts "fakturační", which every message holds: the word matches them all
    # and ranks the one that says "faktura" first.
    assert await ids(search, text="faktura splatnost") == ["m001", "m003"]
    assert await ids(search, text="plzen splatnost", channel=Channel.SMS) == ["m003"]
    newest = await search.search("contos", MessageQuery(order="newest", limit=2, offset=1))
    assert (list(newest.ids), newest.total) == (["m003", "m002"], 4)


async def test_a_word_is_not_taken_as_in_every_message_because_of_replaced_ones(search):
    # Replaced and deleted versions still count in an index's word statistics until it merges:
    # below "contos" is in 2 of the 4 live documents and in more documents than are live.
    live = [doc(1, body="ContOS splatnost"), doc(2, body="ContOS"), doc(3, body="splatnost")]
    await search.upsert([*live, doc(4, body="jiná zpráva")])
    for _ in range(3):
        await search.upsert(live[:2])
    await search.upsert([doc(5, body="ContOS"), doc(6, body="ContOS")])
    await search.delete(["m005", "m006"])
    assert sorted(await ids(search, text="contos")) == ["m001", "m002"]
    assert await ids(search, text="contos splatnost") == ["m001"]
    assert await ids(search, text="splatnost contos", channel=Channel.EMAIL) == ["m001"]


async def test_a_phrase_ignores_punctuation_and_case_between_its_words_and_keeps_repeats(search):
    await search.upsert(
        [
            doc(1, body="Celkem: 1 500 Kč, splatnost – 14 dní."),
            doc(2, body="tak a tak"),
            doc(3, body="tak a jinak tak"),
            doc(4, subject="Splatnost", body="14 dní"),
        ]
    )
    assert await ids(search, text='"1 500 kc"') == ["m001"]
    # Subject, body and the other searched parts follow each other, as in one text.
    assert sorted(await ids(search, text='"SPLATNOST 14"')) == ["m001", "m004"]
    assert await ids(search, text='"tak a tak"') == ["m002"]
    assert sorted(await ids(search, text='"a tak"')) == ["m002"]
    assert sorted(await ids(search, text='"jinak tak"')) == ["m003"]


async def test_a_bulk_batch_finds_what_any_other_batch_finds(search):
    docs = [doc(n, body=f"zpráva {n}: komisní smlouva č. {n}") for n in range(1, 151)]
    await search.add(docs[:140], bulk=True)
    await search.upsert(docs[140:], bulk=True)
    await search.upsert([doc(7, body="rámcová smlouva")], bulk=True)
    assert (await search.search('"komisni smlouva"', MessageQuery(limit=1))).total == 149
    assert await ids(search, text='"ramcova smlouva"') == ["m007"]
    assert await ids(search, text='"smlouva c 150"') == ["m150"]
    assert await ids(search, text="zprava 42") == ["m042"]
