"""Lone surrogates (``"\\ud800"``) are not text: no encoding can store or send them. A render
refuses a variable that holds one, naming it, and output that would contain one."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["lone_surrogate", "pickle_may_hold_lone_surrogate", "variable_with_lone_surrogate"]

# A lone surrogate as pickle writes text (UTF-8 with "surrogatepass"): no valid UTF-8 holds it.
_PICKLED_SURROGATE = re.compile(b"\xed[\xa0-\xbf]")
_CONTAINERS = (Mapping, list, tuple, set, frozenset)
# Values the quick look passes over: of these exact types, none is text or holds any.
_PLAIN = frozenset(
    {int, float, bool, type(None), bytes, dt.date, dt.datetime, dt.time, decimal.Decimal}
)


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``U+D800``, or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")  # (a few times quicker than searching for one)
    except UnicodeEncodeError as exc:
        return f"U+{ord(text[exc.start]):04X}"
    return None


def pickle_may_hold_lone_surrogate(data: bytes) -> bool:
    """Whether pickled ``data`` may hold text with a lone surrogate: pickle writes every string
    (dictionary keys, set members, anything nested) as UTF-8, a lone surrogate as the bytes
    ``ED A0``-``ED BF`` and something, which valid UTF-8 never holds. False means that no
    string it unpickles to holds one; True may also come from other bytes (numbers, bytes)."""
    return _PICKLED_SURROGATE.search(data) is not None


def _path(parent: str, key: object, mapping: bool) -> str:
    if not mapping:
        return f"{parent}[{key}]"
    if isinstance(key, str) and key.isidentifier() and lone_surrogate(key) is None:
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key!r}]" if parent else repr(key)


def _surely_free(variables: Mapping[str, Any]) -> bool:
    """True when no text among ``variables`` holds a lone surrogate, found by a quick look at
    the plain types (exact dicts, lists, tuples, sets, str and the scalars); False when one
    does, or when anything else it would have to look into (a Mapping of another kind, a
    subclass of str) is there: then the careful search below decides."""
    seen: set[int] = set()
    pending: list[Any] = [variables]
    while pending:
        container = pending.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        kind = type(container)
        values: Iterable[Any]
        if kind is dict:
            for key in container:
                if type(key) is str:
                    if not key.isascii():
                        try:
                            key.encode("utf-8")
                        except UnicodeEncodeError:
                            return False
                elif isinstance(key, str):
                    return False
            values = container.values()
        elif kind is list or kind is tuple or kind is set or kind is frozenset:
            values = container
        else:
            return False
        for value in values:
            kind = type(value)
            if kind is str:
                if not value.isascii():
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        return False
            elif kind in _PLAIN:
                continue
            elif isinstance(value, str):
                return False
            elif isinstance(value, _CONTAINERS):
                pending.append(value)
    return True


def variable_with_lone_surrogate(variables: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(variable, "U+D800")`` for the first text among ``variables`` (in dicts, lists,
    tuples and sets, to any depth; keys as well as values) that holds a lone surrogate, as the
    template would name it (``client.name``, ``items[3]``, ``x['a b']``); else None.
    Iterative, and each container is looked at once, so deep or cyclic values are fine."""
    if _surely_free(variables):
        return None
    seen: set[int] = set()
    pending: list[tuple[str, Any]] = [("", variables)]
    while pending:
        parent, container = pending.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        mapping = isinstance(container, Mapping)
        items: Iterable[tuple[object, Any]] = container.items() if mapping else enumerate(container)
        for key, value in items:
            if isinstance(key, str) and (code := lone_surrogate(key)) is not None:
                return _path(parent, key, mapping), code
            if isinstance(value, str):
                if (code := lone_surrogate(value)) is not None:
                    return _path(parent, key, mapping), code
            elif isinstance(value, _CONTAINERS):
                pending.append((_path(parent, key, mapping), value))
    return None
