"""The query of the communication list and of search: one frozen value that travels from the
facade through the service to the port unchanged, with its defaults here and nowhere else."""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar, get_args

import attrs

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.ordering import Order
from contos_messaging.errors import InvalidInput, LimitExceeded

if TYPE_CHECKING:
    from contos_messaging.domain.limits import Limits

__all__ = ["MessageQuery", "Order", "QueryFilters"]

_E = TypeVar("_E", bound=enum.Enum)
_REPR = reprlib.Repr()  # a value of any depth or size is shown in a few characters
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60


def _shown(value: object) -> str:
    try:
        return _REPR.repr(value)
    except Exception:  # a value whose repr fails is still named by its type
        return type(value).__name__


def _member(kind: type[_E], value: object) -> _E | None:
    """A member of ``kind`` given as itself or its string value (or None)."""
    if value is None or isinstance(value, kind):
        return value
    try:
        if not isinstance(value, str):  # (the enum's own error would show it in full)
            raise ValueError(value)
        return kind(value)
    except ValueError:
        names = ", ".join(repr(m.value) for m in kind)
        raise InvalidInput(f"{kind.__name__} must be one of {names}, got {_shown(value)}") from None


# More values than an enum has are no choice at all (and a list of a million is refused).
_MAX_VALUES = 64


def _members(kind: type[_E], value: object) -> tuple[_E, ...] | None:
    """One member or several (given as themselves or their string values), in the enum's
    order, each once; None for None (no filter)."""
    if value is None:
        return None
    if isinstance(value, kind | str):
        member = _member(kind, value)
        return None if member is None else (member,)
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(
            f"{kind.__name__} must be a value, its text or a list of them, got {_shown(value)}"
        )
    if not value or len(value) > _MAX_VALUES:
        raise InvalidInput(f"give 1 to {_MAX_VALUES} {kind.__name__} values, got {len(value)}")
    chosen = {_member(kind, item) for item in value}
    return tuple(member for member in kind if member in chosen)


def _channel(value: object) -> tuple[Channel, ...] | None:
    return _members(Channel, value)


def _status(value: object) -> tuple[MessageStatus, ...] | None:
    return _members(MessageStatus, value)


def _linked(value: object) -> tuple[LinkedEntity, ...] | None:
    """One linked record or several (each once, in the order given)."""
    if value is None:
        return None
    if isinstance(value, LinkedEntity):
        return (value,)
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(f"linked must be a LinkedEntity or a list of them, got {_shown(value)}")
    if not value or len(value) > _MAX_VALUES:
        raise InvalidInput(f"give 1 to {_MAX_VALUES} linked records, got {len(value)}")
    for item in value:
        if not isinstance(item, LinkedEntity):
            raise InvalidInput(f"linked must hold LinkedEntity values, got {_shown(item)}")
    return tuple(dict.fromkeys(value))


def _instance(field: str, kind: type | tuple[type, ...]) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is not None and not isinstance(value, kind):
            raise InvalidInput(f"{field} must be {_name(kind)} or None, got {_shown(value)}")

    return check


def _moment(field: str, value: object) -> datetime | None:
    """A point in time, in UTC (a date without a time zone says no point in time)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be datetime or None, got {_shown(value)}")
    try:
        offset = value.utcoffset()
    except (ValueError, TypeError):  # (a tzinfo whose offset is no offset)
        raise InvalidInput(f"{field} has a time zone without a valid offset") from None
    if offset is None:
        raise InvalidInput(
            f"{field} must have a time zone (tzinfo=UTC, for one), got {_shown(value)}"
        )
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError, TypeError):
        raise InvalidInput(f"{field} is out of the range of dates, got {_shown(value)}") from None


def _since(value: object) -> datetime | None:
    return _moment("since", value)


def _until(value: object) -> datetime | None:
    return _moment("until", value)


def _scheduled_since(value: object) -> datetime | None:
    return _moment("scheduled_since", value)


def _scheduled_until(value: object) -> datetime | None:
    return _moment("scheduled_until", value)


def _sent_since(value: object) -> datetime | None:
    return _moment("sent_since", value)


def _sent_until(value: object) -> datetime | None:
    return _moment("sent_until", value)


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _order(_instance: object, _attribute: object, value: object) -> None:
    if value is not None and value not in get_args(Order):
        raise InvalidInput(f"order must be one of {get_args(Order)}, got {_shown(value)}")


def _limit(_instance: object, _attribute: object, value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"limit must be a whole number, got {_shown(value)}")
    if value < 1:
        raise InvalidInput(f"limit must be at least 1, got {_shown(value)}")


def _offset(_instance: object, _attribute: object, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"offset must be a whole number, got {_shown(value)}")
    if value < 0:
        raise InvalidInput(f"offset must not be negative, got {_shown(value)}")


@attrs.frozen(kw_only=True)
class MessageQuery:
    """Which messages, in which order, which page: the filters of the communication list and of
    search. Every filter left as None matches everything.

    ``channel`` and ``status`` accept members or their string values (``"email"``,
    ``"draft"``), or a list of them (any of them matches); ``linked`` one record or a list
    (messages linked to any of them, or to all of them with ``linked_all``); ``since`` is
    inclusive, ``until`` exclusive (creation time; dates with a time zone, kept in UTC);
    ``scheduled_since`` / ``scheduled_until`` and ``sent_since`` / ``sent_until`` bound the
    planned send time and the time the server accepted the message (:attr:`Message.sent_at`)
    the same way (a message without that time is outside any such range). ``order`` is one
    of :data:`~contos_messaging.domain.ordering.Order`: ``"relevance"`` (search with text
    only), ``"newest"``, ``"oldest"``, ``"scheduled"``, ``"-scheduled"``, ``"sent"``,
    ``"-sent"``, ``"status"``, ``"-status"``; without it, search ranks by relevance and lists
    go newest first. ``limit`` (at least 1) defaults to :attr:`SEARCH_PAGE` for search and
    :attr:`LIST_PAGE` for lists. A list page goes on either by ``offset`` or, for deep
    pages, by ``after``: the previous page's
    :attr:`~contos_messaging.domain.page.Page.next_after` (keyset pagination, as fast on the
    thousandth page as on the first). How large a page and how deep an ``offset`` may be is
    the messenger's to say (``Limits.page_size``, ``Limits.offset``; see :meth:`within`).
    Search ranks by the index, so it takes neither the scheduled / sent / status orders, nor
    the scheduled / sent ranges, nor ``after`` (:meth:`for_search`).

    .. versionchanged:: 0.5 scheduled and sent ranges and orders, status order, ``after``
    """

    SEARCH_PAGE: ClassVar[int] = 20
    LIST_PAGE: ClassVar[int] = 50

    channel: tuple[Channel, ...] | None = attrs.field(default=None, converter=_channel)
    status: tuple[MessageStatus, ...] | None = attrs.field(default=None, converter=_status)
    linked: tuple[LinkedEntity, ...] | None = attrs.field(default=None, converter=_linked)
    linked_all: bool = attrs.field(default=False, validator=_instance("linked_all", bool))
    created_by: str | None = attrs.field(default=None, validator=_instance("created_by", str))
    template: str | None = attrs.field(default=None, validator=_instance("template", str))
    since: datetime | None = attrs.field(default=None, converter=_since)
    until: datetime | None = attrs.field(default=None, converter=_until)
    scheduled_since: datetime | None = attrs.field(default=None, converter=_scheduled_since)
    scheduled_until: datetime | None = attrs.field(default=None, converter=_scheduled_until)
    sent_since: datetime | None = attrs.field(default=None, converter=_sent_since)
    sent_until: datetime | None = attrs.field(default=None, converter=_sent_until)
    order: Order | None = attrs.field(default=None, validator=_order)
    limit: int | None = attrs.field(default=None, validator=_limit)
    offset: int = attrs.field(default=0, validator=_offset)
    after: str | None = attrs.field(default=None, validator=_instance("after", str))

    @classmethod
    def of(cls, query: MessageQuery | None = None, /, **filters: Any) -> MessageQuery:
        """``query`` (or the empty query) with ``filters`` set; an unknown filter name or a
        wrong value raises :class:`InvalidInput`."""
        if query is not None and not isinstance(query, MessageQuery):
            raise InvalidInput(f"expected a MessageQuery, got {_shown(query)}")
        unknown = sorted(set(filters) - set(attrs.fields_dict(cls)))
        if unknown:
            raise InvalidInput(f"unknown filter {unknown[0]!r}; filters: {_FILTERS}")
        return attrs.evolve(query or cls(), **filters)

    def page_size(self, default: int) -> int:
        """``limit``, or ``default`` (:attr:`SEARCH_PAGE` or :attr:`LIST_PAGE`) without one."""
        return default if self.limit is None else self.limit

    def ordered(self, default: Order) -> Order:
        """``order``, or ``default`` without one."""
        return default if self.order is None else self.order

    def within(self, limits: Limits) -> MessageQuery:
        """This query, if its page is within a messenger's ``limits``: ``offset`` at most
        ``limits.offset``, ``limit`` at most ``limits.page_size``; otherwise
        :class:`~contos_messaging.errors.LimitExceeded` naming the setting (an offset past
        the bound is refused with the advice to narrow the filters instead)."""
        if self.offset > limits.offset:
            raise LimitExceeded("the offset", self.offset, limits.offset, "offset", hint=_DEEPER)
        if self.limit is not None:
            limits.check("page_size", "the page size (limit)", self.limit)
        return self

    def for_list(self) -> MessageQuery:
        """This query as the communication list runs it (no search text): newest first;
        ``order="relevance"`` raises :class:`InvalidInput`, as there is nothing to rank by."""
        if self.order == "relevance":
            raise InvalidInput("order 'relevance' needs search text; a list is ordered 'newest'")
        if self.after is not None and self.offset:
            raise InvalidInput("give after (a page cursor) or offset, not both")
        return self

    def for_search(self) -> MessageQuery:
        """This query as search runs it: the index ranks by relevance or creation time and
        holds neither scheduled nor sent times, so other orders, those ranges and ``after``
        raise :class:`InvalidInput` (the list, :meth:`~contos_messaging.AsyncMessenger.messages`,
        takes them all)."""
        if self.order not in (None, "relevance", "newest", "oldest"):
            raise InvalidInput(
                f"search orders by 'relevance', 'newest' or 'oldest', not {self.order!r};"
                " the message list (messages()) takes every order"
            )
        ranges = ("scheduled_since", "scheduled_until", "sent_since", "sent_until")
        for name in ranges:
            if getattr(self, name) is not None:
                raise InvalidInput(
                    f"search does not filter by {name}; the message list (messages()) does"
                )
        if self.after is not None:
            raise InvalidInput("search pages go by offset; after (a page cursor) is for lists")
        return self

    def admits(
        self,
        *,
        channel: Channel,
        status: MessageStatus,
        links: Iterable[LinkedEntity],
        created_at: datetime,
        created_by: str,
        template: str | None,
        scheduled_at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> bool:
        """Whether a message with these values passes every filter (the rule that the store and
        the index apply in their own query languages)."""
        linked = self.linked
        if linked is not None:
            present = set(links)
            wanted = (all if self.linked_all else any)(entity in present for entity in linked)
        return (
            (self.channel is None or channel in self.channel)
            and (self.status is None or status in self.status)
            and (linked is None or wanted)
            and (self.since is None or created_at >= self.since)
            and (self.until is None or created_at < self.until)
            and (self.created_by is None or created_by == self.created_by)
            and (self.template is None or template == self.template)
            and _within(scheduled_at, self.scheduled_since, self.scheduled_until)
            and _within(sent_at, self.sent_since, self.sent_until)
        )


def _within(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether ``moment`` is in ``[since, until)`` (no bound: any moment, even none)."""
    if since is None and until is None:
        return True
    return (
        moment is not None
        and (since is None or moment >= since)
        and (until is None or moment < until)
    )


_FILTERS = ", ".join(attrs.fields_dict(MessageQuery))
_DEEPER = (
    "to reach messages further down in a list, page on with after=page.next_after (keyset"
    " pages have no depth limit) or narrow the filters (a date range with since and until,"
    " a channel, a status or a linked record)"
)


class QueryFilters(TypedDict, total=False):
    """The fields of :class:`MessageQuery` as keyword arguments (``search("x", status="sent")``);
    their defaults and checks are the query's."""

    channel: Channel | str | Sequence[Channel | str] | None
    status: MessageStatus | str | Sequence[MessageStatus | str] | None
    linked: LinkedEntity | Sequence[LinkedEntity] | None
    linked_all: bool
    created_by: str | None
    template: str | None
    since: datetime | None
    until: datetime | None
    scheduled_since: datetime | None
    scheduled_until: datetime | None
    sent_since: datetime | None
    sent_until: datetime | None
    order: Order | None
    limit: int | None
    offset: int
    after: str | None
