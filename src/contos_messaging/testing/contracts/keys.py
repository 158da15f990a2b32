"""Contract of the :class:`~contos_messaging.ports.KeyStore` port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging.errors import ConfigurationError, KeyUnavailable
from contos_messaging.ports import KeyStore
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test

__all__ = ["KeyStoreContract"]


class KeyStoreContract(Contract):
    """The behaviour every :class:`~contos_messaging.ports.KeyStore` keeps. Subclass it as
    ``Test...`` and define :meth:`make_key_store`.

    .. versionadded:: 0.3
    """

    async def make_key_store(self, directory: Path) -> KeyStore:
        """A new key store holding no client keys yet."""
        raise not_defined(self, "make_key_store")

    @pytest_asyncio.fixture
    async def keys(self, tmp_path: Path) -> AsyncIterator[KeyStore]:
        """The key store under test, closed after the test."""
        async with under_test(self, self.make_key_store, tmp_path) as store:
            yield store

    async def test_current_creates_a_32_byte_key_once(self, keys: KeyStore) -> None:
        key_id, key = await keys.current("C-1")
        assert len(key) == 32
        assert await keys.current("C-1") == (key_id, key)
        assert await keys.get("C-1", key_id) == key

    async def test_scopes_get_different_keys(self, keys: KeyStore) -> None:
        assert (await keys.current("C-1"))[1] != (await keys.current("C-2"))[1]

    async def test_rotation_keeps_old_keys_readable(self, keys: KeyStore) -> None:
        old_id, old = await keys.current("C-1")
        new_id = await keys.rotate("C-1")
        assert new_id != old_id
        current_id, current = await keys.current("C-1")
        assert current_id == new_id
        assert current != old
        assert await keys.get("C-1", old_id) == old

    async def test_destroyed_scope_never_yields_a_key_again(self, keys: KeyStore) -> None:
        """Keys read (and cached) before the erasure are refused after it, for writes, reads
        and rotation, with a reason that says the client was erased; the erasure is recorded
        once in :meth:`~contos_messaging.ports.KeyStore.erased_since`."""
        key_id, _ = await keys.current("C-1")
        await keys.get("C-1", key_id)
        await keys.get_many([("C-1", key_id)])
        await keys.current("C-2")
        start, none = await keys.erased_since(0)
        assert none == frozenset()
        await keys.destroy("C-1")
        for attempt in (
            keys.current("C-1"),
            keys.get("C-1", key_id),
            keys.get_many([("C-1", key_id)]),
            keys.rotate("C-1"),
        ):
            with pytest.raises(KeyUnavailable, match="erased") as caught:
                await attempt
            assert caught.value.scope == "C-1"
        assert len((await keys.current("C-2"))[1]) == 32
        mark, erased = await keys.erased_since(start)
        assert erased == {"C-1"}
        assert mark != start
        assert await keys.erased_since(mark) == (mark, frozenset())
        await keys.destroy("C-1")  # erasing again records nothing new
        assert await keys.erased_since(mark) == (mark, frozenset())
        await keys.destroy("C-2")
        assert (await keys.erased_since(mark))[1] == {"C-2"}
        assert (await keys.erased_since(0))[1] == {"C-1", "C-2"}

    async def test_unknown_key_id_raises_key_unavailable(self, keys: KeyStore) -> None:
        await keys.current("C-1")
        with pytest.raises(KeyUnavailable):
            await keys.get("C-1", "no-such-key")

    async def test_blind_index_key_is_stable(self, keys: KeyStore) -> None:
        first = await keys.blind_index_key()
        assert len(first) >= 32
        assert await keys.blind_index_key() == first

    async def test_get_many_returns_every_key_asked_for(self, keys: KeyStore) -> None:
        one_id, one = await keys.current("C-1")
        two_id, two = await keys.current("C-2")
        newer_id = await keys.rotate("C-1")
        _, newer = await keys.current("C-1")
        got = await keys.get_many([("C-1", one_id), ("C-2", two_id), ("C-1", newer_id)])
        assert got == {("C-1", one_id): one, ("C-2", two_id): two, ("C-1", newer_id): newer}
        assert await keys.get_many([]) == {}

    async def test_get_many_fails_when_any_key_is_unavailable(self, keys: KeyStore) -> None:
        one_id, _ = await keys.current("C-1")
        two_id, _ = await keys.current("C-2")
        await keys.destroy("C-2")
        with pytest.raises(KeyUnavailable):
            await keys.get_many([("C-1", one_id), ("C-2", two_id)])
        with pytest.raises(KeyUnavailable):
            await keys.get_many([("C-1", "no-such-key")])
        assert len((await keys.get_many([("C-1", one_id)]))[("C-1", one_id)]) == 32

    async def test_a_master_key_rotation_keeps_every_key(self, keys: KeyStore) -> None:
        """Rotating the master key changes no client key, counts every key (the blind-index
        key included), and refuses a key that is not 32 bytes or is the one in use.

        .. versionadded:: 0.5
        """
        one_id, one = await keys.current("C-1")
        two_id, two = await keys.current("C-2")
        blind = await keys.blind_index_key()
        for wrong in (b"short", b"x" * 33, "a" * 32):
            with pytest.raises(ConfigurationError):
                await keys.rotate_master(wrong)  # type: ignore[arg-type]
        new_master = os.urandom(32)
        assert await keys.rotate_master(new_master) == 3
        with pytest.raises(ConfigurationError, match="the one"):
            await keys.rotate_master(new_master)
        assert await keys.get_many([("C-1", one_id), ("C-2", two_id)]) == {
            ("C-1", one_id): one,
            ("C-2", two_id): two,
        }
        assert await keys.blind_index_key() == blind
        assert len((await keys.current("C-3"))[1]) == 32
        assert await keys.rotate_master(os.urandom(32)) == 4
        assert await keys.finish_master_rotation() == 2
        assert await keys.finish_master_rotation() == 0
        assert await keys.rotate_master(os.urandom(32), finish=True) == 4
        assert await keys.finish_master_rotation() == 0
        assert await keys.get("C-1", one_id) == one
