"""How the communication list is ordered, and the cursor of keyset pages.

An order is a list of sort keys over the message's metadata (creation, scheduled and sent time,
status, id), the id last so that no two messages tie. A message without a scheduled or sent
time comes after every message with one, in either direction. A keyset page ends with a
*cursor*: the sort values of its last row, which the next page starts after
(``MessageQuery(after=page.next_after)``): no page is ever deeper than the first, and a message
added or removed before the cursor moves nothing after it.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Literal, get_args

import attrs

from contos_messaging.domain.status import MessageStatus
from contos_messaging.errors import InvalidInput

__all__ = [
    "ORDERINGS",
    "STATUS_RANK",
    "Order",
    "SortKey",
    "SortValue",
    "comes_after",
    "decode_cursor",
    "encode_cursor",
    "micros",
    "sort_values",
]

Order = Literal[
    "relevance", "newest", "oldest", "scheduled", "-scheduled", "sent", "-sent", "status", "-status"
]
"""``relevance`` (best match first; search only); ``newest`` / ``oldest`` (creation time);
``scheduled`` / ``-scheduled`` (planned send time, soonest / latest first); ``sent`` /
``-sent`` (when the server accepted it, earliest / latest first); ``status`` / ``-status``
(in the order of :class:`MessageStatus`, drafts first / last; newest first within a status).

.. versionchanged:: 0.5 scheduled, sent and status orders"""

Field = Literal["created", "scheduled", "sent", "status", "id"]
SortValue = int | str
"""A sort value: microseconds since the epoch, a status rank, or the id."""


@attrs.frozen
class SortKey:
    """One key of an order: the metadata ``field`` and its direction."""

    field: Field
    descending: bool


def _keys(*spec: tuple[Field, bool]) -> tuple[SortKey, ...]:
    return tuple(SortKey(field, descending) for field, descending in spec)


_NEWEST = _keys(("created", True), ("id", True))
_OLDEST = _keys(("created", False), ("id", False))
ORDERINGS: dict[str, tuple[SortKey, ...]] = {
    "newest": _NEWEST,
    "oldest": _OLDEST,
    "scheduled": (SortKey("scheduled", False), *_OLDEST),
    "-scheduled": (SortKey("scheduled", True), *_NEWEST),
    "sent": (SortKey("sent", False), *_OLDEST),
    "-sent": (SortKey("sent", True), *_NEWEST),
    "status": (SortKey("status", False), *_NEWEST),
    "-status": (SortKey("status", True), *_NEWEST),
}
"""The sort keys of each list order (``relevance`` is the search index's own)."""

STATUS_RANK = {status: rank for rank, status in enumerate(MessageStatus)}
"""Where each status sorts under ``order="status"``."""

NO_TIME_ASCENDING = 1 << 62
"""The sort value of a missing time when the key ascends (after every real time)."""
NO_TIME_DESCENDING = -(1 << 62)
"""The sort value of a missing time when the key descends (after every real time, those before
1970 too: year 1 is about -6.2e16 microseconds)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime | None) -> int | None:
    """Microseconds since the epoch (``None`` for ``None``), as the stores keep times."""
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def sort_values(
    order: str,
    *,
    message_id: str,
    status: MessageStatus,
    created_at: int,
    scheduled_at: int | None,
    sent_at: int | None,
) -> tuple[SortValue, ...]:
    """The values of a message's sort keys under ``order`` (times in microseconds, a missing
    time replaced so that it sorts last)."""
    values: list[SortValue] = []
    for key in ORDERINGS[order]:
        if key.field == "id":
            values.append(message_id)
        elif key.field == "status":
            values.append(STATUS_RANK[status])
        else:
            moment = {"created": created_at, "scheduled": scheduled_at, "sent": sent_at}[key.field]
            if moment is None:
                moment = NO_TIME_DESCENDING if key.descending else NO_TIME_ASCENDING
            values.append(moment)
    return tuple(values)


def comes_after(order: str, values: tuple[SortValue, ...], anchor: tuple[SortValue, ...]) -> bool:
    """Whether a message with sort ``values`` comes after the one with ``anchor`` values."""
    for key, value, mark in zip(ORDERINGS[order], values, anchor, strict=True):
        if value != mark:
            return (value < mark) if key.descending else (value > mark)  # type: ignore[operator]
    return False


def encode_cursor(order: str, position: int, values: tuple[SortValue, ...]) -> str:
    """The cursor after a row with sort ``values`` under ``order``, the ``position``-th row of
    its list (the offset of the page it starts): opaque to callers."""
    raw = json.dumps([order, position, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR_CHARS = 512


def decode_cursor(order: str, cursor: str) -> tuple[int, tuple[SortValue, ...]]:
    """The position and the sort values held by ``cursor``, checked against ``order``'s keys;
    anything else (another order's cursor, a cursor edited or cut short) raises
    :class:`InvalidInput`."""
    bad = InvalidInput("after must be the next_after of a list page of this order")
    if len(cursor) > _CURSOR_CHARS:
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    keys = ORDERINGS[order]
    if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], str):
        raise bad
    if decoded[0] != order and decoded[0] in ORDERINGS:
        raise InvalidInput(f"after is a cursor of a page in order {decoded[0]!r}, not {order!r}")
    if decoded[0] != order or len(decoded) != len(keys) + 2:
        raise bad
    position, values = decoded[1], tuple(decoded[2:])
    if type(position) is not int or not 0 <= position < 1 << 63:
        raise bad
    for key, value in zip(keys, values, strict=True):
        if key.field == "id":
            if type(value) is not str or not _is_id(value):
                raise bad
        elif type(value) is not int or not -(1 << 63) <= value < 1 << 63:
            raise bad
    return position, values


def _is_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def list_orders() -> tuple[str, ...]:
    """The orders a list takes (every one but ``relevance``)."""
    return tuple(o for o in get_args(Order) if o != "relevance")
