"""In-memory key store (fake)."""

from __future__ import annotations

import os
from collections.abc import Collection

from contos_messaging.errors import ConfigurationError, KeyUnavailable
from contos_messaging.ports.keys import CLIENT_ERASED

__all__ = ["InMemoryKeyStore"]


class InMemoryKeyStore:
    """Random keys held in memory; destroyed scopes stay destroyed."""

    def __init__(self, master_key: bytes | None = None) -> None:
        self._master_key = master_key if master_key is not None else os.urandom(32)
        self._bridges = 0  # rotations not finished yet
        self._keys: dict[str, dict[str, bytes]] = {}
        self._current: dict[str, str] = {}
        self._destroyed: set[str] = set()
        self._erasures: list[str] = []  # erasure i has mark i + 1
        self._index_key = os.urandom(32)

    def _alive(self, scope: str) -> None:
        if scope in self._destroyed:
            raise KeyUnavailable(scope, CLIENT_ERASED)

    async def current(self, scope: str, /) -> tuple[str, bytes]:
        """The key for new writes, created on first use."""
        self._alive(scope)
        if scope not in self._current:
            await self.rotate(scope)
        key_id = self._current[scope]
        return key_id, self._keys[scope][key_id]

    async def get(self, scope: str, key_id: str, /) -> bytes:
        """A key by id."""
        self._alive(scope)
        try:
            return self._keys[scope][key_id]
        except KeyError:
            raise KeyUnavailable(scope, f"no key {key_id!r}") from None

    async def get_many(
        self, wanted: Collection[tuple[str, str]], /
    ) -> dict[tuple[str, str], bytes]:
        """Keys by ``(scope, key_id)``."""
        return {(scope, key_id): await self.get(scope, key_id) for scope, key_id in wanted}

    async def rotate(self, scope: str, /) -> str:
        """Add a key version."""
        self._alive(scope)
        versions = self._keys.setdefault(scope, {})
        key_id = f"k{len(versions) + 1}"
        versions[key_id] = os.urandom(32)
        self._current[scope] = key_id
        return key_id

    async def destroy(self, scope: str, /) -> None:
        """Forget every key of the scope."""
        self._keys.pop(scope, None)
        self._current.pop(scope, None)
        if scope not in self._destroyed:
            self._destroyed.add(scope)
            self._erasures.append(scope)

    async def erased_since(self, mark: int, /) -> tuple[int, frozenset[str]]:
        """``(new mark, scopes erased after mark)``."""
        mark = max(0, mark)
        return max(mark, len(self._erasures)), frozenset(self._erasures[mark:])

    async def rotate_master(self, new_master_key: bytes, /, *, finish: bool = False) -> int:
        """Take a new master key (refused as the SQLite key store refuses it); returns the
        number of keys."""
        if not isinstance(new_master_key, bytes) or len(new_master_key) != 32:
            raise ConfigurationError("the master key from new_master_key must be 32 bytes")
        if new_master_key == self._master_key:
            raise ConfigurationError("the new master key is the one the store is opened with")
        self._master_key = new_master_key
        self._bridges = 0 if finish else self._bridges + 1
        return sum(len(versions) for versions in self._keys.values()) + 1  # (+ blind index)

    async def finish_master_rotation(self) -> int:
        """End the rotations so far; returns how many."""
        count, self._bridges = self._bridges, 0
        return count

    async def blind_index_key(self) -> bytes:
        """The blind-index key."""
        return self._index_key

    async def aclose(self) -> None:
        """Nothing to release."""
