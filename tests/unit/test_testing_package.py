"""The shipped test helpers: one package, every name where it was, no import side effects."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import contos_messaging.testing

_SNAPSHOT_AND_IMPORT = textwrap.dedent(
    """
    import importlib, logging, pkgutil, sys, warnings

    def state():
        manager = logging.Logger.manager
        loggers = {"": logging.getLogger()}
        loggers.update((n, lg) for n, lg in manager.loggerDict.items()
                       if isinstance(lg, logging.Logger))
        configured = {
            name: (lg.level, list(lg.handlers), list(lg.filters), lg.propagate, lg.disabled)
            for name, lg in loggers.items()
            if name == "" or lg.level or lg.handlers or lg.filters or not lg.propagate
            or lg.disabled
        }
        return (manager.disable, logging.getLoggerClass(), logging.getLogRecordFactory(),
                configured, list(warnings.filters))

    before = state()
    import contos_messaging
    names = [m.name for m in pkgutil.walk_packages(contos_messaging.__path__, "contos_messaging.")
             if not m.name.endswith("__main__")]
    for name in names:
        importlib.import_module(name)
    assert "contos_messaging.testing.smtp" in names and "aiosmtpd" in sys.modules
    assert "contos_messaging.testing.contracts.transports" in names
    after = state()
    print(len(names), "modules")
    assert after == before, (before, after)
    """
)


def test_importing_every_module_changes_no_logging_or_warnings_configuration():
    """Every module of the library, the SMTP test server and the contract suites included,
    imported in a fresh interpreter: loggers, handlers, filters and warning filters as before."""
    result = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT_AND_IMPORT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split()[0]) > 50


def test_the_helpers_are_where_they_were():
    assert sorted(contos_messaging.testing.__all__) == [
        "FakeParts",
        "InMemoryAddressBook",
        "InMemoryBlobStore",
        "InMemoryContextProvider",
        "InMemoryKeyStore",
        "InMemoryMessageRepository",
        "InMemorySearchIndex",
        "InMemoryTemplateRepository",
        "ManualClock",
        "RecordingEmailTransport",
        "RecordingSmsTransport",
        "Refusal",
        "make_async_test_messenger",
        "make_test_messenger",
    ]
    assert all(getattr(contos_messaging.testing, n) for n in contos_messaging.testing.__all__)


def test_the_testing_package_does_not_import_its_optional_parts():
    """``contos_messaging.testing`` works without aiosmtpd and pytest: its SMTP server and
    contract suites load only when imported by name."""
    code = (
        "import sys, contos_messaging.testing\n"
        "print(sorted(m for m in ('aiosmtpd', 'pytest', 'pytest_asyncio') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
