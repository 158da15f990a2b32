"""Contract of the KeyStore port."""

from __future__ import annotations

import pytest

from contos_messaging import KeyUnavailable


async def test_current_creates_a_32_byte_key_once(keys):
    key_id, key = await keys.current("C-1")
    assert len(key) == 32
    assert await keys.current("C-1") == (key_id, key)
    assert await keys.get("C-1", key_id) == key


async def test_scopes_get_different_keys(keys):
    assert (await keys.current("C-1"))[1] != (await keys.current("C-2"))[1]


async def test_rotation_keeps_old_keys_readable(keys):
    old_id, old = await keys.current("C-1")
    new_id = await keys.rotate("C-1")
    assert new_id != old_id
    current_id, current = await keys.current("C-1")
    assert current_id == new_id
    assert current != old
    assert await keys.get("C-1", old_id) == old


async def test_destroyed_scope_never_yields_a_key_again(keys):
    key_id, _ = await keys.current("C-1")
    await keys.current("C-2")
    await keys.destroy("C-1")
    with pytest.raises(KeyUnavailable):
        await keys.get("C-1", key_id)
    with pytest.raises(KeyUnavailable):
        await keys.current("C-1")
    assert len((await keys.current("C-2"))[1]) == 32


async def test_unknown_key_id_raises_key_unavailable(keys):
    await keys.current("C-1")
    with pytest.raises(KeyUnavailable):
        await keys.get("C-1", "no-such-key")


async def test_blind_index_key_is_stable(keys):
    first = await keys.blind_index_key()
    assert len(first) >= 32
    assert await keys.blind_index_key() == first


async def test_get_many_returns_every_key_asked_for(keys):
    one_id, one = await keys.current("C-1")
    two_id, two = await keys.current("C-2")
    newer_id = await keys.rotate("C-1")
    _, newer = await keys.current("C-1")
    got = await keys.get_many([("C-1", one_id), ("C-2", two_id), ("C-1", newer_id)])
    assert got == {("C-1", one_id): one, ("C-2", two_id): two, ("C-1", newer_id): newer}
    assert await keys.get_many([]) == {}


async def test_get_many_fails_when_any_key_is_unavailable(keys):
    one_id, _ = await keys.current("C-1")
    two_id, _ = await keys.current("C-2")
    await keys.destroy("C-2")
    with pytest.raises(KeyUnavailable):
        await keys.get_many([("C-1", one_id), ("C-2", two_id)])
    with pytest.raises(KeyUnavailable):
        await keys.get_many([("C-1", "no-such-key")])
    assert len((await keys.get_many([("C-1", one_id)]))[("C-1", one_id)]) == 32
