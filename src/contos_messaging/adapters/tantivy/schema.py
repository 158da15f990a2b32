"""Layout of the Tantivy index: its fields, a message's document in them (keyed tokens, never
words: see ``vocabulary.py``), which files are its own, and message ids as two 64-bit
numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import tantivy

from contos_messaging.adapters.tantivy.pairs import WAITING_FIELD, WAITING_VALUE
from contos_messaging.adapters.tantivy.vocabulary import VOCABULARY_FILE, Vocabulary
from contos_messaging.ports.search import SearchDocument

__all__ = [
    "LAYOUT",
    "LAYOUT_FILE",
    "TOKENS",
    "build_document",
    "build_schema",
    "is_index_file",
    "message_ids",
    "uuid_number",
    "uuid_text",
]

# The layout of the index; an index of another layout is emptied on open and rebuilt.
LAYOUT = 6  # (6: letter runs of words of letters and digits, see letter_runs.py)
# Keyed tokens are split at spaces, as they are (see vocabulary.py).
TOKENS = "whitespace"
LAYOUT_FILE = "contos-layout.json"


def build_schema() -> tantivy.Schema:
    """The fields of the index (a change of them needs a new :data:`LAYOUT`)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("message_id", stored=True, tokenizer_name="raw")
    # Subject, body, recipients, attachment names and template name as keyed tokens of their
    # folded words: one field, so that a query word is one lookup and a phrase of three or more
    # words one positional match.
    builder.add_text_field("text", tokenizer_name=TOKENS)
    # Neighbouring words as one term, for two-word phrases (see pairs.py); documents indexed
    # without them yet carry WAITING_FIELD.
    builder.add_text_field("pairs", tokenizer_name=TOKENS, index_option="freq")
    builder.add_text_field(WAITING_FIELD, tokenizer_name="raw")
    for name in ("channel", "status", "links", "created_by", "template"):
        builder.add_text_field(name, tokenizer_name="raw")
    builder.add_date_field("created_at", indexed=True, fast=True)
    # The compaction generation a document was written in (see compaction.py).
    builder.add_unsigned_field("generation", indexed=True, fast=True)
    # UUID message ids also as two 64-bit fast fields: hits resolve to ids without reading the
    # document store.
    builder.add_unsigned_field("id_hi", fast=True)
    builder.add_unsigned_field("id_lo", fast=True)
    return builder.build()


def build_document(
    doc: SearchDocument, vocabulary: Vocabulary, generation: int, *, pairs: bool = True
) -> tantivy.Document:
    """The index document of ``doc`` in the fields of :func:`build_schema`, its words as tokens
    of ``vocabulary``, written in compaction ``generation``; without ``pairs`` its word pairs
    are left for later (marked with ``WAITING_FIELD``)."""
    document = tantivy.Document()
    document.add_text("message_id", doc.message_id)
    number = uuid_number(doc.message_id)
    if number:  # otherwise resolved through the stored id
        document.add_unsigned("id_hi", number >> 64)
        document.add_unsigned("id_lo", number & 0xFFFFFFFFFFFFFFFF)
    text, pairs_text = vocabulary.fields(
        "\n".join((doc.subject, doc.body, doc.recipients, doc.attachment_names, doc.template_name)),
        pairs=pairs,
    )
    document.add_text("text", text)
    if pairs:
        document.add_text("pairs", pairs_text)
    else:
        document.add_text(WAITING_FIELD, WAITING_VALUE)
    document.add_text("channel", doc.channel.value)
    document.add_text("status", doc.status.value)
    document.add_text("created_by", doc.created_by)
    if doc.template_name:
        document.add_text("template", doc.template_name)
    for link in doc.links:
        document.add_text("links", link.key)
    document.add_date("created_at", doc.created_at.astimezone(dt.UTC))
    document.add_unsigned("generation", generation)
    return document


_INDEX_SUFFIXES = {".idx", ".pos", ".term", ".store", ".fast", ".fieldnorm", ".del", ".tmp"}


def is_index_file(name: str) -> bool:
    """Whether a file name is one Tantivy (or this adapter) writes in an index directory."""
    return (
        name in ("meta.json", ".managed.json", LAYOUT_FILE, VOCABULARY_FILE)
        or (name.startswith((VOCABULARY_FILE, LAYOUT_FILE)) and name.endswith(".tmp"))
        or name.startswith(".tantivy-")
        or Path(name).suffix in _INDEX_SUFFIXES
    )


def uuid_number(text: str) -> int:
    """The 128-bit number of a UUID in canonical text (lower-case, dashed); 0 for any other
    text, which :func:`uuid_text` could not give back unchanged."""
    if len(text) != 36 or text[8] != "-" or text[13] != "-" or text[18] != "-" or text[23] != "-":
        return 0
    digits = text.replace("-", "")
    if len(digits) != 32 or not (digits.isascii() and digits.isalnum()) or digits != digits.lower():
        return 0
    try:
        return int(digits, 16)
    except ValueError:
        return 0


def uuid_text(hi: int, lo: int) -> str:
    """The canonical text of the UUID whose 128 bits are ``hi`` and ``lo`` (what
    ``str(uuid.UUID(int=...))`` gives, for less)."""
    h = f"{hi:016x}{lo:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def message_ids(searcher: tantivy.Searcher, addresses: list[Any]) -> tuple[str, ...]:
    """The message ids of hits, from the id fast fields (the stored id only for ids that are
    not UUIDs)."""
    if not addresses:
        return ()
    his = searcher.fast_field_values("id_hi", addresses)
    los = searcher.fast_field_values("id_lo", addresses)
    return tuple(
        uuid_text(int(hi), int(lo or 0)) if hi else searcher.doc(address)["message_id"][0]
        for address, hi, lo in zip(addresses, his, los, strict=True)
    )
