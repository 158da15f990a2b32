"""The command's settings: flags, then environment variables, then the config file, then
defaults (each setting on its own), with where each value came from.

The config file is TOML: ``--config FILE`` (or ``CONTOS_CONFIG``), else ``./contos-messaging.toml``
when it exists, else ``$XDG_CONFIG_HOME/contos-messaging/config.toml`` (``~/.config/...``) when
it exists. Relative paths in it are relative to the file's directory. Its tables are ``[smtp]``,
``[sms]``, ``[sms.smpp]``, ``[sms.http]`` and ``[sms.file]``.

Secrets (the SMTP and SMPP passwords, the HTTP gateway's token) are never flags or config
values: an environment variable holding the secret, or a file named by a flag, variable or
config key (:data:`SECRETS`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contos_messaging import Permission
from contos_messaging.cli.exit_codes import CliError, ExitCode

__all__ = ["LIBRARY_KEY_ENV", "SECRETS", "SETTINGS", "Setting", "Settings", "resolve"]

LIBRARY_KEY_ENV = "CONTOS_MESSAGING_MASTER_KEY"
"""The library's own variable holding the master key itself (base64), used when no key file
is set anywhere (``CONTOS_MESSAGING_MASTER_KEY_FILE`` counts as ``CONTOS_KEY_FILE``)."""

CONFIG_NAME = "contos-messaging.toml"


@dataclass(frozen=True)
class Setting:
    """One setting: its flag's ``dest``, environment variable(s), key in the config file
    (``smtp.host`` is ``host`` in the ``[smtp]`` table) and kind (``str``, ``path``, ``int``,
    ``float``, ``bool``, ``list``)."""

    name: str
    env: tuple[str, ...]
    config: str
    kind: str = "str"


SETTINGS: tuple[Setting, ...] = (
    Setting("store", ("CONTOS_STORE",), "store", "path"),
    Setting(
        "key_file", ("CONTOS_KEY_FILE", "CONTOS_MESSAGING_MASTER_KEY_FILE"), "key_file", "path"
    ),
    Setting("keys_db", ("CONTOS_KEYS_DB",), "keys_db", "path"),
    Setting("sender", ("CONTOS_SENDER",), "sender"),
    Setting("actor", ("CONTOS_ACTOR",), "actor"),
    Setting("permissions", ("CONTOS_PERMISSIONS",), "permissions", "list"),
    Setting("records", ("CONTOS_RECORDS",), "records", "path"),
    Setting("smtp_host", ("CONTOS_SMTP_HOST",), "smtp.host"),
    Setting("smtp_port", ("CONTOS_SMTP_PORT",), "smtp.port", "int"),
    Setting("smtp_security", ("CONTOS_SMTP_SECURITY",), "smtp.security"),
    Setting("smtp_user", ("CONTOS_SMTP_USER",), "smtp.user"),
    Setting("smtp_password_file", ("CONTOS_SMTP_PASSWORD_FILE",), "smtp.password_file", "path"),
    Setting("smtp_ca_file", ("CONTOS_SMTP_CA_FILE",), "smtp.ca_file", "path"),
    Setting("smtp_timeout", ("CONTOS_SMTP_TIMEOUT",), "smtp.timeout", "float"),
    Setting("sms_transport", ("CONTOS_SMS_TRANSPORT",), "sms.transport"),
    Setting("sms_sender", ("CONTOS_SMS_SENDER",), "sms.sender"),
    Setting("sms_source", ("CONTOS_SMS_SOURCE",), "sms.source"),
    Setting("smpp_host", ("CONTOS_SMPP_HOST",), "sms.smpp.host"),
    Setting("smpp_port", ("CONTOS_SMPP_PORT",), "sms.smpp.port", "int"),
    Setting("smpp_system_id", ("CONTOS_SMPP_SYSTEM_ID",), "sms.smpp.system_id"),
    Setting("smpp_password_file", ("CONTOS_SMPP_PASSWORD_FILE",), "sms.smpp.password_file", "path"),
    Setting("smpp_system_type", ("CONTOS_SMPP_SYSTEM_TYPE",), "sms.smpp.system_type"),
    Setting("smpp_window", ("CONTOS_SMPP_WINDOW",), "sms.smpp.window", "int"),
    Setting("smpp_tls", ("CONTOS_SMPP_TLS",), "sms.smpp.tls", "bool"),
    Setting("smpp_ca_file", ("CONTOS_SMPP_CA_FILE",), "sms.smpp.ca_file", "path"),
    Setting("sms_http_preset", ("CONTOS_SMS_HTTP_PRESET",), "sms.http.preset"),
    Setting("sms_http_url", ("CONTOS_SMS_HTTP_URL",), "sms.http.url"),
    Setting("sms_http_name", ("CONTOS_SMS_HTTP_NAME",), "sms.http.name"),
    Setting("sms_http_token_file", ("CONTOS_SMS_HTTP_TOKEN_FILE",), "sms.http.token_file", "path"),
    Setting("sms_http_account", ("CONTOS_SMS_HTTP_ACCOUNT",), "sms.http.account"),
    Setting("sms_http_channel", ("CONTOS_SMS_HTTP_CHANNEL",), "sms.http.channel", "int"),
    Setting("sms_http_id_path", ("CONTOS_SMS_HTTP_ID_PATH",), "sms.http.id_path"),
    Setting("sms_http_ca_file", ("CONTOS_SMS_HTTP_CA_FILE",), "sms.http.ca_file", "path"),
    Setting("sms_http_timeout", ("CONTOS_SMS_HTTP_TIMEOUT",), "sms.http.timeout", "float"),
    Setting("sms_dir", ("CONTOS_SMS_DIR",), "sms.file.directory", "path"),
)
_KNOWN = {s.config for s in SETTINGS}
_TABLES = {"smtp", "sms", "sms.smpp", "sms.http", "sms.file"}


@dataclass(frozen=True)
class Secret:
    """A secret: ``name`` in :attr:`Settings.sources`, the variable that holds it, the setting
    naming the file that holds it, and what it is (for error messages)."""

    name: str
    env: str
    file_setting: str
    what: str


SECRETS: tuple[Secret, ...] = (
    Secret("smtp_password", "CONTOS_SMTP_PASSWORD", "smtp_password_file", "SMTP password"),
    Secret("smpp_password", "CONTOS_SMPP_PASSWORD", "smpp_password_file", "SMPP password"),
    Secret("sms_http_token", "CONTOS_SMS_HTTP_TOKEN", "sms_http_token_file", "SMS gateway token"),
)
_SECRETS = {secret.name: secret for secret in SECRETS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings; ``sources`` says where each came from (``flag``, ``env NAME``,
    ``config FILE``, ``default``)."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    config_file: Path | None
    secrets_from_env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def secret(self, name: str) -> str | None:
        """The secret ``name`` (``smtp_password``, ``smpp_password``, ``sms_http_token``): its
        environment variable, else its file's text (read only now, when a transport is made)."""
        if name in self.secrets_from_env:
            return self.secrets_from_env[name]
        secret = _SECRETS[name]
        path = self.values.get(secret.file_setting)
        return None if path is None else _read_secret(Path(path), secret.what)

    def smtp_password(self) -> str | None:
        """The SMTP password: ``CONTOS_SMTP_PASSWORD``, else the password file's text."""
        return self.secret("smtp_password")

    def get(self, name: str) -> Any:
        """The value of setting ``name`` (None when unset)."""
        return self.values.get(name)

    @property
    def store(self) -> Path:
        """The store directory."""
        return Path(self.values["store"])

    @property
    def key_file(self) -> Path | None:
        """The master key file, or None when the key comes from ``CONTOS_MESSAGING_MASTER_KEY``."""
        value = self.values.get("key_file")
        return None if value is None else Path(value)

    @property
    def actor_id(self) -> str:
        """Who the commands act as."""
        return str(self.values["actor"])


def _config_path(args: argparse.Namespace, env: Mapping[str, str], cwd: Path) -> Path | None:
    given = getattr(args, "config", None) or env.get("CONTOS_CONFIG")
    if given:
        path = Path(given)
        if not path.is_file():
            raise CliError(f"config file {path} does not exist", ExitCode.CONFIG)
        return path
    local = cwd / CONFIG_NAME
    if local.is_file():
        return local
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = xdg / "contos-messaging" / "config.toml"
    return default if default.is_file() else None


def _flatten(data: Mapping[str, Any], path: Path, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in _TABLES:
            flat.update(_flatten(value, path, name + "."))
            continue
        if name not in _KNOWN:
            known = ", ".join(sorted(_KNOWN))
            raise CliError(f"{path}: unknown setting {name!r} (known: {known})", ExitCode.CONFIG)
        flat[name] = value
    return flat


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return _flatten(tomllib.load(fh), path)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: not valid TOML: {exc}", ExitCode.CONFIG) from None
    except OSError as exc:
        raise CliError(f"cannot read config file {path}: {exc.strerror}", ExitCode.CONFIG) from None


def _convert(setting: Setting, value: Any, where: str, base: Path | None) -> Any:
    try:
        if setting.kind == "int":
            return int(value)
        if setting.kind == "float":
            return float(value)
        if setting.kind == "bool":
            return _boolean(value)
        if setting.kind == "list":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {type(value).__name__}")
        if setting.kind == "path":
            path = Path(value).expanduser()
            return base / path if base is not None and not path.is_absolute() else path
        return value
    except (TypeError, ValueError) as exc:
        raise CliError(f"{where}: bad value for {setting.config}: {exc}", ExitCode.CONFIG) from None


def _defaults(values: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    data = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    store = Path(values.get("store") or data / "contos-messaging" / "store")
    try:
        actor = env.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        actor = "operator"
    key_file = None if env.get(LIBRARY_KEY_ENV) else Path(f"{store}.key")
    return {"store": store, "key_file": key_file, "actor": actor, "smtp_security": "starttls"}


def resolve(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: the flag (``args``), else its environment variable, else the
    config file, else its default."""
    environ = os.environ if env is None else env
    config_file = _config_path(args, environ, Path.cwd())
    config = _load_config(config_file)
    base = config_file.parent if config_file is not None else None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        flag = getattr(args, setting.name, None)
        if flag is not None:
            values[setting.name] = _convert(setting, flag, "--" + setting.name, None)
            sources[setting.name] = "flag"
            continue
        named = next((n for n in setting.env if environ.get(n)), None)
        if named is not None:
            values[setting.name] = _convert(setting, environ[named], named, None)
            sources[setting.name] = f"env {named}"
        elif setting.config in config:
            where = f"{config_file}"
            values[setting.name] = _convert(setting, config[setting.config], where, base)
            sources[setting.name] = f"config {config_file}"
    _check_permissions(values.get("permissions"), sources.get("permissions", ""))
    for name, value in _defaults(values, environ).items():
        if name not in values:
            values[name] = value
            sources[name] = "default" if value is not None else f"env {LIBRARY_KEY_ENV}"
    secrets: dict[str, str] = {}
    for secret in SECRETS:  # (a file given as a flag beats the variable holding the secret)
        if sources.get(secret.file_setting) != "flag" and environ.get(secret.env):
            secrets[secret.name] = environ[secret.env]
            sources[secret.name] = f"env {secret.env}"
        elif values.get(secret.file_setting) is not None:
            sources[secret.name] = "file " + str(values[secret.file_setting])
    return Settings(values, sources, config_file, secrets)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _check_permissions(chosen: tuple[str, ...] | None, source: str) -> None:
    known = {p.value for p in Permission}
    unknown = sorted(set(chosen or ()) - known)
    if unknown:
        raise CliError(
            f"unknown permission {unknown[0]!r} in the permissions setting ({source}); known:"
            f" {', '.join(sorted(known))}",
            ExitCode.CONFIG,
        )


def _read_secret(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CliError(
            f"cannot read the {what} file {path}: {exc.strerror}", ExitCode.CONFIG
        ) from None
