"""Sealed objects: zstd (optionally with a trained dictionary), then AES-256-GCM.

The one codec of sealed bytes, shared by the SQLite message repository (content column) and the
encrypted file store (blobs); it lives in ``adapters/_shared`` because both adapters must read
and write exactly this layout.

Layout of a sealed object (all integers big-endian)::

    magic    2 bytes  b"CM"
    version  1 byte   format version (1)
    alg      1 byte   1 = AES-256-GCM
    flags    1 byte   bit 0: zstd-compressed, bit 1: with dictionary
    dict_id  2 bytes  dictionary id (0: none)
    klen     1 byte   length of the key id
    key_id   klen bytes (ASCII)
    nonce    12 bytes (random)
    ciphertext || 16-byte GCM tag

The header, the object id and the scope are the GCM associated data, so an object that is moved
to another id or scope, swapped with another, downgraded or edited fails to open with
:class:`~contos_messaging.errors.IntegrityError` naming the object.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Mapping

import attrs
import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging.errors import ConfigurationError, IntegrityError

__all__ = ["SealHeader", "Sealer", "parse_header"]

MAGIC = b"CM"
FORMAT_VERSION = 1
ALG_AES256_GCM = 1
FLAG_ZSTD = 1
FLAG_DICT = 2
NONCE_BYTES = 12
TAG_BYTES = 16
_FIXED = struct.Struct(">2sBBBHB")
MAX_OPENED_BYTES = 64 * 1024 * 1024
"""Upper bound of one opened object (large attachments are sealed in chunks)."""


@attrs.frozen
class SealHeader:
    """The parsed header of a sealed object."""

    version: int
    alg: int
    flags: int
    dict_id: int
    key_id: str
    nonce: bytes
    length: int
    """Header length in bytes; the ciphertext starts here."""


def parse_header(object_id: str, blob: bytes) -> SealHeader:
    """Parse and check the header; raise :class:`IntegrityError` if it is not one of ours."""
    if len(blob) < _FIXED.size + NONCE_BYTES + TAG_BYTES:
        raise IntegrityError(object_id, "truncated: shorter than a sealed object")
    magic, version, alg, flags, dict_id, klen = _FIXED.unpack_from(blob)
    if magic != MAGIC:
        raise IntegrityError(object_id, "not a sealed object (bad magic)")
    if version != FORMAT_VERSION or alg != ALG_AES256_GCM:
        raise IntegrityError(object_id, f"unsupported format {version} / algorithm {alg}")
    start = _FIXED.size
    end = start + klen
    if len(blob) < end + NONCE_BYTES + TAG_BYTES:
        raise IntegrityError(object_id, "truncated header")
    try:
        key_id = blob[start:end].decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityError(object_id, "corrupted key id") from None
    nonce = blob[end : end + NONCE_BYTES]
    return SealHeader(version, alg, flags, dict_id, key_id, nonce, end + NONCE_BYTES)


def _aad(header: bytes, object_id: str, scope: str) -> bytes:
    return header + b"\x00" + object_id.encode("utf-8") + b"\x00" + scope.encode("utf-8")


class Sealer:
    """Seals and opens objects. Not thread-safe: give each worker thread its own instance.

    ``dictionaries`` maps dictionary ids to trained zstd dictionaries; ``default_dict_id`` is
    used for new objects when given. Data is stored raw when compression does not make it
    smaller.
    """

    def __init__(
        self,
        dictionaries: Mapping[int, bytes] | None = None,
        *,
        default_dict_id: int = 0,
        level: int = 3,
    ) -> None:
        self._dicts = {
            i: zstandard.ZstdCompressionDict(d, dict_type=zstandard.DICT_TYPE_FULLDICT)
            for i, d in (dictionaries or {}).items()
        }
        if default_dict_id and default_dict_id not in self._dicts:
            raise ConfigurationError(
                f"default compression dictionary {default_dict_id} is not among the loaded"
                f" dictionaries {sorted(self._dicts)}"
            )
        self._default = default_dict_id
        self._level = level
        self._compressors: dict[int, zstandard.ZstdCompressor] = {}
        self._decompressors: dict[int, zstandard.ZstdDecompressor] = {}
        self._aead: dict[bytes, AESGCM] = {}

    def add_dictionary(self, dict_id: int, data: bytes, *, default: bool = False) -> None:
        """Load another dictionary (and make it the default for new objects)."""
        self._dicts[dict_id] = zstandard.ZstdCompressionDict(
            data, dict_type=zstandard.DICT_TYPE_FULLDICT
        )
        if default:
            self._default = dict_id

    def _compressor(self, dict_id: int) -> zstandard.ZstdCompressor:
        c = self._compressors.get(dict_id)
        if c is None:
            # The frame needs no checksum, dictionary id or size: the seal authenticates the
            # payload and the header names the dictionary.
            c = zstandard.ZstdCompressor(
                level=self._level,
                dict_data=self._dicts[dict_id] if dict_id else None,
                write_checksum=False,
                write_dict_id=False,
                write_content_size=True,
            )
            self._compressors[dict_id] = c
        return c

    def _decompressor(self, object_id: str, dict_id: int) -> zstandard.ZstdDecompressor:
        d = self._decompressors.get(dict_id)
        if d is None:
            if dict_id:
                if dict_id not in self._dicts:
                    raise IntegrityError(object_id, f"unknown compression dictionary {dict_id}")
                d = zstandard.ZstdDecompressor(dict_data=self._dicts[dict_id])
            else:
                d = zstandard.ZstdDecompressor()
            self._decompressors[dict_id] = d
        return d

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._aead.get(key)
        if cipher is None:
            if len(self._aead) > 4096:
                self._aead.clear()
            cipher = self._aead[key] = AESGCM(key)
        return cipher

    def seal(
        self,
        data: bytes,
        *,
        object_id: str,
        scope: str,
        key_id: str,
        key: bytes,
        compress: bool = True,
        use_dictionary: bool = True,
    ) -> bytes:
        """Compress (when it helps), encrypt and return the sealed object."""
        flags = 0
        dict_id = 0
        payload = data
        if compress and data:
            dict_id = self._default if use_dictionary else 0
            packed = self._compressor(dict_id).compress(data)
            if len(packed) < len(data):
                payload = packed
                flags = FLAG_ZSTD | (FLAG_DICT if dict_id else 0)
            else:
                dict_id = 0
        kid = key_id.encode("ascii")
        header = _FIXED.pack(MAGIC, FORMAT_VERSION, ALG_AES256_GCM, flags, dict_id, len(kid)) + kid
        nonce = os.urandom(NONCE_BYTES)
        header += nonce
        return header + self._cipher(key).encrypt(nonce, payload, _aad(header, object_id, scope))

    def open(
        self,
        blob: bytes,
        *,
        object_id: str,
        scope: str,
        key_for: Callable[[str], bytes],
    ) -> bytes:
        """Authenticate, decrypt and decompress; :class:`IntegrityError` on any mismatch."""
        header = parse_header(object_id, blob)
        key = key_for(header.key_id)
        try:
            payload = self._cipher(key).decrypt(
                header.nonce, blob[header.length :], _aad(blob[: header.length], object_id, scope)
            )
        except InvalidTag:
            raise IntegrityError(
                object_id, "authentication failed (wrong key, corrupted, truncated or moved)"
            ) from None
        if not header.flags & FLAG_ZSTD:
            return payload
        try:
            return self._decompressor(object_id, header.dict_id).decompress(
                payload, max_output_size=MAX_OPENED_BYTES
            )
        except zstandard.ZstdError as exc:
            raise IntegrityError(object_id, f"decompression failed: {exc}") from exc
