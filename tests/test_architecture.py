"""Architecture and quality gates: dependency rule, curated public API, mypy, ruff, examples."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import contos_messaging

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "contos_messaging"

# layer -> the layers of ours it may import (errors is the shared kernel every layer may raise)
ALLOWED = {
    "domain": {"domain", "errors"},
    "ports": {"ports", "domain", "errors"},
    "services": {"services", "ports", "domain", "errors"},
    "adapters": {"adapters", "ports", "domain", "errors"},
    # the command line: the public API ("" is contos_messaging itself), the composition root
    # and the adapters' constructors (the SMTP transport)
    "cli": {"cli", "", "bootstrap", "adapters"},
}


def _our_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}: use absolute imports")
            names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == "contos_messaging":
                found.add(parts[1] if len(parts) > 1 else "")
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_dependency_rule(layer):
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, layer
    violations = {
        str(f.relative_to(PACKAGE)): sorted(_our_imports(f) - ALLOWED[layer]) for f in files
    }
    assert {k: v for k, v in violations.items() if v} == {}


# packages at the top of contos_messaging that are not layers of ALLOWED: wiring and shipped fakes
WIRING_PACKAGES = {"testing"}


def test_every_top_level_package_is_a_layer():
    """An adapter (such as template rendering) lives under adapters/, not beside it."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages - WIRING_PACKAGES == set(ALLOWED)


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from contos_messaging.adapters.memory import InMemoryBlobStore\n")
    assert _our_imports(bad) - ALLOWED["domain"] == {"adapters"}


def test_all_is_sorted_and_names_every_public_symbol():
    names = contos_messaging.__all__
    assert names == sorted(names)
    public = {
        n
        for n, v in vars(contos_messaging).items()
        if not n.startswith("_") and not inspect.ismodule(v)
    }
    # (and those imported when first asked for: see the package's __getattr__)
    assert public | set(contos_messaging._LAZY) == set(names)


def test_every_public_name_has_a_docstring():
    missing = [
        n
        for n in contos_messaging.__all__
        if not (getattr(contos_messaging, n).__doc__ or "").strip()
    ]
    assert missing == []


def test_error_subclasses_also_derive_from_the_builtin_they_mean():
    from contos_messaging import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MessagingError), name
        if cls is not errors.MessagingError:
            builtin_bases = [b for b in cls.__mro__ if b.__module__ == "builtins"]
            assert len(builtin_bases) > 2, f"{name} derives from no specific builtin"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_mypy_strict_is_clean():
    result = _run("mypy", "--strict", "src", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_and_format_are_clean():
    lint = _run("ruff", "check", "src", "tests", "examples", "benchmarks")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", "src", "tests", "examples", "benchmarks")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def _run_example(name: str) -> str:
    """Run ``examples/<name>`` as a user would; its output (it must succeed)."""
    result = subprocess.run(
        [sys.executable, f"examples/{name}"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_quickstart_runs():
    assert "quickstart OK" in _run_example("quickstart.py")


def test_the_communication_window_example_runs():
    """examples/communication_window.py: the window's tasks on the embedded store and a local
    SMTP server (issue 16, item 9)."""
    output = _run_example("communication_window.py")
    assert "communication window OK" in output
    assert "composed for Jan Novák <jan.novak@example.com>" in output
    assert "queued 3 for" in output
