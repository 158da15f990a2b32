"""What the in-memory repository knows of erased clients, as the SQLite repository knows it:
the scopes whose keys the key store destroyed (``erase_client``'s first step), read again
before each read. Their messages, until ``erase_scope`` removes them, are never handed out:
reading one raises ``KeyUnavailable`` (the client was erased), lists and pages leave them out
and count them, claims pass them over, scans go past them, nothing new is stored for them, and
``verify`` reports them (and their send log) as no key opens them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from contos_messaging.domain.integrity import IntegrityProblem
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import KeyUnavailable
from contos_messaging.ports.keys import CLIENT_ERASED, KeyStore

__all__ = ["ErasedScopes"]


class ErasedScopes:
    """The scopes erased in ``keys`` (none without a key store)."""

    def __init__(self, keys: KeyStore | None) -> None:
        self._keys = keys
        self._mark = 0
        self.scopes: frozenset[str] = frozenset()

    async def refresh(self) -> frozenset[str]:
        """The erased scopes, read from the key store now."""
        if self._keys is not None:
            self._mark, erased = await self._keys.erased_since(self._mark)
            if erased:
                self.scopes |= erased
        return self.scopes

    def refuse(self, message: Message) -> Message:
        """``message``, or KeyUnavailable when its client was erased."""
        if message.key_scope in self.scopes:
            raise KeyUnavailable(message.key_scope, CLIENT_ERASED)
        return message

    def alive(self, message: Message) -> bool:
        """Whether ``message``'s client was not erased."""
        return message.key_scope not in self.scopes

    def problems(
        self, messages: Iterable[Message], attempts: Mapping[str, Sequence[SendAttempt]]
    ) -> tuple[IntegrityProblem, ...]:
        """What ``verify`` reports of the erased clients' messages and their attempts (as the
        SQLite repository words it: the key is unavailable, the client was erased)."""
        found: list[IntegrityProblem] = []
        for message in messages:
            if message.key_scope in self.scopes:
                reason = str(KeyUnavailable(message.key_scope, CLIENT_ERASED))
                found.append(IntegrityProblem(f"message:{message.id}", reason))
                found += [
                    IntegrityProblem(f"attempt:{a.id}", reason)
                    for a in attempts.get(message.id, ())
                ]
        return tuple(found)
