"""The records file (``--records FILE``): the business records a host would supply, for the
command line to compose and preview from linked records (``--link client:C-1`` with no
``--to``, template variables such as ``{{ order.number }}``).

It is JSON, one entry per record::

    {
      "client:C-1": {"contact": {"name": "Jan Novák", "email": "jan@example.com",
                                  "phone": "601 123 456"},
                     "variables": {"name": "Jan Novák", "last_name": "Novák"}},
      "order:O-7": {"owner": "client:C-1", "variables": {"number": "O-7", "total": 1250}}
    }

``contact`` is how to reach the record, ``owner`` whose record it is (messages about it reach
that client), ``variables`` what templates see under the record's kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contos_messaging import Contact
from contos_messaging.adapters.memory.context import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.cli.convert import parse_link
from contos_messaging.cli.exit_codes import CliError, ExitCode

__all__ = ["load_records"]

_KEYS = {"contact", "owner", "variables"}
_CONTACT = {"name", "email", "phone"}


def _fail(path: Path, reason: str) -> CliError:
    return CliError(f"records file {path}: {reason}", ExitCode.CONFIG)


def _entry(path: Path, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, f"{key}: expected an object")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise _fail(path, f"{key}: unknown key {unknown[0]!r} (known: {sorted(_KEYS)})")
    contact = value.get("contact", {})
    if not isinstance(contact, dict) or set(contact) - _CONTACT:
        raise _fail(path, f"{key}: contact takes {sorted(_CONTACT)}")
    if not isinstance(value.get("variables", {}), dict):
        raise _fail(path, f"{key}: variables must be an object")
    return value


def load_records(path: Path) -> tuple[InMemoryAddressBook, InMemoryContextProvider]:
    """The address book and the records' variables of the records file at ``path``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "expected an object of records by kind:id")
    book, context = InMemoryAddressBook(), InMemoryContextProvider()
    for key, value in data.items():
        record = parse_link(key)
        entry = _entry(path, key, value)
        if entry.get("contact"):
            book.add(record, Contact(**entry["contact"]))
        if entry.get("owner"):
            book.own(record, parse_link(str(entry["owner"])))
        if entry.get("variables"):
            context.add(record, entry["variables"])
    return book, context
