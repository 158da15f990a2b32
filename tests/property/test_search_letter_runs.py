"""Words of letters and then digits (``svoboda101``, from addresses) are indexed with their
letter run too, and a query word their letters hold does not expand to each of them: whatever
the documents hold, the keyed index finds exactly the documents in which every query word
starts some word (the plain rule), for query words with and without digits, and the word pairs
of phrases are those of the words as written."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.adapters.tantivy.letter_runs import letter_run
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.text import words
from contos_messaging.ports import SearchDocument

_WORD = st.sampled_from(
    ["s", "sv", "svo", "svoboda", "svobodova", "s1", "s1a", "sv1", "sv12", "svoboda1",
     "svoboda10", "svoboda101", "svoboda2x", "svobodova7", "1", "12", "101", "x9", "a"]
)  # fmt: skip
_DOC = st.lists(_WORD, min_size=1, max_size=5).map(" ".join)
_QUERY = st.lists(_WORD, min_size=1, max_size=2).map(" ".join)


def _document(n: int, text: str) -> SearchDocument:
    return SearchDocument(
        message_id=str(uuid.UUID(int=n + 1)),
        channel=Channel.EMAIL,
        status=MessageStatus.SENT,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n),
        created_by="u",
        links=(),
        body=text,
    )


def _plain_rule(query: str, texts: list[str]) -> set[str]:
    terms = words(query)
    return {
        _document(n, text).message_id
        for n, text in enumerate(texts)
        if all(any(w.startswith(t) for w in words(text)) for t in terms)
    }


async def _found(texts: list[str], queries: list[str]) -> list[set[str]]:
    with tempfile.TemporaryDirectory() as directory:
        index = await TantivySearchIndex.open(Path(directory), key=bytes(range(32)))
        try:
            await index.add([_document(n, text) for n, text in enumerate(texts)])
            out = []
            for query in queries:
                hits = await index.search(query, MessageQuery(limit=len(texts)))
                assert hits.total == len(hits.ids)
                out.append(set(hits.ids))
            return out
        finally:
            await index.aclose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(_DOC, min_size=1, max_size=8), queries=st.lists(_QUERY, min_size=1, max_size=4)
)
@example(texts=["svoboda101", "svobodova", "svoboda"], queries=["svoboda", "svoboda1", "svo"])
@example(texts=["s1a x9", "sv12"], queries=["s", "s1", "sv1", "x"])
def test_prefix_search_finds_what_the_plain_rule_finds(texts, queries):
    found = asyncio.run(_found(texts, queries))
    assert found == [_plain_rule(q, texts) for q in queries]


def test_a_phrase_of_an_address_matches_only_its_own_order():
    texts = ["napiste svoboda101 example", "example svoboda101", "svoboda101"]
    found = asyncio.run(_found(texts, ['"svoboda101 example"', '"example svoboda101"']))
    assert found == [{_document(0, "").message_id}, {_document(1, "").message_id}]


def test_the_letter_run_of_a_word():
    assert [letter_run(w) for w in ["svoboda101", "s1a", "svoboda", "101", "x9y9", "abc"]] == [
        "svoboda", "s", None, None, "x", None,
    ]  # fmt: skip
