"""The installed ``contos-messaging`` command runs (entry point and ``python -m``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import contos_messaging


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("contos-messaging")
    assert installed.exists() or shutil.which("contos-messaging"), "entry point not installed"
    return [str(installed) if installed.exists() else "contos-messaging"]


def test_the_installed_command_prints_its_version():
    done = subprocess.run([*_command(), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"contos-messaging {contos_messaging.__version__}"


def test_python_dash_m_prints_help():
    done = subprocess.run(
        [sys.executable, "-m", "contos_messaging", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage: contos-messaging" in done.stdout
