"""The contract suites as a host application uses them: in its own test tree, under
pytest-asyncio's strict mode, with hooks left out or a factory forgotten."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_host_tests(directory: Path, source: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a host's test module with pytest, away from our configuration."""
    (directory / "test_host.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=strict", "-o", "asyncio_default_fixture_loop_scope=function",
         "test_host.py"],
        cwd=directory, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_suite_without_peer_hooks_skips_the_tests_that_need_them_and_runs_the_rest(tmp_path):
    result = run_host_tests(
        tmp_path,
        """
        from contos_messaging.adapters.memory import RecordingEmailTransport
        from contos_messaging.testing.contracts import EmailTransportContract

        class TestHostTransport(EmailTransportContract):
            async def make_transport(self, directory):
                return RecordingEmailTransport(max_message_size=64 * 1024)
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed, 3 skipped" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert sorted(line.split()[1] + line.rsplit(":", 1)[1] for line in skipped) == [
        "[1] TestHostTransport defines no refuse_next_message()",
        "[2] TestHostTransport defines no refuse_recipient()",
    ]


def test_a_forgotten_factory_fails_every_test_and_says_what_to_define(tmp_path):
    result = run_host_tests(
        tmp_path,
        """
        from contos_messaging.testing.contracts import KeyStoreContract

        class TestHostKeys(KeyStoreContract):
            pass
        """,
    )
    from contos_messaging.testing.contracts import KeyStoreContract

    tests = [name for name in dir(KeyStoreContract) if name.startswith("test_")]
    assert result.returncode == 1
    assert f"{len(tests)} errors" in result.stdout
    assert "TestHostKeys must define `async def make_key_store(self, directory)`" in result.stdout


def test_what_the_factory_pushes_on_cleanup_is_undone_after_the_adapter_is_closed(tmp_path):
    result = run_host_tests(
        tmp_path,
        """
        from contos_messaging.adapters.memory import InMemoryKeyStore
        from contos_messaging.testing.contracts import KeyStoreContract

        EVENTS = []

        class Keys(InMemoryKeyStore):
            async def aclose(self):
                EVENTS.append("adapter closed")

        class TestHostKeys(KeyStoreContract):
            async def make_key_store(self, directory):
                assert directory.is_dir() and not any(directory.iterdir())
                self.cleanup.callback(EVENTS.append, "helper closed")
                return Keys()

        def test_zz_order():  # runs after the class's tests
            tests = [name for name in dir(KeyStoreContract) if name.startswith("test_")]
            assert EVENTS == ["adapter closed", "helper closed"] * len(tests)
        """,
    )
    from contos_messaging.testing.contracts import KeyStoreContract

    tests = [name for name in dir(KeyStoreContract) if name.startswith("test_")]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(tests) + 1} passed" in result.stdout


def test_the_example_in_docs_adapters_runs_as_a_host_test(tmp_path):
    """docs/adapters.md's example: a host's own transport under the e-mail suite."""
    text = (Path(__file__).parents[2] / "docs" / "adapters.md").read_text(encoding="utf-8")
    (example,) = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]
    result = run_host_tests(tmp_path, example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
