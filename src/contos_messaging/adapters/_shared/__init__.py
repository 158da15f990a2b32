"""Internal code shared by more than one adapter; not part of the public API.

:mod:`~contos_messaging.adapters._shared.sealing` is the sealed-object codec (zstd, optionally
with a trained dictionary, then AES-256-GCM) used by both the SQLite message repository and the
encrypted file store. Code lives here when two adapter packages need the same bytes on disk;
code used by one adapter stays in that adapter's package. Nothing here is re-exported, and
importing it does no I/O.
"""
