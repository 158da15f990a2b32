"""Key port: per-scope data keys wrapped by a master key."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

__all__ = ["CLIENT_ERASED", "KeyStore"]

#: ``KeyUnavailable.reason`` when the scope (client) was erased.
CLIENT_ERASED = "the client was erased"


class KeyStore(Protocol):
    """**Protocol**: one random data key per scope (client), versioned by key id.

    New writes use :meth:`current`; reads look keys up by id with :meth:`get`. :meth:`destroy`
    crypto-shreds a scope: afterwards :meth:`get` and :meth:`current` raise
    :class:`~contos_messaging.errors.KeyUnavailable` for it (reason: the client was erased), for
    ever, in every process that shares the key store: an adapter checks the shared record of
    erasures before it hands out a key, never only a cache of its own.

    .. versionadded:: 0.1
    """

    async def current(self, scope: str, /) -> tuple[str, bytes]:
        """Return ``(key_id, key)`` for new writes in ``scope``, creating the first key."""
        ...

    async def get(self, scope: str, key_id: str, /) -> bytes:
        """Return the key ``key_id`` of ``scope``."""
        ...

    async def get_many(
        self, wanted: Collection[tuple[str, str]], /
    ) -> dict[tuple[str, str], bytes]:
        """Return the keys ``(scope, key_id)`` asked for, fetched together (a page of messages
        from twenty clients needs twenty keys); :class:`~contos_messaging.errors.KeyUnavailable`
        if any of them is unavailable.

        .. versionadded:: 0.2
        """
        ...

    async def rotate(self, scope: str, /) -> str:
        """Create a new key version for ``scope`` and return its id; old keys stay readable."""
        ...

    async def destroy(self, scope: str, /) -> None:
        """Destroy every key of ``scope`` (crypto-shredding)."""
        ...

    async def erased_since(self, mark: int, /) -> tuple[int, frozenset[str]]:
        """Return ``(new_mark, scopes)``: the scopes erased (by any process) after ``mark``, as
        the shared key store records them now, and the mark to pass next time; ``mark`` 0
        asks for every erasure. Holders of key caches of their own (the message repository)
        call it before each use, and drop the keys of those scopes.

        .. versionadded:: 0.4
        """
        ...

    async def rotate_master(self, new_master_key: bytes, /, *, finish: bool = False) -> int:
        """Wrap every key under ``new_master_key`` (32 bytes) with the store open and return
        how many keys there are; afterwards only the new master key opens the store. Processes
        opened with the old one keep working until :meth:`finish_master_rotation` (at once
        with ``finish``). :class:`~contos_messaging.errors.ConfigurationError` for a key that
        is not 32 bytes or is the one in use.

        .. versionadded:: 0.5
        """
        ...

    async def finish_master_rotation(self) -> int:
        """End the rotations so far: a process still running with an older master key can no
        longer read keys it does not hold. Returns how many rotations it ended.

        .. versionadded:: 0.5
        """
        ...

    async def blind_index_key(self) -> bytes:
        """Return the key for keyed blind-index hashes (exact lookup without clear text)."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...
