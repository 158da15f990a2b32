"""Turning search text and a :class:`~contos_messaging.MessageQuery` into a Tantivy query.

Every query word must match the start of an indexed word; the words it starts (found in the
sealed vocabulary, then looked up by their keyed tokens: see ``vocabulary.py``) are scored
(BM25) like typed words. These rules keep queries cheap without changing what they find:

* a word that some indexed word in *every* document starts (a company name, a word of the
  footer) matches every document: it filters nothing and, with an inverse document frequency
  of nearly zero, ranks nothing, so it is left out when something else in the query is
  required (its other expansions still rank). ``faktura splatnosti`` over messages that all
  say ``fakturační údaje`` costs what ``splatnosti`` alone costs, plus ranking by ``faktura``;
  such words with filters list the messages matching the filters, newest first;
* filters (channel, status, link, creator, dates) match without scoring;
* a two-word phrase is one word-pair term (see ``pairs.py``), not a check of positions.

Given a ``budget``, :func:`build_query` counts the postings the query would read at most (the
documents of each term it looks up; every document for a word of more than
:data:`MAX_EXPANSIONS` expansions, positions, a date range or all documents) and raises
:class:`TooHeavy` as soon as they pass it, before building anything costly (or when a word has
more expansions): the index runs such a query on a thread of its own rather than on the event
loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import tantivy

from contos_messaging.adapters.tantivy.pairs import WAITING_FIELD, WAITING_VALUE
from contos_messaging.adapters.tantivy.vocabulary import Vocabulary
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.text import search_phrases

__all__ = ["MAX_EXPANSIONS", "BuiltQuery", "TooHeavy", "all_documents", "build_query"]

# A query word that starts more indexed words than this matches any of them without scoring
# them one by one.
MAX_EXPANSIONS = 64
# Under a budget (on the event loop), a query word is expanded to at most this many words
# (half a millisecond); one that starts more is searched on a reader thread.
INLINE_EXPANSIONS = 512
_CHANNELS = [channel.value for channel in Channel]
_STATUSES = [status.value for status in MessageStatus]

_Clause = tuple[tantivy.Occur, tantivy.Query]


class TooHeavy(Exception):  # (flow between the builder and the index, not an error)
    """The query would read more postings than the budget :func:`build_query` was given."""


@attrs.frozen
class BuiltQuery:
    """A Tantivy query and whether any of its words ranks (when none does, hits are listed
    newest first: relevance cannot tell them apart)."""

    query: tantivy.Query
    ranked: bool


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


# Tantivy keeps dates as nanoseconds in 64 bits: no document is created outside these.
_EARLIEST = dt.datetime(1677, 9, 22, tzinfo=dt.UTC)
_LATEST = dt.datetime(2262, 4, 11, tzinfo=dt.UTC)


def _dates(query: MessageQuery) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """``since`` and ``until`` within the dates Tantivy holds (a bound beyond them bounds
    nothing), or None when no document can lie between them."""
    since, until = query.since, query.until
    if (since is not None and since >= _LATEST) or (until is not None and until <= _EARLIEST):
        return None
    return (
        None if since is None or since <= _EARLIEST else since,
        None if until is None or until >= _LATEST else until,
    )


def all_documents(searcher: tantivy.Searcher) -> int:
    """How many documents the index holds, counting deleted ones not merged away yet - as
    term document frequencies count them. Every document has exactly one channel."""
    return sum(searcher.doc_freq("channel", value) for value in _CHANNELS)


@attrs.frozen
class _Word:
    """A query word: ``required`` matches the indexed words it starts (scored like typed words).
    When one of those is in every document the word matches every document, and ``ranking``
    holds only the others as optional clauses: they rank, the word filters nothing. That is
    used when something else in the query is required (otherwise every document would have
    to be scored against an all-documents query, which is no cheaper)."""

    required: list[_Clause]
    ranking: list[_Clause] | None


class _Builder:
    def __init__(
        self,
        schema: tantivy.Schema,
        searcher: tantivy.Searcher,
        vocabulary: Vocabulary,
        waiting: Callable[[], bool],
        budget: int | None,
    ) -> None:
        self._schema = schema
        self._searcher = searcher
        self._vocabulary = vocabulary
        self._waiting = waiting
        self._budget = budget
        self._postings = 0
        self._documents: int | None = None

    def _all(self) -> int:
        if self._documents is None:
            self._documents = all_documents(self._searcher)
        return self._documents

    def read(self, postings: int) -> None:
        """Count postings the query reads; :class:`TooHeavy` past the budget."""
        self._postings += postings
        if self._budget is not None and self._postings > self._budget:
            raise TooHeavy

    def read_all(self) -> None:
        """Count every document (an automaton, positions, a range, all documents)."""
        self.read(self._all())

    def _in_every_document(self, frequency: int) -> bool:
        """Whether a term of this document frequency is in every document, deleted ones
        included (so in every live one)."""
        return frequency >= self._all() > 0

    def word(self, word: str) -> _Word | None:
        """Clauses for one query word (see :class:`_Word`); None when it starts no indexed
        word (nothing matches)."""
        schema = self._schema
        expansions = self._expansions(word)
        if not expansions:
            return None
        if len(expansions) > MAX_EXPANSIONS:
            self.read_all()
            either = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", token))
                    for token, _count in expansions
                ]
            )
            return _Word([(tantivy.Occur.Must, tantivy.Query.const_score_query(either, 1.0))], None)
        self.read(sum(count for _term, count in expansions))
        terms = [tantivy.Query.term_query(schema, "text", term) for term, _count in expansions]
        if len(terms) == 1:
            required = [(tantivy.Occur.Must, terms[0])]
        else:
            either = tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])
            required = [(tantivy.Occur.Must, either)]
        everywhere = [self._in_every_document(count) for _term, count in expansions]
        if not any(everywhere):
            return _Word(required, None)
        ranking = [
            (tantivy.Occur.Should, term)
            for term, in_all in zip(terms, everywhere, strict=True)
            if not in_all
        ]
        return _Word(required, ranking)

    def _expansions(self, word: str) -> list[tuple[str, int]]:
        """Tokens of the indexed words ``word`` starts (the word itself first, known to the
        vocabulary or not: a word whose record was lost is still found whole) and their
        document frequencies; those in no document left out. A word of more than
        :data:`INLINE_EXPANSIONS` expansions is :class:`TooHeavy` under a budget (expanding it
        takes a while)."""
        searcher = self._searcher
        own = self._vocabulary.token_of(word)
        found: dict[str, int] = {own: searcher.doc_freq("text", own)}
        limit = MAX_EXPANSIONS + 1
        expanded = self._vocabulary.expand(word, limit)
        if len(expanded) >= limit:
            inline = self._budget is not None
            expanded = self._vocabulary.expand(word, INLINE_EXPANSIONS + 1 if inline else None)
            if inline and len(expanded) > INLINE_EXPANSIONS:
                raise TooHeavy
        for _word, token in expanded:
            if token not in found:
                found[token] = searcher.doc_freq("text", token)
        return [(token, count) for token, count in found.items() if count]

    def filter(self, field: str, value: str) -> tantivy.Query:
        """A filter: matches like a term, scores nothing (scoring a value every document
        shares would cost as much as the words of the query)."""
        self.read(self._searcher.doc_freq(field, value))
        return tantivy.Query.const_score_query(
            tantivy.Query.term_query(self._schema, field, value), 0.0
        )

    def any_of(self, field: str, wanted: list[str]) -> tantivy.Query:
        """Documents whose ``field`` holds any of ``wanted`` (as filters: not scored)."""
        if len(wanted) == 1:
            return self.filter(field, wanted[0])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, self.filter(field, value)) for value in wanted]
        )

    def one_of(self, field: str, wanted: set[str], values: list[str]) -> list[_Clause]:
        """Clauses keeping documents whose ``field`` (which every document has exactly one
        value of, from ``values``) is one of ``wanted``: those values when they are the rarer
        side, otherwise the other values excluded (cheap when most documents have a value
        asked for, and nothing at all when no document has another one)."""
        counts = {value: self._searcher.doc_freq(field, value) for value in values}
        others = [value for value in values if value not in wanted and counts[value]]
        if sum(counts.get(value, 0) for value in wanted) <= sum(counts[v] for v in others):
            return [(tantivy.Occur.Must, self.any_of(field, sorted(wanted)))]
        self.read(sum(counts[value] for value in others))
        return [
            (tantivy.Occur.MustNot, tantivy.Query.term_query(self._schema, field, value))
            for value in others
        ]

    def phrase(self, words: list[str]) -> tantivy.Query:
        """Words next to each other in this order: two words are one word-pair term (documents
        still waiting for their pairs are checked by positions); longer phrases check
        positions."""
        schema = self._schema
        tokens = [self._vocabulary.token_of(word) for word in words]
        positional: list[str | tuple[int, str]] = list(tokens)
        if len(words) != 2:
            self.read_all()
            return tantivy.Query.phrase_query(schema, "text", positional)
        term = tokens[0] + tokens[1]
        self.read(self._searcher.doc_freq("pairs", term))
        pair = tantivy.Query.term_query(schema, "pairs", term)
        if self._searcher.doc_freq(WAITING_FIELD, WAITING_VALUE):
            self.read_all()  # (counting the marked documents still live; positions)
        if not self._waiting():
            return pair
        waiting = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, self.filter(WAITING_FIELD, WAITING_VALUE)),
                (tantivy.Occur.Must, tantivy.Query.phrase_query(schema, "text", positional)),
            ]
        )
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, pair), (tantivy.Occur.Should, waiting)]
        )

    def dates(self, since: dt.datetime | None, until: dt.datetime | None) -> tantivy.Query:
        """Created at or after ``since`` and before ``until``."""
        self.read_all()
        return tantivy.Query.range_query(
            self._schema,
            "created_at",
            tantivy.FieldType.Date,
            _utc(since) if since else None,
            _utc(until) if until else None,
            include_lower=True,
            include_upper=until is None,  # until is exclusive
        )


def build_query(
    schema: tantivy.Schema,
    searcher: tantivy.Searcher,
    vocabulary: Vocabulary,
    text: str,
    query: MessageQuery,
    terms: list[str],
    *,
    waiting: Callable[[], bool],
    budget: int | None = None,
) -> BuiltQuery | None:
    """The Tantivy query for ``text`` (whose words are ``terms``) filtered by ``query``, or
    None when a word starts no indexed word (nothing matches). ``waiting()`` tells whether any
    live document still waits for its word pairs (asked only for two-word phrases). With a
    ``budget``, :class:`TooHeavy` when the query would read more postings."""
    build = _Builder(schema, searcher, vocabulary, waiting, budget)
    words: list[_Word] = []
    phrases = search_phrases(text)
    in_phrases = {word for phrase in phrases for word in phrase}
    for word in terms:
        if word in in_phrases:
            continue  # a phrase containing the word matches only where the word is
        built = build.word(word)
        if built is None:
            return None
        words.append(built)
    clauses: list[_Clause] = [(tantivy.Occur.Must, build.phrase(phrase)) for phrase in phrases]
    if query.channel is not None:
        clauses += build.one_of("channel", {c.value for c in query.channel}, _CHANNELS)
    if query.status is not None:
        clauses += build.one_of("status", {s.value for s in query.status}, _STATUSES)
    if query.linked is not None:
        keys = [entity.key for entity in query.linked]
        if len(keys) == 1 or query.linked_all:
            clauses += [(tantivy.Occur.Must, build.filter("links", key)) for key in keys]
        else:
            clauses.append((tantivy.Occur.Must, build.any_of("links", keys)))
    for field, value in (
        ("created_by", query.created_by),
        ("template", query.template),
    ):
        if value is not None:
            clauses.append((tantivy.Occur.Must, build.filter(field, value)))
    dates = _dates(query)
    if dates is None:
        return None
    if dates != (None, None):
        clauses.append((tantivy.Occur.Must, build.dates(*dates)))
    required = any(occur == tantivy.Occur.Must for occur, _query in clauses) or any(
        word.ranking is None for word in words
    )
    chosen = [w.ranking if required and w.ranking is not None else w.required for w in words]
    for word_clauses in chosen:
        clauses += word_clauses
    ranked = bool(phrases) or any(chosen)
    if not any(occur == tantivy.Occur.Must for occur, _query in clauses):
        # Nothing required (no words and only excluded values, or none): start from every
        # document.
        build.read_all()
        clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
    if len(clauses) == 1:
        return BuiltQuery(clauses[0][1], ranked)
    return BuiltQuery(tantivy.Query.boolean_query(clauses), ranked)
