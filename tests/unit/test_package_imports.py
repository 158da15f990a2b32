"""The package's top level imports the facade, the services and the adapters only when first
asked for them: a process that needs part of the package (a render worker, a host importing
domain types) does not load SQLite, Tantivy, SMTP or the facade; every public name still
resolves, and an unknown one is an AttributeError."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import contos_messaging

HEAVY = (
    "contos_messaging.messenger",
    "contos_messaging.bootstrap",
    "contos_messaging.adapters.sqlite",
    "contos_messaging.adapters.tantivy",
    "contos_messaging.adapters.smtp",
    "contos_messaging.adapters.smpp",
    "contos_messaging.services.core",
    "tantivy",
    "aiosmtplib",
)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "statement",
    [
        "import contos_messaging",
        "from contos_messaging import LinkedEntity, Message, MessagingError",
        "import contos_messaging.adapters.rendering.worker",
    ],
)
def test_importing_part_of_the_package_loads_no_store_index_transport_or_facade(statement):
    loaded = _loaded_after(statement)
    assert sorted(name for name in HEAVY if name in loaded) == []


def test_the_facade_is_loaded_when_first_asked_for():
    loaded = _loaded_after("from contos_messaging import AsyncMessenger")
    assert {"contos_messaging.messenger", "contos_messaging.adapters.sqlite"} <= loaded


def test_every_public_name_resolves_and_an_unknown_one_is_an_attribute_error():
    for name in contos_messaging.__all__:
        assert getattr(contos_messaging, name) is not None, name
        assert name in dir(contos_messaging)
    assert contos_messaging.Messenger.__module__ == "contos_messaging.sync"
    with pytest.raises(AttributeError, match="has no attribute 'Mesenger'"):
        contos_messaging.Mesenger  # noqa: B018
    for odd in ("__wrapped__", "a.b", ""):
        with pytest.raises(AttributeError):
            getattr(contos_messaging, odd)


def test_a_subpackage_is_reached_as_an_attribute_as_before():
    """``import contos_messaging`` then ``contos_messaging.sync``: imported when first used (an
    eager top level made every subpackage an attribute as a side effect)."""
    code = (
        "import contos_messaging\n"
        "print(contos_messaging.sync.Messenger.__name__,"
        " contos_messaging.adapters.sqlite.SQLiteKeyStore.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["Messenger", "SQLiteKeyStore"]
