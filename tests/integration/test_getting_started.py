"""docs/getting-started.md, followed as a newcomer would (issue 18): its settings file and its
shell steps run in order through the installed command, against the suite's local SMTP server
(STARTTLS with AUTH) instead of the reader's; the e-mail arrives and the worker stops on
SIGTERM. A change to the page that breaks a step fails here."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

from contos_messaging.testing.smtp import LocalSMTPServer

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks(kind: str) -> list[str]:
    return [body for fence, body in BLOCK.findall(PAGE.read_text()) if fence == kind]


def _commands(block: str) -> list[str]:
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _settings(server: LocalSMTPServer, directory: Path) -> str:
    """The page's settings file with the local server in place of the reader's."""
    (page_settings,) = _blocks("toml")
    settings = tomllib.loads(page_settings)
    smtp = settings["smtp"]
    assert smtp["password_file"] == "smtp-password.txt"
    (directory / "smtp-password.txt").write_text(LocalSMTPServer.PASSWORD)
    smtp.update(host="127.0.0.1", port=server.port, user=LocalSMTPServer.USERNAME,
                ca_file=str(server.ca_file))  # fmt: skip
    top = {key: value for key, value in settings.items() if not isinstance(value, dict)}
    return _toml(top) + "[smtp]\n" + _toml(smtp)


def _toml(values: dict[str, object]) -> str:
    """Flat TOML: a JSON string is a TOML basic string, an int is itself."""
    return "".join(
        f"{key} = {value if isinstance(value, int) else json.dumps(value)}\n"
        for key, value in values.items()
    )


def test_the_getting_started_page_works_as_written(tmp_path):
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=bin_dir + os.pathsep + env.get("PATH", ""), HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
    )  # fmt: skip
    for name in [k for k in env if k.startswith("CONTOS_")]:
        del env[name]
    steps = [
        command
        for block in _blocks("sh")
        if not block.startswith("# install")  # (the suite runs in an installed environment)
        for command in _commands(block)
    ]
    assert steps[0] == "contos-messaging init"
    with LocalSMTPServer() as server:
        (tmp_path / "contos-messaging.toml").write_text(_settings(server, tmp_path))
        outputs = {}
        for command in steps:
            if command.endswith("--watch"):
                outputs[command] = _watch(command, tmp_path, env)
                continue
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            outputs[command] = done.stdout
        received = [m.message["Subject"] for m in server.messages]
    assert received == ["Potvrzení objednávky O-7"]
    assert (tmp_path / "store.key").is_file()
    history = next(out for command, out in outputs.items() if "history" in command)
    assert "Potvrzení objednávky O-7" in history
    search = next(out for command, out in outputs.items() if " search " in command)
    assert "Potvrzení objednávky O-7" in search


def _watch(command: str, directory: Path, env: dict[str, str]) -> str:
    """Run the worker until it logs a message sent, then stop it with SIGTERM."""
    worker = subprocess.Popen(["bash", "-c", f"exec {command} --poll 0.2"], cwd=directory,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)  # fmt: skip
    seen = []
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            seen.append(line)
            if line.rstrip().endswith(": sent"):
                break
        worker.send_signal(signal.SIGTERM)
        rest, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, (seen, err)
    assert "stopped" in rest, rest
    return "".join(seen) + rest
