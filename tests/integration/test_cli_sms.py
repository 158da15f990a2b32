"""``contos-messaging`` sending SMS: the file transport (one JSON file per number), an HTTP
gateway (the local provider of test_sms_http.py, served in the test process while the command
runs in a subprocess), a worker with SMTP and SMS both configured, a message whose channel has
no transport, SMS settings and their precedence, and ``deliveries`` showing a report recorded
through the library."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contos_messaging import AsyncMessenger, DeliveryReceipt, DeliveryState
from contos_messaging.cli.context import read_master_key
from contos_messaging.cli.exit_codes import ExitCode
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.smpp_peer import (  # noqa: F401  (smpp_peer_fixture: the fixture)
    PASSWORD,
    SYSTEM_ID,
    smpp_peer_fixture,
)
from tests.integration.test_cli import SENDER, Cli, assert_one_error_line
from tests.integration.test_cli_sending import _smtp_env
from tests.integration.test_sms_http import Provider

NUMBER = "+420601123456"


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.stop()


def _file_env(directory: Path) -> dict[str, str]:
    return {"CONTOS_SMS_TRANSPORT": "file", "CONTOS_SMS_DIR": str(directory)}


def _sms(cli: Cli, text: str, *args: str) -> str:
    data = cli.inproc("compose", "sms", "--to", NUMBER, "--text", text, *args)
    return str(data["id"])


def _written(directory: Path) -> list[dict[str, str]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(directory.glob("*.json"))]


def test_send_writes_an_sms_file_without_smtp_and_reports_the_email_it_cannot_send(tmp_path):
    """With only an SMS transport configured, the SMS goes out (its file holds the number and
    the text) and the e-mail of the same call is reported as having no transport: exit 5, one
    error line naming the setting, the e-mail left queued with nothing in its send log."""
    cli = Cli.init(tmp_path)
    sms_id = _sms(cli, "Vaše objednávka O-7 je připravena.", "--link", "client:C-1")
    email_id = cli.email("--subject", "Bez SMTP", "--text", "x")
    outbox = tmp_path / "sms-out"

    done = cli.run("send", sms_id, email_id, "--json", env=_file_env(outbox))
    assert done.code == ExitCode.CONFIG, done
    report = done.json()
    assert report["sent"] == [sms_id]
    assert report["skipped"] == {email_id: "no_transport"}
    assert report["no_transport"] == {email_id: "email"}
    assert report["error"] is None
    (line,) = [e for e in done.err.splitlines() if e.startswith("contos-messaging:")]
    assert line.startswith("contos-messaging: error: 1 message(s) not sent"), done
    assert "--smtp-host" in line
    assert "Traceback" not in done.err

    (written,) = _written(outbox)
    assert written["to"] == NUMBER
    assert written["text"] == "Vaše objednávka O-7 je připravena."
    assert written["id"] == sms_id
    assert cli.inproc("show", sms_id)["status"] == "sent"
    assert cli.inproc("show", email_id)["status"] == "queued"
    assert cli.inproc("log", email_id)["attempts"] == []
    (attempt,) = cli.inproc("log", sms_id)["attempts"]
    assert (attempt["transport"], attempt["outcome"]) == ("file-sms", "sent")


def test_send_through_an_http_gateway_and_show_its_delivery_report(tmp_path, provider):
    """A custom HTTP gateway (URL, bearer token from the environment, the provider's id read
    at ``id``): one request per number; a delivery report the host records through the
    library for the provider's id ``p-1`` is what ``deliveries`` shows."""
    cli = Cli.init(tmp_path)
    message_id = _sms(cli, "Dobrý den, platba přijata.", "--from", "ContOS")
    env = {
        "CONTOS_SMS_TRANSPORT": "http",
        "CONTOS_SMS_HTTP_URL": provider.url,
        "CONTOS_SMS_HTTP_ID_PATH": "id",
        "CONTOS_SMS_HTTP_TOKEN": "t0ken-value",
    }
    sent = cli.run("send", message_id, env=env)
    assert sent.code == 0, sent
    assert "1 sent" in sent.out
    (request,) = provider.requests
    assert request["body"]["to"] == NUMBER
    assert request["body"]["text"] == "Dobrý den, platba přijata."
    assert request["body"]["from"] == "ContOS"
    assert request["headers"]["Authorization"] == "Bearer t0ken-value"
    assert "t0ken-value" not in sent.out + sent.err

    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    receipt = DeliveryReceipt(
        transport="http-sms", provider_id="p-1", state=DeliveryState.DELIVERED, at=at,
        recipient=NUMBER, code="000", text="id:p-1 stat:DELIVRD err:000",
    )  # fmt: skip

    async def record() -> str | None:
        key = read_master_key(cli.key_file)
        async with await AsyncMessenger.open(
            cli.store, master_key=key, company_sender=SENDER
        ) as messenger:
            return await messenger.record_delivery(receipt)

    assert asyncio.run(record()) == message_id

    shown = cli.run("deliveries", message_id, "--json")
    assert shown.code == 0, shown
    data = shown.json()
    assert data["status"] == "delivered"
    assert data["deliveries"] == [
        {
            "transport": "http-sms", "provider_id": "p-1", "state": "delivered", "final": True,
            "at": at.isoformat(), "recipient": NUMBER, "code": "000",
            "text": "id:p-1 stat:DELIVRD err:000",
        }
    ]  # fmt: skip
    table = cli.call("deliveries", message_id)
    assert table.code == 0, table
    assert "p-1" in table.out, table
    assert "id:p-1 stat:DELIVRD err:000" in table.out, table
    assert "1 delivery report(s); the message is delivered" in table.out
    assert_one_error_line(
        cli.call("deliveries", "0190e000-0000-7000-8000-000000000000"), ExitCode.NOT_FOUND
    )


def test_worker_with_smtp_and_sms_sends_one_of_each(tmp_path):
    cli = Cli.init(tmp_path)
    email_id = cli.email("--subject", "E-mail", "--text", "x")
    sms_id = _sms(cli, "SMS z fronty")
    outbox = tmp_path / "sms-out"
    with LocalSMTPServer() as smtp:
        done = cli.run("worker", env={**_smtp_env(smtp), **_file_env(outbox)})
        subjects = [m.message["Subject"] for m in smtp.messages]
    assert done.code == 0, done
    lines = done.out.splitlines()
    assert "(smtp 127.0.0.1, sms file)" in lines[0], done
    for message_id in (email_id, sms_id):
        assert any(line.endswith(f"worker: message {message_id}: sent") for line in lines), done
    assert lines[-1].endswith("worker: stopped: 2 sent"), done
    assert subjects == ["E-mail"]
    assert [(w["to"], w["text"]) for w in _written(outbox)] == [(NUMBER, "SMS z fronty")]


def test_worker_without_an_sms_transport_leaves_the_sms_queued_and_exits_5(tmp_path):
    """An SMTP-only worker sends the e-mail; the SMS is logged once as not sent for want of
    an SMS transport (naming the setting), stays queued with its retries, and the run ends
    with exit 5."""
    cli = Cli.init(tmp_path)
    sms_id = _sms(cli, "Čeká na SMS bránu")
    email_id = cli.email("--subject", "Jen e-mail", "--text", "x")
    with LocalSMTPServer() as smtp:
        done = cli.run("worker", env=_smtp_env(smtp))
        assert [m.message["Subject"] for m in smtp.messages] == ["Jen e-mail"]
    assert done.code == ExitCode.CONFIG, done
    lines = done.out.splitlines()
    assert any(line.endswith(f"worker: message {email_id}: sent") for line in lines), done
    waiting = [line for line in lines if f"message {sms_id}: not sent" in line]
    assert len(waiting) == 1, done
    assert "no SMS transport configured: give --sms-transport" in waiting[0]
    assert lines[-1].endswith("worker: stopped: 1 sent, 1 without a transport"), done
    shown = cli.inproc("show", sms_id)
    assert (shown["status"], shown["attempts"]) == ("queued", 0)


def test_sms_settings_follow_flag_then_environment_then_config_file(tmp_path):
    """One SMS setting (the SMSC's host) from each source in turn; the SMPP password is shown
    only as set; a relative SMS directory is relative to the config file; a typo in an SMS
    table and missing SMPP settings are configuration errors."""
    cli = Cli.init(tmp_path)
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "contos-messaging.toml").write_text(
        '[sms]\ntransport = "smpp"\nsender = "ContOS"\n'
        '[sms.smpp]\nhost = "smsc.config.example.com"\nport = 3550\nsystem_id = "contos"\n'
        '[sms.file]\ndirectory = "sms-out"\n',
        encoding="utf-8",
    )
    env = {"CONTOS_CONFIG": str(conf / "contos-messaging.toml")}
    from_env = {**env, "CONTOS_SMPP_HOST": "smsc.env.example.com", "CONTOS_SMPP_PASSWORD": "pw"}
    settings = cli.json("config", "--smpp-host", "smsc.flag.example.com", env=from_env)["settings"]
    assert settings["smpp_host"] == {"value": "smsc.flag.example.com", "source": "flag"}
    assert settings["smpp_password"] == {"value": "(set)", "source": "env CONTOS_SMPP_PASSWORD"}
    settings = cli.inproc("config", env=from_env)["settings"]
    assert settings["smpp_host"] == {
        "value": "smsc.env.example.com", "source": "env CONTOS_SMPP_HOST"
    }  # fmt: skip
    settings = cli.inproc("config", env=env)["settings"]
    assert settings["smpp_host"]["value"] == "smsc.config.example.com"
    assert settings["smpp_host"]["source"].startswith("config ")
    assert settings["smpp_port"]["value"] == 3550
    assert settings["sms_dir"]["value"] == str(conf / "sms-out")
    assert "smpp_password" not in settings

    no_password = cli.call("send", "--status", "queued", env=env)
    assert_one_error_line(no_password, ExitCode.CONFIG, "SMPP needs the bind's password")
    no_gateway = cli.call("send", "--status", "queued", "--sms-transport", "http")
    assert_one_error_line(no_gateway, ExitCode.CONFIG, "--sms-http-url")
    (conf / "typo.toml").write_text('[sms.smpp]\nhots = "x"\n', encoding="utf-8")
    typo = cli.call("config", "--config", str(conf / "typo.toml"))
    assert_one_error_line(typo, ExitCode.CONFIG, "sms.smpp.hots")


async def test_worker_over_smpp_records_the_smscs_receipt(tmp_path, smpp_peer):
    """``worker --watch`` with an SMPP transport (the node SMSC; the password from a file):
    the SMS goes out with the configured source, and the SMSC's DELIVRD receipt, acknowledged
    only once the messenger has recorded it, is what ``deliveries`` shows."""
    cli = Cli(tmp_path)
    await asyncio.to_thread(cli.inproc, "init")
    message_id = await asyncio.to_thread(_sms, cli, "Objednavka O-7 je pripravena.")
    (tmp_path / "smpp-password").write_text(PASSWORD + "\n", encoding="utf-8")
    env = {
        "CONTOS_SMS_TRANSPORT": "smpp", "CONTOS_SMPP_HOST": "127.0.0.1",
        "CONTOS_SMPP_PORT": str(smpp_peer.port), "CONTOS_SMPP_SYSTEM_ID": SYSTEM_ID,
        "CONTOS_SMS_SOURCE": "ContOS-SMPP",
    }  # fmt: skip
    worker = cli.popen(
        "worker", "--watch", "--poll", "0.2", "--smpp-password-file", "smpp-password", env=env
    )
    try:
        (submit,) = await smpp_peer.wait_for("submit_sm")
        (answer,) = await smpp_peer.wait_for("deliver_sm_resp")
        worker.send_signal(signal.SIGTERM)
        out, err = await asyncio.to_thread(worker.communicate, timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert f"worker: message {message_id}: sent" in out, out
    assert "(sms smpp)" in out
    assert submit["source"] == "ContOS-SMPP"
    assert submit["destination"] == NUMBER.lstrip("+")
    assert answer["status"] == 0  # (recorded, then acknowledged)

    shown = await asyncio.to_thread(cli.inproc, "deliveries", message_id)
    assert shown["status"] == "delivered"
    (report,) = shown["deliveries"]
    assert report["transport"] == f"smpp:127.0.0.1:{smpp_peer.port}"
    assert (report["state"], report["recipient"]) == ("delivered", NUMBER)
