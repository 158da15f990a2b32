"""What the in-memory fakes share with the SQLite adapters about keys: a text holding a lone
surrogate (``"\\ud800"``) cannot be encoded, so SQLite can neither store nor look it up; the
fakes refuse it the same way."""

from __future__ import annotations

from contos_messaging.errors import InvalidInput

__all__ = ["require_storable"]


def require_storable(where: str, *texts: str) -> None:
    """Raise :class:`InvalidInput` (as the SQLite adapters do) if a text holds a lone
    surrogate."""
    for text in texts:
        if isinstance(text, str) and not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidInput(
                    f"{where}: text with a lone surrogate (U+{ord(text[exc.start]):04X})"
                    " can be neither stored nor looked up"
                ) from None
