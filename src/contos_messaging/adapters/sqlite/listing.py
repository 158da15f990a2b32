"""The SQL of the communication list: filters, orders and keyset cursors of
:class:`~contos_messaging.domain.query.MessageQuery` over the ``messages`` table (the rules are
the domain's, ``domain/query.py`` and ``domain/ordering.py``; the in-memory fake applies them
in Python)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contos_messaging.adapters.sqlite.codec import (
    CHANNEL_CODE,
    CODE_STATUS,
    STATUS_CODE,
    id_bytes,
    id_text,
    to_us,
)
from contos_messaging.domain.ordering import (
    NO_TIME_ASCENDING,
    NO_TIME_DESCENDING,
    ORDERINGS,
    STATUS_RANK,
    SortKey,
    SortValue,
    encode_cursor,
    sort_values,
)
from contos_messaging.domain.query import MessageQuery

__all__ = ["after_segments", "cursor_of_row", "filter_clause", "order_clause"]

_STATUS_RANK = (
    "CASE m.status "
    + " ".join(f"WHEN '{STATUS_CODE[status]}' THEN {rank}" for status, rank in STATUS_RANK.items())
    + " END"
)
_TIMES = {"created": "m.created_at", "scheduled": "m.scheduled_at", "sent": "m.sent_at"}


def _expression(key: SortKey) -> str:
    if key.field == "id":
        return "m.id"
    if key.field == "status":
        return _STATUS_RANK
    column = _TIMES[key.field]
    if key.field == "created":
        return column
    return f"coalesce({column}, {NO_TIME_DESCENDING if key.descending else NO_TIME_ASCENDING})"


def filter_clause(query: MessageQuery, kinds: Mapping[str, int]) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ...`` of the messages passing ``query``'s filters, and its arguments
    (``kinds`` maps the stored kind names to their ids; a kind never stored matches nothing)."""
    where: list[str] = []
    args: list[Any] = []
    source = "messages m"
    pairs = [(kinds.get(entity.kind, -1), entity.id) for entity in query.linked or ()]
    if len(pairs) == 1:
        source = "links l JOIN messages m ON m.seq = l.seq"
        where += ["l.kind = ?", "l.entity_id = ?"]
        args += list(pairs[0])
    elif pairs and query.linked_all:
        for kind_id, entity_id in pairs:
            where.append(
                "EXISTS (SELECT 1 FROM links l WHERE l.seq = m.seq AND l.kind = ?"
                " AND l.entity_id = ?)"
            )
            args += [kind_id, entity_id]
    elif pairs:
        either = " OR ".join("(l.kind = ? AND l.entity_id = ?)" for _ in pairs)
        where.append(f"m.seq IN (SELECT l.seq FROM links l WHERE {either})")
        args += [value for pair in pairs for value in pair]
    for column, codes in (
        ("m.channel", [CHANNEL_CODE[c] for c in query.channel or ()]),
        ("m.status", [STATUS_CODE[s] for s in query.status or ()]),
    ):
        if codes:
            where.append(f"{column} IN ({', '.join('?' * len(codes))})")
            args += codes
    for clause, value in (
        ("m.created_at >= ?", to_us(query.since)),
        ("m.created_at < ?", to_us(query.until)),
        ("m.scheduled_at >= ?", to_us(query.scheduled_since)),
        ("m.scheduled_at < ?", to_us(query.scheduled_until)),
        ("m.sent_at >= ?", to_us(query.sent_since)),
        ("m.sent_at < ?", to_us(query.sent_until)),
        ("m.created_by = ?", query.created_by),
        ("m.template_name = ?", query.template),
    ):
        if value is not None:
            where.append(clause)
            args.append(value)
    return f"FROM {source}" + (f" WHERE {' AND '.join(where)}" if where else ""), args


def order_clause(order: str, skip: int = 0) -> str:
    """``ORDER BY ...`` of a list order, without its first ``skip`` keys (held equal)."""
    keys = ORDERINGS[order][skip:]
    return "ORDER BY " + ", ".join(
        f"{_expression(key)} {'DESC' if key.descending else 'ASC'}" for key in keys
    )


def after_segments(order: str, anchor: Sequence[SortValue]) -> list[tuple[str, list[Any], str]]:
    """The rows after ``anchor`` (a decoded cursor) in ``order`` as conditions, each with its
    arguments and its ``ORDER BY``, whose rows follow each other in the order: first those
    equal to the anchor in every key but the last and after it in that one, then those equal
    in all but the last two and after it in the one before, and so on. Each is an equality
    prefix and one range, which the order's index seeks to directly (a single lexicographic
    condition makes SQLite read the index from its start, or from the first key's value), and
    is ordered by the keys after its prefix (SQLite sorts again when told to order by a key
    held equal)."""
    keys = ORDERINGS[order]
    values = [id_bytes(str(v)) if k.field == "id" else v for k, v in zip(keys, anchor, strict=True)]
    segments: list[tuple[str, list[Any], str]] = []
    for i in reversed(range(len(keys))):
        equal = [f"{_expression(k)} = ?" for k in keys[:i]]
        step = f"{_expression(keys[i])} {'<' if keys[i].descending else '>'} ?"
        condition = " AND ".join([*equal, step])
        segments.append((condition, [*values[:i], values[i]], order_clause(order, skip=i)))
    return segments


def cursor_of_row(order: str, position: int, row: Sequence[Any]) -> str:
    """The cursor after a row of ``COLUMNS``, the page after it starting at ``position`` (its
    metadata alone: a row of an erased client moves the cursor too)."""
    return encode_cursor(
        order,
        position,
        sort_values(
            order,
            message_id=id_text(row[0]),
            status=CODE_STATUS[row[2]],
            created_at=row[4],
            scheduled_at=row[6],
            sent_at=row[17],
        ),
    )
