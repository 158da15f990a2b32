"""Links from messages to the host's business records."""

from __future__ import annotations

import re
import threading
from typing import ClassVar

import attrs

from contos_messaging.errors import InvalidInput, UnknownEntityKind

__all__ = ["EntityKind", "LinkedEntity"]

_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class EntityKind:
    """Registry of linked-entity kinds.

    Built in: ``client``, ``order``, ``contract``, ``statement`` (vyúčtování) and ``amendment``
    (dodatek komisní smlouvy). A host adds its own with :meth:`register`.
    """

    CLIENT: ClassVar[str] = "client"
    ORDER: ClassVar[str] = "order"
    CONTRACT: ClassVar[str] = "contract"
    STATEMENT: ClassVar[str] = "statement"
    AMENDMENT: ClassVar[str] = "amendment"

    BUILT_IN: ClassVar[frozenset[str]] = frozenset(
        {"client", "order", "contract", "statement", "amendment"}
    )
    _registered: ClassVar[set[str]] = set()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def register(cls, kind: str) -> str:
        """Register a host-defined kind (lowercase letters, digits and ``_``) and return it."""
        if not _KIND_RE.match(kind):
            raise InvalidInput(
                f"entity kind {kind!r} must be 1-32 lowercase letters, digits or '_', "
                "starting with a letter"
            )
        with cls._lock:
            cls._registered.add(kind)
        return kind

    @classmethod
    def is_known(cls, kind: str) -> bool:
        """Return whether ``kind`` is built in or registered."""
        return kind in cls.BUILT_IN or kind in cls._registered

    @classmethod
    def all(cls) -> frozenset[str]:
        """Return every known kind."""
        with cls._lock:
            return cls.BUILT_IN | frozenset(cls._registered)


def _check_kind(_instance: object, _attribute: object, kind: str) -> None:
    if not EntityKind.is_known(kind):
        raise UnknownEntityKind(kind)


def _check_id(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value or not value.strip():
        raise InvalidInput(f"linked entity id must be a non-empty string, got {value!r}")
    if len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(
            f"linked entity id {value!r} must be at most 200 characters without control characters"
        )


@attrs.frozen(order=True)
class LinkedEntity:
    """A reference to one business record of the host: ``LinkedEntity("order", "O-7")``."""

    kind: str = attrs.field(validator=_check_kind)
    id: str = attrs.field(validator=_check_id)

    @classmethod
    def client(cls, id: str) -> LinkedEntity:
        """A client (klient)."""
        return cls("client", id)

    @classmethod
    def order(cls, id: str) -> LinkedEntity:
        """An order (objednávka)."""
        return cls("order", id)

    @classmethod
    def contract(cls, id: str) -> LinkedEntity:
        """A contract (smlouva)."""
        return cls("contract", id)

    @classmethod
    def statement(cls, id: str) -> LinkedEntity:
        """A settlement statement (vyúčtování)."""
        return cls("statement", id)

    @classmethod
    def amendment(cls, id: str) -> LinkedEntity:
        """A commission-contract amendment (dodatek komisní smlouvy)."""
        return cls("amendment", id)

    @property
    def key(self) -> str:
        """``kind:id``, the form used in indexes."""
        return f"{self.kind}:{self.id}"

    def __str__(self) -> str:
        return self.key
