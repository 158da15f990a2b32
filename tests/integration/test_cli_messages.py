"""``contos-messaging`` on messages: templates, compose, queue, the list and its filters,
search, show, history, audit, cancel, export (.eml, a client's folder or zip), erase-client,
verify, gc, reindex, rotate-key. Run as the installed command against a store in tmp_path."""

from __future__ import annotations

import email
import email.policy
import json
import zipfile

from contos_messaging.cli.exit_codes import ExitCode
from tests.integration.test_cli import Cli, assert_one_error_line


def test_templates_add_list_show_and_preview(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "confirm.toml").write_text(
        'subject = "Potvrzení objednávky {{ order.number }}"\n'
        'html = "<p>Dobrý den, {{ name }}</p><script>x()</script>"\n'
    )
    saved = cli.json("template", "add", "potvrzeni", "--file", "confirm.toml")
    assert saved["version"] == 1
    assert saved["variables"] == ["name", "order"]
    (tmp_path / "ready.txt").write_text("Objednávka {{ order.number }} je připravena.")
    sms = cli.inproc(
        "template", "add", "pripraveno", "--channel", "sms", "--text-file", "ready.txt"
    )
    assert sms["channel"] == "sms"
    again = cli.inproc("template", "add", "potvrzeni", "--subject", "Objednávka {{ order.number }}",
                       "--html", "<p>{{ name }}</p>")  # fmt: skip
    assert again["version"] == 2

    listed = cli.json("template", "list")["templates"]
    assert {(t["name"], t["version"]) for t in listed} == {("potvrzeni", 2), ("pripraveno", 1)}
    first = cli.json("template", "show", "potvrzeni", "--version", "1")
    assert first["subject"].startswith("Potvrzení")
    assert "<script>" in first["html"]

    variables = json.dumps({"name": "Jan", "order": {"number": "O-7"}})
    preview = cli.json("template", "preview", "potvrzeni", "--version", "1", "--vars", variables)
    assert preview["subject"] == "Potvrzení objednávky O-7"
    assert "Dobrý den, Jan" in preview["html"]
    assert "<script>" not in preview["html"]
    assert (
        cli.inproc("template", "preview", "pripraveno", "--vars", variables)["sms"]["segments"] == 1
    )
    unknown = cli.call("template", "preview", "potvrzeni", "--vars", "{}")
    assert_one_error_line(unknown, ExitCode.USAGE, "potvrzeni", "undefined")
    assert_one_error_line(cli.call("template", "show", "nic"), ExitCode.NOT_FOUND, "nic")


def test_compose_queue_list_filters_search_show_history_and_cancel(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "smlouva.pdf").write_bytes(b"%PDF-1.7 smlouva " * 100)
    draft = cli.json("compose", "email", "--to", "jan@example.com; eva@example.com",
                     "--subject", "Smlouva k podpisu", "--text", "V příloze smlouva.",
                     "--attach", "smlouva.pdf", "--link", "client:C-1", "--link", "order:O-7",
                     "--draft")  # fmt: skip
    assert draft["status"] == "draft"
    assert draft["queued"] is False
    assert draft["attachments"][0]["filename"] == "smlouva.pdf"
    assert draft["links"] == ["client:C-1", "order:O-7"]
    partly = cli.run("queue", draft["id"], "0190e000-0000-7000-8000-000000000000", "--json")
    queued = partly.json()
    assert partly.code == ExitCode.FAILED
    assert queued["queued"] == [draft["id"]]
    assert list(queued["skipped"].values()) == ["not_found"]

    sms = cli.json("compose", "sms", "--to", "+420601123456", "--text", "Zásilka je na cestě",
                   "--link", "client:C-2")  # fmt: skip
    assert sms["status"] == "queued"
    assert sms["recipients"]["to"] == ["+420601123456"]
    cli.inproc(
        "template", "add", "upominka", "--subject", "Upomínka {{ n }}", "--text", "Platba {{ n }}"
    )
    other = cli.inproc("compose", "email", "--to", "petr@example.com", "--template", "upominka",
                       "--vars", '{"n": "F-9"}', "--link", "client:C-1", "--draft",
                       "--actor", "jana")  # fmt: skip
    assert other["subject"] == "Upomínka F-9"
    assert other["template"]["name"] == "upominka"

    def ids(*args):
        return [m["id"] for m in cli.inproc("list", *args)["messages"]]

    listed = cli.json("list", "--status", "draft,queued", "--created-by", "operator")
    assert [m["id"] for m in listed["messages"]] == [sms["id"], draft["id"]]  # newest first
    assert ids() == [other["id"], sms["id"], draft["id"]]
    assert ids("--order", "oldest", "--limit", "2") == [draft["id"], sms["id"]]
    assert ids("--status", "draft", "--status", "sent") == [other["id"]]
    assert ids("--channel", "sms") == [sms["id"]]
    assert ids("--link", "client:C-1", "--link", "order:O-7", "--all-links") == [draft["id"]]
    assert ids("--template", "upominka", "--created-by", "jana") == [other["id"]]
    assert ids("--since", "2000-01-01", "--until", "2001-01-01") == []
    assert len(ids("--since", "2000-01-01", "--offset", "1")) == 2

    found = cli.json("search", "smlouva", "--status", "queued")
    assert [h["id"] for h in found["hits"]] == [draft["id"]]
    assert found["total"] == 1
    shown = cli.json("show", draft["id"])
    assert shown["text"] == "V příloze smlouva."
    assert shown["recipients"]["to"] == ["jan@example.com", "eva@example.com"]
    history = cli.ok("history", "client:C-1").out  # the human form: a table and a count
    assert history.index(other["id"]) < history.index(draft["id"])
    assert "Smlouva k podpisu" in history
    assert "1-2 of 2 linked to client:C-1" in history

    cancelled = cli.json("cancel", sms["id"])
    assert cancelled["status"] == "cancelled"
    assert_one_error_line(cli.call("cancel", sms["id"]), ExitCode.CONFLICT, sms["id"])
    actions = [e["action"] for e in cli.json("audit", sms["id"])["events"]]
    assert actions == ["created", "status_changed", "cancelled"]


def test_export_one_eml_and_everything_of_a_client_as_folder_and_zip(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "vypis.pdf").write_bytes(b"%PDF-1.7 vypis " * 500)
    first = cli.email("--subject", "Vyúčtování za listopad", "--text", "Dobrý den",
                      "--attach", "vypis.pdf", "--link", "client:C-1")  # fmt: skip
    sms = cli.inproc("compose", "sms", "--to", "+420601123456", "--text", "Hotovo",
                     "--link", "client:C-1")["id"]  # fmt: skip
    cli.email("--subject", "Jiný klient", "--text", "x", "--link", "client:C-2")

    assert cli.json("export", first, "one.eml")["bytes"] > 7000
    parsed = email.message_from_bytes((tmp_path / "one.eml").read_bytes(),
                                      policy=email.policy.default)  # fmt: skip
    assert parsed["Subject"] == "Vyúčtování za listopad"
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["vypis.pdf"]
    stdout = cli.ok("export", first).out
    assert "Subject:" in stdout
    assert first in stdout
    assert_one_error_line(cli.call("export", first, "one.eml"), ExitCode.CONFLICT, "exists")

    folder = cli.json("export", "--client", "C-1", "dsar")
    assert folder["messages"] == 2
    index = json.loads((tmp_path / "dsar" / "index.json").read_text())
    assert index["client"] == "C-1"
    assert [m["id"] for m in index["messages"]] == [first, sms]
    by_id = {m["id"]: m for m in index["messages"]}
    eml = email.message_from_bytes((tmp_path / "dsar" / by_id[first]["file"]).read_bytes(),
                                   policy=email.policy.default)  # fmt: skip
    assert eml["Subject"] == "Vyúčtování za listopad"
    pdf = tmp_path / "dsar" / by_id[first]["attachments"][0]["file"]
    assert pdf.read_bytes() == (tmp_path / "vypis.pdf").read_bytes()
    assert (tmp_path / "dsar" / by_id[sms]["file"]).read_text() == "Hotovo"

    cli.inproc("export", "--client", "C-1", "dsar.zip")
    with zipfile.ZipFile(tmp_path / "dsar.zip") as archive:
        names = set(archive.namelist())
        assert names == {"index.json", by_id[first]["file"], by_id[sms]["file"],
                         by_id[first]["attachments"][0]["file"]}  # fmt: skip
        assert json.loads(archive.read("index.json"))["count"] == 2
        assert archive.read(by_id[first]["attachments"][0]["file"]) == pdf.read_bytes()


def test_erase_client_asks_first_and_the_messages_are_gone_from_the_list(tmp_path):
    cli = Cli.init(tmp_path)
    mine = cli.email("--subject", "Pro C-1", "--text", "x", "--link", "client:C-1")
    kept = cli.email("--subject", "Pro C-2", "--text", "x", "--link", "client:C-2")

    declined = cli.run("erase-client", "C-1", input="n\n")
    prompt, error = declined.err.splitlines()
    assert declined.code == ExitCode.FAILED
    assert "not confirmed" in error
    assert prompt.startswith("Erase all communication of client C-1 (1 message(s))?")
    assert [m["id"] for m in cli.inproc("list")["messages"]] == [kept, mine]
    erased = cli.json("erase-client", "C-1", input="yes\n")
    assert erased["erased"] == [mine]
    assert cli.inproc("erase-client", "C-2", "--yes", "--wait")["erased"] == [kept]

    assert cli.inproc("list")["messages"] == []
    assert cli.inproc("history", "client:C-1")["total"] == 0
    assert_one_error_line(cli.call("show", mine), ExitCode.NOT_FOUND, mine)


def test_verify_gc_reindex_and_master_key_rotation(tmp_path):
    cli = Cli.init(tmp_path)
    cli.email("--subject", "Před rotací", "--text", "x", "--link", "client:C-1")
    verified = cli.json("verify")
    assert verified["ok"] is True
    assert verified["checked"] >= 1
    assert cli.json("gc", "--grace-hours", "0") == {"removed_objects": 0, "freed_bytes": 0}
    reindexed = cli.run("reindex")  # not a terminal: plain log lines, then the result
    assert reindexed.code == 0
    assert "reindex: 1/1" in reindexed.out
    assert "indexed 1 message(s)" in reindexed.out

    rotated = cli.json("rotate-key")
    new_key = tmp_path / "store.key.new"
    assert rotated["new_key_file"] == str(new_key)
    assert rotated["finished"] is False
    assert_one_error_line(cli.call("list"), ExitCode.ACCESS, "cannot open the store")
    env = {"CONTOS_KEY_FILE": str(new_key)}
    assert cli.json("rotate-key", "--finish", env=env)["finished_rotations"] == 1
    listed = cli.inproc("search", "rotaci", env=env)
    assert [h["subject"] for h in listed["hits"]] == ["Před rotací"]


def test_bad_combinations_of_options_are_usage_errors_and_nothing_is_stored(tmp_path):
    cli = Cli.init(tmp_path)
    cli.inproc("template", "add", "t", "--subject", "S {{ x }}", "--text", "T")
    sms = cli.inproc("compose", "sms", "--to", "+420601123456", "--text", "x")["id"]
    email_args = ("compose", "email", "--to", "a@example.com", "--subject", "s")
    cases = {
        "--template renders": ("compose", "email", "--template", "t", "--text", "x"),
        "is an email template": ("compose", "sms", "--template", "t"),
        "drop --draft": (*email_args, "--draft", "--schedule", "2099-01-01"),
        "needs --text": ("compose", "sms", "--to", "+420601123456"),
        "--vars needs --template": (*email_args, "--vars", "{}"),
        "missing.pdf": (*email_args, "--attach", "missing.pdf"),
        "variables must be a JSON object": ("template", "preview", "t", "--vars", "[1]"),
        "unknown key 'body'": ("template", "add", "u", "--file", "bad.toml"),
        "SMS": ("export", sms, "sms.eml"),
        "give the .eml file": ("export", sms, "--json"),
        "--grace-hours": ("gc", "--grace-hours", "-1"),
    }
    (tmp_path / "bad.toml").write_text('body = "x"\n')
    for words, args in cases.items():
        assert_one_error_line(cli.call(*args), ExitCode.USAGE, words)
    assert [m["id"] for m in cli.inproc("list")["messages"]] == [sms]
    assert not (tmp_path / "sms.eml").exists()

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    not_empty = cli.call("export", "--client", "C-1", "full")
    assert_one_error_line(not_empty, ExitCode.CONFLICT, "not an empty folder")


def test_rotate_key_to_a_named_file_and_finish_in_one_step(tmp_path):
    cli = Cli.init(tmp_path)
    message_id = cli.email("--subject", "Klíč", "--text", "x", "--link", "client:C-1")
    (tmp_path / "taken.key").write_text("x")
    taken = cli.call("rotate-key", "--new-key-file", "taken.key")
    assert_one_error_line(taken, ExitCode.CONFLICT, "taken.key")
    assert cli.inproc("show", message_id)["subject"] == "Klíč"  # nothing changed

    rotated = cli.inproc("rotate-key", "--new-key-file", "keys/next.key", "--finish")
    assert rotated["finished"] is True
    assert rotated["rewrapped_keys"] >= 1
    assert_one_error_line(cli.call("show", message_id), ExitCode.ACCESS, "cannot open")
    env = {"CONTOS_KEY_FILE": str(tmp_path / "keys" / "next.key")}
    assert cli.inproc("show", message_id, env=env)["subject"] == "Klíč"


def test_a_records_file_fills_recipients_and_template_variables_from_linked_records(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "records.json").write_text(
        json.dumps({
            "client:C-1": {"contact": {"name": "Jan Novák", "email": "jan.novak@example.com"},
                           "variables": {"last_name": "Novák"}},
            "order:O-7": {"owner": "client:C-1", "variables": {"number": "O-7"}},
        })
    )  # fmt: skip
    cli.env["CONTOS_RECORDS"] = "records.json"
    cli.inproc("template", "add", "hotovo", "--subject", "Objednávka {{ order.number }}",
               "--text", "Dobrý den, pane {{ client.last_name }}.")  # fmt: skip
    preview = cli.inproc("template", "preview", "hotovo", "--link", "order:O-7",
                         "--link", "client:C-1")  # fmt: skip
    assert preview["text"] == "Dobrý den, pane Novák."
    composed = cli.json("compose", "email", "--template", "hotovo", "--link", "order:O-7")
    assert composed["subject"] == "Objednávka O-7"
    assert composed["recipients"]["to"] == ["Jan Novák <jan.novak@example.com>"]
    assert composed["links"] == ["order:O-7", "client:C-1"]  # the owner is linked too
    (tmp_path / "broken.json").write_text('{"client:C-1": {"contakt": {}}}')
    broken = cli.call("list", "--records", "broken.json")
    assert_one_error_line(broken, ExitCode.CONFIG, "broken.json", "contakt")


def test_list_pages_by_cursor_and_orders_by_status(tmp_path):
    cli = Cli.init(tmp_path)
    ids = [cli.email("--subject", f"Stránka {n}", "--text", "x", "--draft") for n in range(3)]
    cli.inproc("queue", ids[1])
    first = cli.json("list", "--order", "oldest", "--limit", "2")
    assert [m["id"] for m in first["messages"]] == ids[:2]
    rest = cli.inproc("list", "--order", "oldest", "--limit", "2", "--after", first["next_after"])
    assert [m["id"] for m in rest["messages"]] == ids[2:]
    assert rest["next_after"] is None
    by_status = cli.inproc("list", "--order=status")["messages"]
    assert [m["status"] for m in by_status].count("queued") == 1
    assert cli.inproc("list", "--scheduled-since", "2000-01-01")["messages"] == []


def test_verify_exits_1_and_names_the_object_that_fails(tmp_path):
    cli = Cli.init(tmp_path)
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 40)
    cli.email("--subject", "S přílohou", "--text", "x", "--attach", "a.pdf")
    (segment,) = (cli.store / "blobs" / "segments").glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit in the sealed attachment
    segment.write_bytes(bytes(data))
    report = cli.call("verify", "--json")
    assert report.code == ExitCode.FAILED, report
    assert report.json()["ok"] is False
    assert len(report.json()["problems"]) == 1
