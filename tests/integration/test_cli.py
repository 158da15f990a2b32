"""The installed ``contos-messaging`` command: entry point, ``python -m``, ``init``, settings and
their precedence, exit codes and error lines. ``Cli`` runs the installed command against a
store in a temporary directory; the other ``test_cli_*`` modules use it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import contos_messaging
from contos_messaging import errors
from contos_messaging.adapters.sqlite import load_master_key
from contos_messaging.cli import main
from contos_messaging.cli.exit_codes import ExitCode, exit_code_for

SENDER = "ContOS s.r.o. <info@contos.example.com>"


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("contos-messaging")
    assert installed.exists() or shutil.which("contos-messaging"), "entry point not installed"
    return [str(installed) if installed.exists() else "contos-messaging"]


class Result:
    """A finished run: exit code, stdout, stderr."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.code = done.returncode
        self.out = done.stdout
        self.err = done.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout: {self.out}\nstderr: {self.err}>"


class Cli:
    """The installed command, run in ``root`` (its working directory) on the store
    ``root/store``, with no CONTOS_* variables of the test process and config files only where
    the test puts them.

    :meth:`run`, :meth:`ok` and :meth:`json` run the installed entry point in a subprocess
    (every command is tested so at least once); :meth:`inproc` calls ``main()`` in this
    process with the same environment, for setting up a store and for checks that need many
    calls (a subprocess costs about a second, most of it importing the library)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = root / "store"
        self.key_file = root / "store.key"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CONTOS_")}
        self.env.update(XDG_CONFIG_HOME=str(root / "xdg"), XDG_DATA_HOME=str(root / "data"),
                        CONTOS_STORE=str(self.store), CONTOS_SENDER=SENDER,
                        CONTOS_ACTOR="operator", COLUMNS="200")  # fmt: skip

    @classmethod
    def init(cls, root: Path) -> Cli:
        cli = cls(root)
        cli.inproc("init")
        return cli

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        done = subprocess.run(
            [*_command(), *args], cwd=self.root, env={**self.env, **(env or {})},
            capture_output=True, text=True, input=input, timeout=120,
        )  # fmt: skip
        return Result(done)

    def ok(self, *args: str, **options: Any) -> Result:
        result = self.run(*args, **options)
        assert result.code == 0, result
        return result

    def json(self, *args: str, **options: Any) -> Any:
        return self.ok(*args, "--json", **options).json()

    def call(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``main(args)`` in this process, with this environment and working directory."""
        out, err = io.StringIO(), io.StringIO()
        environ = {**self.env, **(env or {})}
        with mock.patch.dict(os.environ, environ, clear=True), contextlib.chdir(self.root), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # fmt: skip
            code = main(list(args))
        return Result(subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue()))

    def inproc(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """:meth:`call` with ``--json``; its JSON document (the exit code must be 0)."""
        result = self.call(*args, "--json", env=env)
        assert result.code == 0, result
        return result.json()

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*_command(), *args], cwd=self.root, env={**self.env, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def email(self, *args: str) -> str:
        """Compose an e-mail in this process (queued unless ``--draft`` is among ``args``);
        its id."""
        data = self.inproc("compose", "email", "--to", "jan@example.com", *args)
        return str(data["id"])


def assert_one_error_line(result: Result, code: int, *words: str) -> None:
    """Exit ``code``, one line on stderr naming ``words``, no traceback."""
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("contos-messaging: error: "), result
    assert "Traceback" not in result.err
    for word in words:
        assert word in lines[0], result


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
    for name in ("init", "worker", "erase-client", "export", "rotate-key", "history"):
        assert name in done.stdout


def test_init_creates_the_store_and_a_private_key_file_and_never_overwrites(tmp_path):
    cli = Cli(tmp_path)
    data = cli.json("init")
    assert data["store"] == str(cli.store.resolve())
    assert data["key_file"] == str(cli.key_file.resolve())
    assert (cli.store / "messages.sqlite").is_file()
    assert (cli.store / "keys.sqlite").is_file()
    assert stat.S_IMODE(cli.key_file.stat().st_mode) == 0o600
    key = cli.key_file.read_bytes()
    assert len(load_master_key(key.decode().strip())) == 32

    again = cli.run("init")
    assert_one_error_line(again, ExitCode.CONFLICT, str(cli.store))
    other = cli.call("init", "--store", str(tmp_path / "other"), "--key-file", str(cli.key_file))
    assert_one_error_line(other, ExitCode.CONFLICT, "key file")
    assert cli.key_file.read_bytes() == key
    assert not (tmp_path / "other" / "messages.sqlite").exists()
    listed = cli.inproc("list")  # and the store opens with the key init wrote
    assert listed["total"] == 0
    assert listed["messages"] == []


def test_settings_come_from_flag_then_environment_then_config_file(tmp_path):
    """Each setting on its own: a flag beats the environment, which beats the config file
    (found as ./contos-messaging.toml), which beats the default; relative paths in the file
    are relative to it."""
    cli = Cli(tmp_path)
    conf = tmp_path / "etc"
    conf.mkdir()
    (tmp_path / "contos-messaging.toml").write_text(
        'store = "etc/from-config"\nactor = "config-actor"\nsender = "Config <c@example.com>"\n'
        '[smtp]\nhost = "smtp.config.example.com"\nport = 2525\nuser = "cfg"\n'
    )
    env = {"CONTOS_STORE": str(tmp_path / "from-env"), "CONTOS_SMTP_HOST": "smtp.env.example"}
    settings = cli.json("config", "--store", str(tmp_path / "from-flag"), env=env)["settings"]
    assert settings["store"] == {"value": str(tmp_path / "from-flag"), "source": "flag"}
    assert settings["smtp_host"] == {"value": "smtp.env.example", "source": "env CONTOS_SMTP_HOST"}
    assert settings["smtp_port"]["value"] == 2525
    assert settings["smtp_port"]["source"].startswith("config ")
    assert settings["actor"]["value"] == "operator"  # CONTOS_ACTOR of Cli beats the file

    for name in ("CONTOS_STORE", "CONTOS_ACTOR", "CONTOS_SENDER"):
        cli.env.pop(name)
    settings = cli.inproc("config", env=env)["settings"]
    assert settings["store"]["value"] == str(tmp_path / "from-env")
    settings = cli.inproc("config")["settings"]
    assert settings["store"]["value"] == str(tmp_path / "etc" / "from-config")
    assert settings["actor"]["value"] == "config-actor"
    assert settings["smtp_security"] == {"value": "starttls", "source": "default"}
    (tmp_path / "contos-messaging.toml").unlink()  # then $XDG_CONFIG_HOME's, then defaults
    (tmp_path / "xdg" / "contos-messaging").mkdir(parents=True)
    (tmp_path / "xdg" / "contos-messaging" / "config.toml").write_text('actor = "xdg"\n')
    settings = cli.inproc("config")["settings"]
    assert settings["actor"]["value"] == "xdg"
    assert settings["store"]["value"] == str(tmp_path / "data" / "contos-messaging" / "store")

    # --config names another file; a file that is not there, or a typo in one, is exit 5.
    (conf / "other.toml").write_text('store = "/srv/other"\n')
    data = cli.inproc("--config", str(conf / "other.toml"), "config")
    assert data["settings"]["store"]["value"] == "/srv/other"
    missing = cli.call("config", "--config", str(conf / "missing.toml"))
    assert_one_error_line(missing, ExitCode.CONFIG, "missing.toml")
    (conf / "typo.toml").write_text('stroe = "/srv"\n')
    typo = cli.run("--config", str(conf / "typo.toml"), "config")
    assert_one_error_line(typo, ExitCode.CONFIG, "stroe")


def test_errors_are_one_line_without_traceback_and_debug_shows_it(tmp_path):
    cli = Cli.init(tmp_path)
    missing = cli.run("show", "0190e000-0000-7000-8000-000000000000")
    assert_one_error_line(missing, ExitCode.NOT_FOUND, "no message with id")
    debug = cli.run("--debug", "show", "0190e000-0000-7000-8000-000000000000")
    assert debug.code == ExitCode.NOT_FOUND
    assert "Traceback (most recent call last)" in debug.err
    assert "MessageNotFound" in debug.err
    as_json = cli.call("show", "nope", "--json")
    assert as_json.json()["error"]["type"] == "MessageNotFound"
    assert as_json.json()["error"]["exit_code"] == ExitCode.NOT_FOUND

    usage = cli.run("list", "--order", "sideways")
    assert usage.code == ExitCode.USAGE
    assert "invalid choice" in usage.err
    bad_address = cli.call("compose", "email", "--to", "not an address", "--subject", "x")
    assert_one_error_line(bad_address, ExitCode.USAGE, "not an address")
    bad_link = cli.call("history", "client-without-colon")
    assert_one_error_line(bad_link, ExitCode.USAGE, "kind:id")


def test_store_key_and_permission_problems_have_their_exit_codes(tmp_path):
    cli = Cli.init(tmp_path)
    other_key = tmp_path / "other.key"
    other_key.write_text("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n")
    wrong = cli.run("list", "--key-file", str(other_key))
    assert_one_error_line(wrong, ExitCode.ACCESS, "cannot open the store")
    lost = cli.call("list", "--key-file", str(tmp_path / "lost.key"))
    assert_one_error_line(lost, ExitCode.ACCESS, "no master key file")
    nowhere = cli.call("list", "--store", str(tmp_path / "nowhere"))
    assert_one_error_line(nowhere, ExitCode.CONFIG, "no store at")
    assert not (tmp_path / "nowhere").exists()  # never created by a command other than init

    clerk = {"CONTOS_PERMISSIONS": "compose,send"}
    denied = cli.call("erase-client", "C-1", "--yes", env=clerk)
    assert_one_error_line(denied, ExitCode.ACCESS, "lacks permission", "erase")
    no_sender = cli.call("compose", "email", "--to", "a@example.com", "--subject", "x",
                         env={"CONTOS_SENDER": ""})  # fmt: skip
    assert_one_error_line(no_sender, ExitCode.CONFIG, "no sender")


def test_every_library_error_has_an_exit_code():
    """Each class of the error tree maps to a code of the table (none to 70, the bugs')."""
    expected = {
        errors.MessageNotFound: ExitCode.NOT_FOUND,
        errors.InvalidAddress: ExitCode.USAGE,
        errors.PermissionDenied: ExitCode.ACCESS,
        errors.KeyUnavailable: ExitCode.ACCESS,
        errors.IntegrityError: ExitCode.STORAGE,
        errors.AuthenticationFailed: ExitCode.CONFIG,
        errors.TransportTimeout: ExitCode.FAILED,
        errors.AlreadyExists: ExitCode.CONFLICT,
        errors.ConfigurationError: ExitCode.CONFIG,
    }
    for name in errors.__all__:
        cls = getattr(errors, name)
        error = cls.__new__(cls)
        code = exit_code_for(error)
        assert code not in (ExitCode.INTERNAL, ExitCode.OK), name
        if cls in expected:
            assert code == expected[cls], name
    assert exit_code_for(RuntimeError("bug")) == ExitCode.INTERNAL


def test_an_unexpected_exception_is_exit_70_with_one_line(tmp_path, monkeypatch, capsys):
    from contos_messaging.cli import commands_lookup

    async def broken(ctx):
        raise RuntimeError("the handler broke")

    monkeypatch.setattr(commands_lookup, "list_messages", broken)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["list", "--store", str(tmp_path)]) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err.strip() == (
        "contos-messaging: error: unexpected RuntimeError: the handler broke"
        " (run with --debug for the traceback)"
    )
    assert main(["list", "--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["template"], ["compose"]])
def test_a_command_group_without_its_action_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == ExitCode.USAGE
    assert "required" in capsys.readouterr().err


def test_the_password_is_never_shown_and_a_bad_permission_is_a_configuration_error(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "smtp-password").write_text("s3cret-value\n")
    shown = cli.call("config", "--smtp-password-file", "smtp-password", "--json")
    assert shown.code == 0
    assert shown.json()["settings"]["smtp_password"] == {
        "value": "(set)", "source": "file smtp-password"
    }  # fmt: skip
    from_env = cli.call("config", env={"CONTOS_SMTP_PASSWORD": "s3cret-value"})
    assert "env CONTOS_SMTP_PASSWORD" in from_env.out
    assert "s3cret-value" not in shown.out + from_env.out
    typo = cli.call("list", env={"CONTOS_PERMISSIONS": "send,sned"})
    assert_one_error_line(typo, ExitCode.CONFIG, "unknown permission 'sned'")
