"""Lone surrogates (``"\\ud800"``) are not text: no encoding can store or send them. A render
refuses a variable that holds one, naming it, and output that would contain one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["lone_surrogate", "variable_with_lone_surrogate"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = (Mapping, list, tuple, set, frozenset)


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``U+D800``, or None."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _path(parent: str, key: object, mapping: bool) -> str:
    if not mapping:
        return f"{parent}[{key}]"
    if isinstance(key, str) and key.isidentifier() and lone_surrogate(key) is None:
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key!r}]" if parent else repr(key)


def variable_with_lone_surrogate(variables: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(variable, "U+D800")`` for the first text among ``variables`` (in dicts, lists,
    tuples and sets, to any depth; keys as well as values) that holds a lone surrogate, as the
    template would name it (``client.name``, ``items[3]``, ``x['a b']``); else None.
    Iterative, and each container is looked at once, so deep or cyclic values are fine."""
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
