"""The transports a sending command opens, from the settings: SMTP when an SMTP server is set,
an SMS transport when ``sms_transport`` is (``smpp``: :class:`SmppTransport`, ``http``:
:class:`HttpSmsTransport` on a preset or custom :class:`HttpGateway`, ``file``:
:class:`FileSmsTransport`). Nothing connects here: each transport connects on its first send."""

from __future__ import annotations

import ssl
from typing import Any

import attrs

from contos_messaging import Channel
from contos_messaging.adapters.smpp import SmppTransport
from contos_messaging.adapters.sms_http import FileSmsTransport, HttpGateway, HttpSmsTransport
from contos_messaging.adapters.smtp import Security, SMTPTransport
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.settings import Settings

__all__ = ["HINTS", "AnySmsTransport", "configured_channels", "sms_transport", "smtp_transport"]

AnySmsTransport = SmppTransport | HttpSmsTransport | FileSmsTransport

HINTS = {
    Channel.EMAIL: "give --smtp-host (or CONTOS_SMTP_HOST, or [smtp] host = in the config file)",
    Channel.SMS: "give --sms-transport smpp|http|file (or CONTOS_SMS_TRANSPORT, or [sms]"
    " transport = in the config file)",
}
"""How to configure each channel's transport, for the messages that say none is."""


def configured_channels(settings: Settings) -> frozenset[Channel]:
    """The channels whose transport the settings name (nothing is opened or checked)."""
    channels = set()
    if settings.get("smtp_host"):
        channels.add(Channel.EMAIL)
    if settings.get("sms_transport"):
        channels.add(Channel.SMS)
    return frozenset(channels)


def _need(settings: Settings, name: str, flag: str, why: str) -> Any:
    value = settings.get(name)
    if value is None or value == "":
        env = "CONTOS_" + name.upper()
        raise CliError(f"{why}: give {flag} (or {env})", ExitCode.CONFIG)
    return value


def _secret(settings: Settings, name: str, flag: str, env: str, why: str) -> str:
    value = settings.secret(name)
    if not value:
        raise CliError(f"{why}: put it in {env}, or in a file named by {flag}", ExitCode.CONFIG)
    return value


def _tls_context(ca_file: Any) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot load the CA file {ca_file}: {exc}", ExitCode.CONFIG) from None


def smtp_transport(settings: Settings) -> SMTPTransport:
    """The SMTP transport of the ``smtp_*`` settings."""
    get = settings.get
    host = get("smtp_host")
    if not host:
        raise CliError(f"no SMTP server: {HINTS[Channel.EMAIL]}", ExitCode.CONFIG)
    security: Security = get("smtp_security") or "starttls"
    if security not in ("starttls", "tls", "plain"):
        raise CliError(
            f"smtp security must be starttls, tls or plain, got {security!r}", ExitCode.CONFIG
        )
    ca_file = get("smtp_ca_file")
    options: dict[str, Any] = {}
    if get("smtp_timeout") is not None:
        options["timeout"] = float(get("smtp_timeout"))
    return SMTPTransport(
        str(host),
        get("smtp_port"),
        security=security,
        username=get("smtp_user"),
        password=settings.smtp_password(),
        ca_file=None if ca_file is None else str(ca_file),
        allow_plaintext=security == "plain",
        **options,
    )


def _smpp(settings: Settings) -> SmppTransport:
    get = settings.get
    host = _need(settings, "smpp_host", "--smpp-host", "SMS over SMPP needs the SMSC's host")
    system_id = _need(settings, "smpp_system_id", "--smpp-system-id", "SMPP needs a system_id")
    password = _secret(
        settings, "smpp_password", "--smpp-password-file", "CONTOS_SMPP_PASSWORD",
        "SMPP needs the bind's password",
    )  # fmt: skip
    ca_file = get("smpp_ca_file")
    tls: ssl.SSLContext | bool = bool(get("smpp_tls"))
    if ca_file is not None:
        tls = _tls_context(ca_file)
    options: dict[str, Any] = {}
    if get("smpp_window") is not None:
        options["window"] = get("smpp_window")
    return SmppTransport(
        str(host),
        get("smpp_port") or 2775,
        system_id=str(system_id),
        password=password,
        system_type=get("smpp_system_type") or "",
        sender=get("sms_source"),
        tls=tls,
        **options,
    )


def _gateway(settings: Settings) -> HttpGateway:
    get = settings.get
    url = get("sms_http_url")
    preset = get("sms_http_preset") or ("custom" if url else None)
    if preset not in ("gosms", "twilio", "custom", None):
        raise CliError(
            f"the SMS gateway preset must be gosms, twilio or custom, got {preset!r}",
            ExitCode.CONFIG,
        )
    token_args = ("--sms-http-token-file", "CONTOS_SMS_HTTP_TOKEN")
    options: dict[str, Any] = {}
    if get("sms_http_timeout") is not None:
        options["timeout"] = get("sms_http_timeout")
    if preset == "gosms":
        token = _secret(settings, "sms_http_token", *token_args, "GoSMS needs its access token")
        channel = _need(settings, "sms_http_channel", "--sms-http-channel", "GoSMS needs a channel")
        gateway = HttpGateway.gosms(token, channel=int(channel), url=url)
    elif preset == "twilio":
        sid = _need(settings, "sms_http_account", "--sms-http-account", "Twilio needs its SID")
        token = _secret(settings, "sms_http_token", *token_args, "Twilio needs its auth token")
        sender = _need(settings, "sms_source", "--sms-source", "Twilio needs a From number")
        gateway = HttpGateway.twilio(str(sid), token, sender=str(sender), url=url)
    elif preset == "custom":
        if not url:
            raise CliError("a custom SMS gateway needs --sms-http-url", ExitCode.CONFIG)
        bearer = settings.secret("sms_http_token")
        if bearer:
            options["bearer"] = bearer
        if get("sms_http_id_path"):
            options["id_path"] = get("sms_http_id_path")
        return HttpGateway(url=str(url), name=get("sms_http_name") or "http-sms", **options)
    else:
        raise CliError(
            "SMS over HTTP needs a gateway: --sms-http-preset gosms|twilio, or --sms-http-url"
            " for a custom one",
            ExitCode.CONFIG,
        )
    changes = {**options, **({"name": get("sms_http_name")} if get("sms_http_name") else {})}
    return _evolve(gateway, changes)


def _evolve(gateway: HttpGateway, changes: dict[str, Any]) -> HttpGateway:
    """A preset with another name or timeout."""
    return attrs.evolve(gateway, **changes) if changes else gateway


def sms_transport(settings: Settings) -> AnySmsTransport:
    """The SMS transport the ``sms_transport`` setting names, from its settings."""
    kind = settings.get("sms_transport")
    if kind == "smpp":
        return _smpp(settings)
    if kind == "http":
        ca_file = settings.get("sms_http_ca_file")
        return HttpSmsTransport(
            _gateway(settings), sender=settings.get("sms_source"), ca_file=ca_file
        )
    if kind == "file":
        directory = _need(settings, "sms_dir", "--sms-dir", "SMS to files need a directory")
        return FileSmsTransport(directory)
    if not kind:
        raise CliError(f"no SMS transport: {HINTS[Channel.SMS]}", ExitCode.CONFIG)
    raise CliError(f"the SMS transport must be smpp, http or file, got {kind!r}", ExitCode.CONFIG)
