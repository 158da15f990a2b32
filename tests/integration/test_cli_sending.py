"""``contos-messaging send | resend | worker`` against a real local SMTP server (aiosmtpd over
STARTTLS with AUTH and a certificate of its own, trusted with ``--smtp-ca-file``), running in
the test process while the command runs in a subprocess."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from contos_messaging.cli.exit_codes import ExitCode
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.test_cli import Cli, assert_one_error_line


@pytest.fixture
def smtp() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


def _smtp_env(server: LocalSMTPServer, password: str = LocalSMTPServer.PASSWORD) -> dict[str, str]:
    return {
        "CONTOS_SMTP_HOST": "127.0.0.1",
        "CONTOS_SMTP_PORT": str(server.port),
        "CONTOS_SMTP_USER": LocalSMTPServer.USERNAME,
        "CONTOS_SMTP_PASSWORD": password,
        "CONTOS_SMTP_CA_FILE": str(server.ca_file),
    }


def test_send_ids_or_a_query_resend_and_the_send_log(tmp_path, smtp):
    cli = Cli.init(tmp_path)
    cli.env.update(_smtp_env(smtp))
    first = cli.email("--subject", "První", "--text", "1", "--link", "client:C-1")
    second = cli.email("--subject", "Druhá", "--text", "2", "--link", "client:C-2", "--draft")
    missing = "0190e000-0000-7000-8000-000000000000"

    partly = cli.run("send", first, missing, "--json")
    assert partly.code == ExitCode.FAILED, partly  # one of the two was not there
    report = partly.json()
    assert report["sent"] == [first]
    assert report["skipped"] == {missing: "not_found"}
    assert [m.message["Subject"] for m in smtp.messages] == ["První"]

    by_query = cli.json("send", "--status", "draft", "--link", "client:C-2")
    assert by_query["sent"] == [second]
    assert smtp.messages[-1].recipients == ["jan@example.com"]
    assert_one_error_line(cli.call("send"), ExitCode.USAGE, "give message ids")

    again = cli.json("resend", first)
    assert again["kind"] == "resend"
    assert again["outcome"] == "sent"
    assert [m.message["Subject"] for m in smtp.messages] == ["První", "Druhá", "První"]
    attempts = cli.json("log", first)["attempts"]
    assert [(a["kind"], a["outcome"], a["actor"]) for a in attempts] == [
        ("send", "sent", "operator"), ("resend", "sent", "operator")
    ]  # fmt: skip
    assert attempts[0]["recipients"][0]["recipient"] == "jan@example.com"
    assert attempts[0]["recipients"][0]["accepted"] is True
    assert cli.inproc("show", first)["status"] == "sent"


def test_worker_once_sends_what_is_due_and_logs_plain_lines(tmp_path, smtp):
    cli = Cli.init(tmp_path)
    ids = [cli.email("--subject", f"Fronta {n}", "--text", "x") for n in range(3)]
    cli.email("--subject", "Zítra", "--text", "x", "--schedule", "2099-01-01T08:00:00+01:00")

    done = cli.run("worker", env=_smtp_env(smtp))
    assert done.code == 0, done
    lines = done.out.splitlines()
    for message_id in ids:
        assert any(line.endswith(f"worker: message {message_id}: sent") for line in lines), done
    assert lines[-1].endswith("worker: stopped: 3 sent")
    assert sorted(m.message["Subject"] for m in smtp.messages) == [
        "Fronta 0",
        "Fronta 1",
        "Fronta 2",
    ]
    statuses = {m["id"]: m["status"] for m in cli.inproc("list")["messages"]}
    assert sorted(statuses.values()) == ["queued", "sent", "sent", "sent"]


def test_worker_watch_stops_gracefully_on_sigterm(tmp_path, smtp):
    cli = Cli.init(tmp_path)
    message_id = cli.email("--subject", "Hlídaný", "--text", "x")
    worker = cli.popen("worker", "--watch", "--poll", "0.2", env=_smtp_env(smtp))
    try:
        assert worker.stdout is not None
        seen = []
        for line in worker.stdout:  # plain lines, flushed as they happen
            seen.append(line)
            if line.rstrip().endswith(f"message {message_id}: sent"):
                break
        else:
            pytest.fail(f"the worker ended without sending: {seen}, {worker.stderr.read()}")
        worker.send_signal(signal.SIGTERM)
        rest, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "SIGTERM received" in rest, rest
    assert "worker: stopped: 1 sent" in rest, rest
    assert "Traceback" not in err
    assert [m.message["Subject"] for m in smtp.messages] == ["Hlídaný"]


def test_smtp_authentication_and_tls_problems_are_configuration_errors(tmp_path, smtp):
    cli = Cli.init(tmp_path)
    message_id = cli.email("--subject", "Nepůjde", "--text", "x")

    wrong = cli.run("send", message_id, "--json", env=_smtp_env(smtp, password="wrong"))
    assert wrong.code == ExitCode.CONFIG, wrong
    assert wrong.json()["skipped"] == {message_id: "transport_stopped"}
    last = wrong.err.splitlines()[-1]
    assert last.startswith("contos-messaging: error: the transport stopped: 535"), wrong

    untrusted = {**_smtp_env(smtp), "CONTOS_SMTP_CA_FILE": ""}
    tls = cli.run("worker", "--smtp-timeout", "10", env=untrusted)
    assert tls.code == ExitCode.CONFIG, tls
    assert "TLS" in tls.out
    assert not smtp.messages
    assert cli.inproc("show", message_id)["status"] == "queued"  # no retry was used up
    assert_one_error_line(cli.call("worker"), ExitCode.CONFIG, "no SMTP server")


def test_worker_max_sends_at_most_that_many_and_reports_in_json(tmp_path, smtp):
    cli = Cli.init(tmp_path)
    ids = [cli.email("--subject", f"Limit {n}", "--text", "x") for n in range(2)]
    report = cli.call("worker", "--max", "1", "--json", env=_smtp_env(smtp))
    assert report.code == 0, report
    assert len(report.json()["sent"]) == 1
    assert report.json()["sent"][0] in ids
    assert "worker: stopped: 1 sent" in report.err  # log lines go to stderr with --json
    assert len(smtp.messages) == 1
