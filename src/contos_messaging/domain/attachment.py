"""Attachments: sanitised metadata; the bytes live in the blob store.

The blob store keys an attachment by a digest of its content, so equal content is stored once
per client scope. That digest is never the plain SHA-256 once stored (anyone holding a candidate
file could confirm a client received it): it is HMAC-SHA256 of the content's SHA-256 under the
scope's deduplication key, itself HMAC-SHA256 of the scope under the store's blind-index key
(which the master key wraps). See :func:`dedup_key` and :meth:`Attachment.keyed`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from pathlib import Path

import attrs

from contos_messaging.errors import InvalidAttachment

__all__ = ["KEYED_PREFIX", "Attachment", "dedup_key", "keyed_digest", "sanitise_filename"]

MAX_FILENAME_BYTES = 180
_RESERVED = (
    {"CON", "PRN", "AUX", "NUL", "CLOCK$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
)
_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".isdoc": "application/xml",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".zip": "application/zip",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".eml": "message/rfc822",
}
_CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CHUNK = 1 << 20
KEYED_PREFIX = "k1-"
"""Starts every keyed digest (a plain SHA-256 is 64 hex digits and nothing else)."""
_DEDUP_LABEL = b"contos-messaging attachment dedup v1\x00"


def dedup_key(index_key: bytes, scope: str) -> bytes:
    """The deduplication key of ``scope``, derived from the store's blind-index key."""
    return hmac.new(index_key, _DEDUP_LABEL + scope.encode("utf-8"), hashlib.sha256).digest()


def keyed_digest(scope_key: bytes, sha256_hex: str) -> str:
    """The blob key of content whose plain SHA-256 is ``sha256_hex``, under the scope's
    :func:`dedup_key`: a MAC of the content, useless without the key."""
    mac = hmac.new(scope_key, bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()
    return KEYED_PREFIX + mac


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def sanitise_filename(name: str) -> str:
    """Return a safe file name: no directories, control characters or reserved device names,
    at most ``MAX_FILENAME_BYTES`` bytes of UTF-8 with the extension kept."""
    if not isinstance(name, str):
        raise InvalidAttachment(repr(name), "the file name must be a string")
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
    )
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    ext = _truncate_utf8(ext, 16)
    budget = MAX_FILENAME_BYTES - (len(ext.encode("utf-8")) + 1 if ext else 0)
    stem = _truncate_utf8(stem, budget).strip(" .")
    if not stem:
        stem = "attachment"
    return f"{stem}.{ext}" if ext else stem


def _guess_content_type(filename: str) -> str:
    return _CONTENT_TYPES.get(os.path.splitext(filename)[1].lower(), "application/octet-stream")


def _check_content_type(_instance: object, _attribute: object, value: str) -> None:
    if not _CONTENT_TYPE_RE.match(value):
        raise InvalidAttachment(value, "content type must look like 'type/subtype'")


@attrs.frozen
class Attachment:
    """A file attached to an e-mail.

    Build one with :meth:`from_bytes` or :meth:`from_path`. Messages hold only the metadata
    (name, type, size, content digest); the content travels to the blob store when the message
    is stored.

    ``sha256`` is the digest the blob store keys the content by: the plain SHA-256 (hex) of a
    new attachment, and on a stored message its keyed form (:attr:`is_keyed`,
    :func:`keyed_digest`), so no plain digest of any content is stored. Messages written before
    keyed digests keep their plain one.
    """

    filename: str = attrs.field(converter=sanitise_filename)
    content_type: str = attrs.field(validator=_check_content_type)
    size: int
    sha256: str
    source: bytes | Path | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_bytes(cls, filename: str, data: bytes, content_type: str | None = None) -> Attachment:
        """An attachment whose content is ``data``."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidAttachment(str(filename), "content must be bytes")
        data = bytes(data)
        clean = sanitise_filename(filename)
        return cls(
            filename=clean,
            content_type=(content_type or _guess_content_type(clean)).lower(),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            source=data,
        )

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """An attachment read from a file; the file is hashed in chunks and read again on store."""
        p = Path(path)
        digest = hashlib.sha256()
        size = 0
        try:
            with p.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise InvalidAttachment(str(path), f"cannot read the file: {exc.strerror}") from exc
        clean = sanitise_filename(filename or p.name)
        return cls(
            filename=clean,
            content_type=(content_type or _guess_content_type(clean)).lower(),
            size=size,
            sha256=digest.hexdigest(),
            source=p,
        )

    @property
    def is_keyed(self) -> bool:
        """Whether :attr:`sha256` is the keyed digest (as stored) rather than the plain one."""
        return self.sha256.startswith(KEYED_PREFIX)

    def keyed(self, scope_key: bytes) -> Attachment:
        """This attachment with its keyed digest under ``scope_key`` (see :func:`dedup_key`);
        itself when already keyed."""
        if self.is_keyed:
            return self
        return attrs.evolve(self, sha256=keyed_digest(scope_key, self.sha256))

    @property
    def has_content(self) -> bool:
        """Whether this value still carries its content (before it was stored)."""
        return self.source is not None

    def metadata_only(self) -> Attachment:
        """The same attachment without its content."""
        return attrs.evolve(self, source=None)
