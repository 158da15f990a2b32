"""Sealed objects: compression choices and authentication of everything around the content."""

from __future__ import annotations

import os

import pytest

from contos_messaging import ConfigurationError, IntegrityError
from contos_messaging.adapters._shared.sealing import FLAG_DICT, FLAG_ZSTD, Sealer, parse_header
from contos_messaging.adapters.sqlite.schema import default_dictionary

KEY = bytes(range(32))
TEXT = ("Vážený pane Nováku, posíláme vyúčtování provizí za listopad. " * 20).encode()


@pytest.fixture(scope="module")
def sealer() -> Sealer:
    return Sealer({1: default_dictionary()}, default_dict_id=1)


def seal(sealer: Sealer, data: bytes = TEXT, object_id: str = "message:1", scope: str = "C-1"):
    return sealer.seal(data, object_id=object_id, scope=scope, key_id="k1", key=KEY)


def open_(
    sealer: Sealer, blob: bytes, object_id: str = "message:1", scope: str = "C-1", key: bytes = KEY
) -> bytes:
    return sealer.open(blob, object_id=object_id, scope=scope, key_for=lambda _k: key)


def test_round_trip_with_the_dictionary(sealer):
    blob = seal(sealer)
    header = parse_header("message:1", blob)
    assert header.flags == FLAG_ZSTD | FLAG_DICT
    assert (header.dict_id, header.key_id) == (1, "k1")
    assert len(blob) < len(TEXT) / 5
    assert open_(sealer, blob) == TEXT


def test_incompressible_data_is_stored_raw(sealer):
    data = os.urandom(2000)
    blob = seal(sealer, data)
    assert parse_header("x", blob).flags == 0
    assert open_(sealer, blob) == data
    assert open_(sealer, seal(sealer, b"")) == b""


def test_nonces_are_random(sealer):
    assert parse_header("x", seal(sealer)).nonce != parse_header("x", seal(sealer)).nonce


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"key": bytes(32)}, "authentication failed"),
        ({"object_id": "message:2"}, "authentication failed"),
        ({"scope": "C-2"}, "authentication failed"),
    ],
)
def test_wrong_key_or_moved_object_fails(sealer, change, reason):
    blob = seal(sealer)
    with pytest.raises(IntegrityError, match=reason) as info:
        open_(sealer, blob, **change)
    assert info.value.object_id == change.get("object_id", "message:1")


@pytest.mark.parametrize("position", [0, 2, 4, 5, 7, 9, 12, 30, -1])
def test_any_flipped_byte_fails(sealer, position):
    blob = bytearray(seal(sealer))
    blob[position] ^= 0x04
    with pytest.raises(IntegrityError):
        open_(sealer, bytes(blob))


def test_a_downgraded_header_fails(sealer):
    blob = bytearray(seal(sealer))
    blob[4] = 0  # flags: claim "not compressed"
    with pytest.raises(IntegrityError, match="authentication failed"):
        open_(sealer, bytes(blob))


@pytest.mark.parametrize("length", [0, 5, 20, 40])
def test_truncated_objects_fail(sealer, length):
    with pytest.raises(IntegrityError):
        open_(sealer, seal(sealer)[:length])


def test_unknown_dictionary_is_an_integrity_error():
    blob = seal(Sealer({7: default_dictionary()}, default_dict_id=7))
    with pytest.raises(IntegrityError, match="dictionary 7"):
        open_(Sealer(), blob)


def test_a_default_dictionary_that_is_not_loaded_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"dictionary 3 is not among .*\[1\]") as caught:
        Sealer({1: default_dictionary()}, default_dict_id=3)
    assert isinstance(caught.value, ValueError)
