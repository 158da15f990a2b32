"""The facades' first line of defence: every argument of a public method is checked against
its annotation before the method runs (and text arguments for lone surrogates), so a wrong
type raises :class:`~contos_messaging.errors.InvalidArgument` naming the method, the
parameter, what it takes and what it got, instead of a ``TypeError`` or ``AttributeError``
from deep inside.

Checks are beartype's: constant time per argument (a collection is checked by one of its
items, its other items by the domain's own parsing). Values of the right type that are still
wrong (an empty address, a naive date, a limit over its bound) are the domain's to refuse.
"""

from __future__ import annotations

import functools
import inspect
import re
import reprlib
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from beartype import BeartypeConf
from beartype.door import is_bearable
from beartype.roar import BeartypeException

from contos_messaging.errors import InvalidArgument

__all__ = ["checked", "checked_methods"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)

_CONF = BeartypeConf(is_pep484_tower=True)  # an int where a float is asked for is fine
_QUALIFIED = re.compile(r"\b(?:[a-z_][\w]*\.)+(?=[A-Za-z_]\w*)")
_REPR = reprlib.Repr()  # (keyword arguments need Python 3.12)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 3


def _describe(hint: object) -> str:
    """A type hint as a reader writes it (``str | EmailAddress | None``)."""
    text = getattr(hint, "__name__", None) if isinstance(hint, type) else None
    return text or _QUALIFIED.sub("", str(hint)).replace("NoneType", "None")


# Parameters whose values are secrets: an error names their type, never their value.
_SECRET = frozenset({"master_key", "new_key", "old_key"})


def _shown(value: object, parameter: str = "") -> str:
    if parameter in _SECRET:
        return type(value).__name__ + " (not shown: a key)"
    try:
        return f"{type(value).__name__} {_REPR.repr(value)}"
    except Exception:  # a value whose repr fails is still named by its type
        return type(value).__name__


def _lone_surrogate(value: object) -> str | None:
    """Where a text argument, or a text item of a list, tuple or set argument, holds a lone
    surrogate (``"\\ud800"``: no encoding can store it), as ``U+D800 at 3``; else None."""
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, list | tuple | set | frozenset):
        texts = [item for item in value if isinstance(item, str)]
    for text in texts:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"U+{ord(text[exc.start]):04X} at {exc.start}"
    return None


def _bearable(value: object, hint: Any) -> bool:
    """Whether ``value`` fits ``hint``; a hint beartype cannot check at run time (a protocol
    that is not runtime-checkable, such as the ports) admits anything."""
    try:
        return is_bearable(value, hint, conf=_CONF)
    except BeartypeException:
        return True


def _texts(arguments: dict[str, Any], packs: set[str]) -> list[tuple[str, Any]]:
    """The arguments by name, with keyword packs opened (``template="x"`` of ``**filters``)."""
    named = [(k, v) for k, v in arguments.items() if k not in packs]
    for pack in packs & arguments.keys():
        if isinstance(arguments[pack], dict):
            named.extend(arguments[pack].items())
    return named


def _check_pack(function: str, hint: object, values: object) -> None:
    """Check ``**parts: Unpack[SomeTypedDict]``: every key is one of the dictionary's and its
    value has that key's type (a pack of another kind is left to the method)."""
    (fields,) = typing.get_args(hint) or (None,)
    if not (isinstance(values, dict) and typing.is_typeddict(fields)):
        return
    types = typing.get_type_hints(fields)
    for key, value in values.items():
        if key not in types:
            known = ", ".join(sorted(types))
            raise InvalidArgument(function, key, f"is not a parameter; it takes {known}")
        if not _bearable(value, types[key]):
            reason = f"takes {_describe(types[key])}, got {_shown(value, key)}"
            raise InvalidArgument(function, key, reason)


def checked(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """``function`` (a coroutine function) with its arguments checked against its annotations
    first; keyword packs typed ``Unpack[SomeTypedDict]`` key by key."""
    signature = inspect.signature(function)
    resolved: list[dict[str, Any]] = []  # at the first call: the class may not exist yet
    packs = {
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    }
    method = "." in function.__qualname__

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # Named by the class it is called on (a method inherited from a part of the facade
        # is the facade's): ``AsyncMessenger.send()``.
        name = function.__qualname__
        if method and args:
            owner = args[0] if isinstance(args[0], type) else type(args[0])
            name = f"{owner.__name__}.{function.__name__}"
        if not resolved:
            resolved.append(typing.get_type_hints(function))
        hints = resolved[0]
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArgument(name, "", str(exc)) from None
        for parameter, value in bound.arguments.items():
            hint = hints.get(parameter)
            if parameter in packs:
                _check_pack(name, hint, value)
            elif hint is not None and not _bearable(value, hint):
                reason = f"takes {_describe(hint)}, got {_shown(value, parameter)}"
                raise InvalidArgument(name, parameter, reason)
        for parameter, value in _texts(bound.arguments, packs):
            position = _lone_surrogate(value)
            if position is not None:
                reason = f"holds a lone surrogate ({position}), which is not text"
                raise InvalidArgument(name, parameter, reason)
        return await function(*args, **kwargs)

    return wrapper


def checked_methods(cls: C) -> C:
    """``cls`` with every public coroutine method (and class method) :func:`checked`."""
    for attribute, value in list(vars(cls).items()):
        if attribute.startswith("_"):
            continue
        if inspect.iscoroutinefunction(value):
            setattr(cls, attribute, checked(value))
        elif isinstance(value, classmethod) and inspect.iscoroutinefunction(value.__func__):
            setattr(cls, attribute, classmethod(checked(value.__func__)))
    return cls
