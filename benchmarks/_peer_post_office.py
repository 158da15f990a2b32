"""The django-post_office side of benchmarks/peers.py, in a process of its own; prints one
line of JSON when done.

    python benchmarks/_peer_post_office.py --dir D --messages N --attachments M \
        --queries Q --port P --ca-file F --sink-pid S

Django is configured here with ``settings.configure`` (no project files): post_office in
``INSTALLED_APPS``, SQLite in a file under ``--dir``, media (attachments) under it too,
``call_command("migrate")``, the SMTP backend of ``_peer_django.py`` over STARTTLS + AUTH.
post_office is used as its documentation says, with its defaults (priority ``medium``,
``BATCH_SIZE`` 100, ``THREADS_PER_PROCESS`` 5, ``LOG_LEVEL`` 2, one sending process):

(a) ``mail.send_many([...])`` with an ``EmailTemplate`` (rendered when queued, as by default),
    the client's id in a header (``X-Client-Id``), its only place for it
(b) ``mail.send(..., attachments={name: ContentFile(pdf)}, priority="medium")`` one by one:
    ``send_many`` refuses attachments
(c) ``mail.send_queued_mail_until_done()``, what ``manage.py send_queued_mail`` runs
(d) a client's e-mails: ``Email.objects.filter(headers__X-Client-Id=...)``, newest first, the
    count and the first 50 rows (as ours returns: total and a page of 50); also by recipient
    (``to__contains``) for comparison
(e) post_office has no full-text search: the Django ORM's ``message__icontains`` OR
    ``html_message__icontains`` (SQLite ``LIKE '%word%'``, a scan of every row), the count
    and the first 20 rows
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import _peer_common as common


def _configure(root: Path, port: int, ca_file: str) -> float:
    import django
    from django.conf import settings
    from django.core.management import call_command

    from contos_messaging.testing.smtp import LocalSMTPServer

    start = time.perf_counter()
    backend = "_peer_django.TrustingSMTPBackend"
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        TIME_ZONE="Europe/Prague",
        INSTALLED_APPS=["post_office"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(root / "db.sqlite3")}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {"builtins": ["_peer_django"]},
            }
        ],
        MEDIA_ROOT=str(root / "media"),
        EMAIL_BACKEND="post_office.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER=LocalSMTPServer.USERNAME,
        EMAIL_HOST_PASSWORD=LocalSMTPServer.PASSWORD,
        EMAIL_USE_TLS=True,
        EMAIL_TIMEOUT=30,
        DEFAULT_FROM_EMAIL=common.SENDER,
        POST_OFFICE={"BACKENDS": {"default": backend}, "DEFAULT_PRIORITY": "medium"},
        PEER_SMTP_CA_FILE=ca_file,
    )
    django.setup()
    logging.getLogger("post_office").setLevel(logging.WARNING)  # (INFO lines per batch)
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - start


def _job(args: argparse.Namespace, steps: common.Steps) -> dict[str, Any]:
    from django.core.files.base import ContentFile
    from django.db.models import Q
    from post_office import mail
    from post_office.models import STATUS, Email, EmailTemplate

    EmailTemplate.objects.create(
        name="statement", subject=common.SUBJECT, html_content=common.HTML_DJANGO
    )
    clients = common.clients_for(args.messages)
    records = [common.client_record(n) for n in range(clients)]
    total = args.messages + args.attachments

    def kwargs(i: int) -> dict[str, Any]:
        n = i % clients
        name, addr = common.address(n)
        return {
            "recipients": [f"{name} <{addr}>"],
            "sender": common.SENDER,
            "template": "statement",
            "context": {
                "client": records[n],
                "statement": common.statement_record(i),
                "company": common.COMPANY,
            },
            "headers": {"X-Client-Id": common.client_id(n)},
            "priority": "medium",
        }

    templated = [kwargs(i) for i in range(args.messages)]
    with_pdf = [kwargs(i) for i in range(args.messages, total)]
    pdf = common.fake_pdf()

    with steps.step("a_create_templated"):
        created = mail.send_many(templated)
    assert len(created) == args.messages
    with steps.step("b_create_with_pdf"):
        for k, one in enumerate(with_pdf):
            files = {f"vyuctovani-{args.messages + k}.pdf": ContentFile(pdf)}
            mail.send(attachments=files, **one)
    queued = Email.objects.filter(status=STATUS.queued).count()
    assert queued == total, queued
    with steps.step("c_send_all") as step:
        mail.send_queued_mail_until_done(lockfile=str(Path(args.dir) / "send_queued_mail"))
        step.figures["sent"] = Email.objects.filter(status=STATUS.sent).count()
        step.figures["failed"] = Email.objects.filter(status=STATUS.failed).count()

    def by_header(n: int) -> tuple[int, int]:
        rows = Email.objects.filter(**{"headers__X-Client-Id": common.client_id(n)})
        rows = rows.order_by("-created", "-id")
        return rows.count(), len(list(rows[: common.HISTORY_PAGE]))

    def by_recipient(n: int) -> tuple[int, int]:
        rows = Email.objects.filter(to__contains=f"<{common.address(n)[1]}>")
        rows = rows.order_by("-created", "-id")
        return rows.count(), len(list(rows[: common.HISTORY_PAGE]))

    def icontains(word: str) -> tuple[int, int]:
        rows = Email.objects.filter(Q(message__icontains=word) | Q(html_message__icontains=word))
        rows = rows.order_by("-created", "-id")
        return rows.count(), len(list(rows[: common.SEARCH_PAGE]))

    _queries(steps, "d_client_emails", by_header, common.query_clients(clients, args.queries))
    _queries(steps, "d_by_recipient", by_recipient, common.query_clients(clients, args.queries))
    _queries(steps, "e_search_word", icontains, common.query_words(args.queries))
    return {"created": total, "clients": clients}


def _queries(steps: common.Steps, name: str, run: Any, keys: list[Any]) -> None:
    run(keys[0])  # warm up (untimed)
    samples, hits, shown = [], 0, 0
    with steps.step(name) as step:
        for key in keys:
            t = time.perf_counter()
            found, page = run(key)
            samples.append(time.perf_counter() - t)
            hits, shown = hits + found, shown + page
        step.figures.update(median_ms=common.median_ms(samples), queries=len(keys),
                            mean_hits=hits / len(keys), mean_shown=shown / len(keys))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--attachments", type=int, required=True)
    parser.add_argument("--queries", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--sink-pid", type=int, required=True)
    args = parser.parse_args()
    root = Path(args.dir)
    with common.TreeMemory() as memory:
        steps = common.Steps(memory, args.sink_pid)
        setup = _configure(root, args.port, args.ca_file)
        result = _job(args, steps)
    print(json.dumps({"side": "post_office", "setup_s": setup, **result, "steps": steps.figures,
                      **common.own_peaks()}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
