"""Contract of the :class:`~contos_messaging.ports.SearchIndex` port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.query import MessageQuery
from contos_messaging.errors import InvalidInput
from contos_messaging.ports import SearchDocument, SearchIndex
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test

T_SEARCH = datetime(2026, 11, 4, tzinfo=UTC)

__all__ = ["SearchIndexContract"]

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
C1 = LinkedEntity.client("C-1")
FOOTER = "Fakturační údaje: ContOS s.r.o., Plzeň"


def doc(
    n: int,
    *,
    subject: str = "",
    body: str = "",
    channel: Channel = Channel.EMAIL,
    status: MessageStatus = MessageStatus.SENT,
    links: tuple[LinkedEntity, ...] = (C1,),
    by: str = "jana",
    recipients: str = "",
    attachments: str = "",
    template: str = "",
) -> SearchDocument:
    """Document ``m<n>`` (``m001``), created ``n`` hours after T0."""
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


async def _ids(search: SearchIndex, text: str = "", **filters: Any) -> list[str]:
    return list((await search.search(text, MessageQuery(**filters))).ids)


class SearchIndexContract(Contract):
    """The behaviour every :class:`~contos_messaging.ports.SearchIndex` keeps. Subclass it as
    ``Test...`` and define :meth:`make_search_index`.

    .. versionadded:: 0.3
    """

    async def make_search_index(self, directory: Path) -> SearchIndex:
        """A new, empty search index."""
        raise not_defined(self, "make_search_index")

    @pytest_asyncio.fixture
    async def search(self, tmp_path: Path) -> AsyncIterator[SearchIndex]:
        """The index under test, closed after the test."""
        async with under_test(self, self.make_search_index, tmp_path) as index:
            yield index

    async def test_diacritics_and_case_are_folded(self, search: SearchIndex) -> None:
        await search.upsert([doc(1, subject="Pan Dvořák z Plzně", body="Příloha smlouvy")])
        for text in ("dvorak", "DVOŘÁK", "priloha", "plzne"):
            assert await _ids(search, text=text) == ["m001"], text

    async def test_a_term_matches_words_starting_with_it(self, search: SearchIndex) -> None:
        await search.upsert(
            [doc(1, body="paní Nováková"), doc(2, body="pana Nováka"), doc(3, body="pan Svoboda")]
        )
        assert sorted(await _ids(search, text="novák")) == ["m001", "m002"]

    async def test_all_terms_must_match(self, search: SearchIndex) -> None:
        await search.upsert([doc(1, body="faktura objednávka"), doc(2, body="faktura")])
        assert await _ids(search, text="faktura objednavka") == ["m001"]

    async def test_recipients_and_attachment_names_are_searchable(
        self, search: SearchIndex
    ) -> None:
        await search.upsert(
            [doc(1, recipients="Jan Novák jan@example.com", attachments="Vyúčtování 2026-11.pdf")]
        )
        assert await _ids(search, text="vyuctovani") == ["m001"]
        assert await _ids(search, text="novak") == ["m001"]

    async def test_filters_channel_status_link_dates_creator(self, search: SearchIndex) -> None:
        await search.upsert(
            [
                doc(1, body="termín", channel=Channel.SMS),
                doc(2, body="termín", status=MessageStatus.FAILED, by="petr"),
                doc(3, body="termín", links=(LinkedEntity.order("O-7"),)),
            ]
        )
        assert await _ids(search, text="termin", channel=Channel.SMS) == ["m001"]
        assert await _ids(search, text="termin", status=MessageStatus.FAILED) == ["m002"]
        assert await _ids(search, text="termin", linked=LinkedEntity.order("O-7")) == ["m003"]
        assert await _ids(search, text="termin", created_by="petr") == ["m002"]
        assert sorted(await _ids(search, text="termin", since=T0 + timedelta(hours=2))) == [
            "m002",
            "m003",
        ]
        assert await _ids(search, text="termin", until=T0 + timedelta(hours=2)) == ["m001"]

    async def test_channel_and_status_filters_whichever_value_most_messages_have(
        self, search: SearchIndex
    ) -> None:
        # Most messages e-mail and SENT, a few otherwise; one SMS replaced by an e-mail and one
        # deleted, so that counts of old versions linger in the index until it merges.
        docs = [doc(n, body="termín") for n in range(1, 9)]
        docs += [doc(9, body="termín", channel=Channel.SMS, status=MessageStatus.FAILED)]
        docs += [doc(10, body="termín", channel=Channel.SMS, status=MessageStatus.QUEUED)]
        docs += [doc(11, body="termín", channel=Channel.SMS)]
        await search.upsert(docs)
        await search.upsert([doc(10, body="termín", status=MessageStatus.QUEUED)])
        await search.delete(["m011"])
        emails = sorted(await _ids(search, text="termin", channel=Channel.EMAIL, limit=50))
        assert emails == [f"m{n:03d}" for n in [*range(1, 9), 10]]
        assert await _ids(search, text="termin", channel=Channel.SMS) == ["m009"]
        sent = await search.search("", MessageQuery(status=MessageStatus.SENT, limit=50))
        assert sorted(sent.ids) == [f"m{n:03d}" for n in range(1, 9)]
        assert sent.total == 8
        assert await _ids(search, text="", status=MessageStatus.DRAFT) == []
        assert await _ids(search, channel=Channel.EMAIL, status=MessageStatus.QUEUED) == ["m010"]
        assert await _ids(search, text="nic", channel=Channel.EMAIL) == []

    async def test_dates_beyond_any_document_bound_nothing_or_everything(
        self, search: SearchIndex
    ) -> None:
        # Tantivy holds dates from 1677 to 2262 only; a bound beyond them is still answered.
        await search.upsert([doc(1, body="termín"), doc(2, body="termín")])
        first, last = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        for text in ("termin", ""):
            assert await _ids(search, text, since=first, order="newest") == ["m002", "m001"]
            assert await _ids(search, text, until=last, order="newest") == ["m002", "m001"]
            assert await _ids(search, text, since=last) == []
            assert await _ids(search, text, until=first) == []
            assert await _ids(search, text, since=first, until=T0 + timedelta(hours=2)) == ["m001"]
            assert await _ids(search, text, since=T0 + timedelta(hours=2), until=last) == ["m002"]

    async def test_template_filter_matches_the_template_name_exactly(
        self, search: SearchIndex
    ) -> None:
        await search.upsert(
            [
                doc(1, body="provize", template="vyuctovani"),
                doc(2, body="provize", template="vyuctovani-sms"),
                doc(3, body="provize"),
            ]
        )
        assert await _ids(search, "provize", template="vyuctovani") == ["m001"]
        assert await _ids(search, template="vyuctovani-sms") == ["m002"]
        assert await _ids(search, "provize", template="vyuct") == []

    async def test_the_search_page_default_and_an_offset_past_the_end(
        self, search: SearchIndex
    ) -> None:
        await search.upsert(
            [doc(n, body="provize") for n in range(1, MessageQuery.SEARCH_PAGE + 3)]
        )
        hits = await search.search("provize", MessageQuery())
        assert (len(hits.ids), hits.total) == (
            MessageQuery.SEARCH_PAGE,
            MessageQuery.SEARCH_PAGE + 2,
        )
        far = await search.search("provize", MessageQuery(offset=10**6))
        assert (far.ids, far.total) == ((), MessageQuery.SEARCH_PAGE + 2)

    @pytest.mark.parametrize("order", ["relevance", "newest"])
    @pytest.mark.parametrize("offset", [10**10, 2**63, 2**64 + 1])
    async def test_an_offset_far_past_the_end_is_an_empty_page_with_the_total(
        self, search: SearchIndex, offset: int, order: Any
    ) -> None:
        # The messenger bounds the offset (Limits.offset); an index answers any offset without
        # reserving room for it (Tantivy sized its collector by the offset and aborted).
        await search.upsert([doc(n, body="provize") for n in range(1, 4)])
        for text in ("provize", ""):
            far = await search.search(text, MessageQuery(offset=offset, order=order))
            assert (far.ids, far.total) == ((), 3)

    @pytest.mark.parametrize("limit", [10**10, 2**64 + 1])
    async def test_a_page_larger_than_every_match_holds_every_match(
        self, search: SearchIndex, limit: int
    ) -> None:
        await search.upsert([doc(n, body="provize") for n in range(1, 5)])
        hits = await search.search("provize", MessageQuery(limit=limit, offset=1, order="newest"))
        assert (hits.ids, hits.total) == (("m003", "m002", "m001"), 4)

    async def test_newest_order_and_pagination_with_total(self, search: SearchIndex) -> None:
        await search.upsert([doc(n, body="provize") for n in range(1, 8)])
        hits = await search.search("provize", MessageQuery(order="newest", limit=3, offset=3))
        assert hits.total == 7
        assert list(hits.ids) == ["m004", "m003", "m002"]

    async def test_upsert_replaces_and_delete_removes(self, search: SearchIndex) -> None:
        await search.upsert([doc(1, body="staré")])
        await search.upsert([doc(1, body="nové")])
        assert await _ids(search, text="stare") == []
        assert await _ids(search, text="nove") == ["m001"]
        assert await search.count() == 1
        await search.delete(["m001", "m999"])
        assert await search.count() == 0

    @pytest.mark.parametrize(
        "text", ['"', "a:b", "(((", "AND", "1 500 + DPH", "č. 2024/0815", "*", "-"]
    )
    async def test_odd_user_input_never_raises(self, search: SearchIndex, text: str) -> None:
        await search.upsert([doc(1, body="faktura č. 2024/0815 za 1 500 Kč + DPH")])
        hits = await search.search(text, MessageQuery())
        assert hits.total == len(hits.ids)

    @pytest.mark.parametrize(
        "mark",
        [chr(0xD800), chr(0xDFFF), "\x00", "\x1b", "\x7f", "\u202e", "\u2066", "\u200f", "\ufeff"],
    )
    async def test_control_bidi_and_surrogate_characters_separate_words_as_a_space_does(
        self, search: SearchIndex, mark: str
    ) -> None:
        # The messenger refuses lone surrogates in search text; an index treats every character
        # that is neither a letter nor a digit alike.
        await search.upsert(
            [doc(1, body="faktura za říjen"), doc(2, body="Banka \u202eČSOB\u202c, faktura 7")]
        )
        assert await _ids(search, f"{mark}faktura{mark}rijen{mark}") == ["m001"]
        assert await _ids(search, f'"faktura{mark}7"') == ["m002"]
        assert await _ids(search, f"csob{mark}") == ["m002"]
        assert await _ids(search, f"fak{mark}tura") == []  # no word starts with "tura"

    @pytest.mark.parametrize(
        "text", ["", " ", "\t\n", "\u3000", "\u200b", '""', "!?;", chr(0xD800)]
    )
    async def test_a_text_without_words_lists_every_match_of_the_filters_newest_first(
        self, search: SearchIndex, text: str
    ) -> None:
        await search.upsert([doc(1, body="a"), doc(2, body="b"), doc(3, channel=Channel.SMS)])
        hits = await search.search(text, MessageQuery(channel=Channel.EMAIL))
        assert (hits.ids, hits.total) == (("m002", "m001"), 2)
        assert await _ids(search, text) == ["m003", "m002", "m001"]

    async def test_a_long_text_needs_every_word_as_a_short_one_does(
        self, search: SearchIndex
    ) -> None:
        # Far longer than the messenger lets through (Limits.query_chars, query_terms): an
        # index answers it all the same.
        vocabulary = [f"slovo{n}x" for n in range(400)]
        await search.upsert([doc(1, body=" ".join(vocabulary)), doc(2, body="slovo1x")])
        assert await _ids(search, " ".join(vocabulary)) == ["m001"]
        assert await _ids(search, " ".join([*vocabulary, "chybi"])) == []
        assert await _ids(search, '"' + " ".join(vocabulary[:50]) + '"') == ["m001"]
        assert sorted(await _ids(search, "slovo1x " * 2000)) == ["m001", "m002"]

    async def test_empty_text_lists_everything_matching_the_filters(
        self, search: SearchIndex
    ) -> None:
        await search.upsert([doc(1, body="a"), doc(2, body="b", channel=Channel.SMS)])
        assert await _ids(search, text="", channel=Channel.EMAIL) == ["m001"]

    async def test_ids_and_clear(self, search: SearchIndex) -> None:
        await search.upsert([doc(1, body="a"), doc(2, body="b")])
        assert await search.ids() == {"m001", "m002"}
        await search.clear()
        assert await search.count() == 0
        assert await search.ids() == set()

    async def test_a_compaction_after_a_delete_keeps_every_live_document(
        self, search: SearchIndex
    ) -> None:
        await search.upsert([doc(n, body=f"tajne{n} spolecne") for n in range(1, 6)])
        await search.delete(["m002", "m004"])
        report = await search.compact()
        assert report.documents_rewritten >= 0
        assert await _ids(search, text="spolecne") == ["m005", "m003", "m001"]
        assert await _ids(search, text="tajne2") == []
        assert await _ids(search, text="tajne") == ["m005", "m003", "m001"]
        await search.upsert([doc(6, body="nove spolecne")])
        again = await search.compact()  # nothing deleted since: nothing to rewrite
        assert again.documents_rewritten == 0
        assert await search.count() == 4

    async def test_quoted_phrases_need_the_words_in_order(self, search: SearchIndex) -> None:
        await search.upsert(
            [doc(1, body="pan Jan Novák podepsal"), doc(2, body="Novák Jan podepsal")]
        )
        assert await _ids(search, text='"jan novak"') == ["m001"]
        assert sorted(await _ids(search, text="jan novak")) == ["m001", "m002"]
        assert sorted(await _ids(search, text='"novak"')) == ["m001", "m002"]

    async def test_add_indexes_new_documents_and_upsert_replaces_them(
        self, search: SearchIndex
    ) -> None:
        await search.add([doc(1, body="nová smlouva"), doc(2, body="provize")])
        assert await _ids(search, text="smlouva") == ["m001"]
        await search.upsert([doc(1, body="dodatek")])
        assert await _ids(search, text="smlouva") == []
        assert await _ids(search, text="dodatek") == ["m001"]
        assert await search.count() == 2

    async def test_a_word_every_message_holds_matches_every_message(
        self, search: SearchIndex
    ) -> None:
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
        assert sorted(await _ids(search, text="contos splatnost")) == ["m001", "m003"]
        # "faktura" also starts "fakturační", which every message holds: the word matches them all
        # and ranks the one that says "faktura" first.
        assert await _ids(search, text="faktura splatnost") == ["m001", "m003"]
        assert await _ids(search, text="plzen splatnost", channel=Channel.SMS) == ["m003"]
        newest = await search.search("contos", MessageQuery(order="newest", limit=2, offset=1))
        assert (list(newest.ids), newest.total) == (["m003", "m002"], 4)

    async def test_a_word_is_not_taken_as_in_every_message_because_of_replaced_ones(
        self, search: SearchIndex
    ) -> None:
        # Replaced and deleted versions still count in an index's word statistics until it merges:
        # below "contos" is in 2 of the 4 live documents and in more documents than are live.
        live = [doc(1, body="ContOS splatnost"), doc(2, body="ContOS"), doc(3, body="splatnost")]
        await search.upsert([*live, doc(4, body="jiná zpráva")])
        for _ in range(3):
            await search.upsert(live[:2])
        await search.upsert([doc(5, body="ContOS"), doc(6, body="ContOS")])
        await search.delete(["m005", "m006"])
        assert sorted(await _ids(search, text="contos")) == ["m001", "m002"]
        assert await _ids(search, text="contos splatnost") == ["m001"]
        assert await _ids(search, text="splatnost contos", channel=Channel.EMAIL) == ["m001"]

    async def test_a_phrase_ignores_punctuation_and_case_between_its_words_and_keeps_repeats(
        self, search: SearchIndex
    ) -> None:
        await search.upsert(
            [
                doc(1, body="Celkem: 1 500 Kč, splatnost – 14 dní."),
                doc(2, body="tak a tak"),
                doc(3, body="tak a jinak tak"),
                doc(4, subject="Splatnost", body="14 dní"),
            ]
        )
        assert await _ids(search, text='"1 500 kc"') == ["m001"]
        # Subject, body and the other searched parts follow each other, as in one text.
        assert sorted(await _ids(search, text='"SPLATNOST 14"')) == ["m001", "m004"]
        assert await _ids(search, text='"tak a tak"') == ["m002"]
        assert sorted(await _ids(search, text='"a tak"')) == ["m002"]
        assert sorted(await _ids(search, text='"jinak tak"')) == ["m003"]

    async def test_a_bulk_batch_finds_what_any_other_batch_finds(self, search: SearchIndex) -> None:
        docs = [doc(n, body=f"zpráva {n}: komisní smlouva č. {n}") for n in range(1, 151)]
        await search.add(docs[:140], bulk=True)
        await search.upsert(docs[140:], bulk=True)
        await search.upsert([doc(7, body="rámcová smlouva")], bulk=True)
        assert (await search.search('"komisni smlouva"', MessageQuery(limit=1))).total == 149
        assert await _ids(search, text='"ramcova smlouva"') == ["m007"]
        assert await _ids(search, text='"smlouva c 150"') == ["m150"]
        assert await _ids(search, text="zprava 42") == ["m042"]

    @pytest.mark.parametrize(
        "filters",
        [{"order": "-sent"}, {"order": "status"}, {"sent_since": T_SEARCH}, {"after": "x"}],
    )
    async def test_list_only_orders_ranges_and_cursors_are_refused(
        self, search: SearchIndex, filters: dict[str, Any]
    ) -> None:
        await search.add([doc(1, body="provize")])
        with pytest.raises(InvalidInput, match="search"):
            await search.search("provize", MessageQuery.of(**filters))
