"""Bulk generation benchmark: personalised e-mails from one template, two links each.

Ours: ``AsyncMessenger.generate_bulk`` on the embedded store (process-isolated sandboxed
rendering, context from linked records, recipients from the address book, content sealed, SQLite
commits per batch of 500; the timing runs until the search index holds every message).
Baseline: jinja2 render + ``email.message.EmailMessage`` + one file each, no encryption, no
index. Each side runs in its own process; prints msg/s, the ratio and peak RSS, then one JSON
line.

    python benchmarks/bulk_generate.py [--quick] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

SUBJECT = "Vyúčtování provizí {{ statement.number }} za {{ statement.period }}"
HTML = """<html><head><meta charset="utf-8"></head><body>
<p>{{ client.last_name|salutation }},</p>
<p>v příloze Vám zasíláme vyúčtování provizí č. <b>{{ statement.number }}</b> za období
{{ statement.period }} podle komisní smlouvy ze dne {{ client.contract_date|date_cz }}.
Vyúčtování obsahuje {{ statement.contracts|plural("smlouvu", "smlouvy", "smluv") }}
s celkovým obratem {{ statement.turnover|money }}.</p>
<table class="items"><tr><th>Položka</th><th>Částka</th></tr>
{% for line in statement.lines %}<tr><td>{{ line.name }}</td><td>{{ line.amount|money }}</td></tr>
{% endfor %}</table>
<p class="total">Provize celkem: {{ statement.total|money }}</p>
<p>Provize bude vyplacena do {{ statement.due|date_cz }} na účet {{ client.account }}.
Máte-li k vyúčtování připomínky, ozvěte se nám prosím do 14 dnů od doručení.</p>
<h3>Důležité informace</h3><ul><li>Veškeré dokumenty k Vašemu obchodnímu případu najdete
v klientské zóně ContOS po přihlášení svým uživatelským jménem.</li><li>Změny kontaktních údajů,
bankovního spojení nebo fakturační adresy nám prosím oznamte písemně nejpozději do konce
kalendářního měsíce, aby mohly být zohledněny v nejbližším vyúčtování.</li><li>Reklamace
a připomínky vyřizujeme do 30 dnů od jejich doručení; o výsledku Vás budeme informovat e-mailem
nebo SMS zprávou.</li></ul>
<p>S pozdravem</p><p>{{ company.name }}<br>obchodní oddělení</p>
<div class="footer">Tato zpráva byla odeslána z informačního systému ContOS. Pokud jste ji
obdrželi omylem, informujte nás prosím a zprávu smažte. Obsah zprávy je důvěrný a určený pouze
adresátovi. Zpracování osobních údajů se řídí nařízením GDPR; podrobnosti najdete v našich
zásadách ochrany osobních údajů. IČO 12345678, DIČ CZ12345678, zapsaná v obchodním rejstříku
vedeném Městským soudem v Praze, oddíl C, vložka 123456.</div>
</body></html>"""
NAMES = ["Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"]


def _records(count: int) -> list[tuple[dict[str, object], dict[str, object], str, str]]:
    out = []
    for i in range(count):
        client = {
            "last_name": NAMES[i % len(NAMES)],
            "contract_date": dt.date(2020, 1, 1 + i % 28),
            "account": f"{100000 + i}/0800",
        }
        statement = {
            "number": f"V-2026-11-{i:05d}",
            "period": "listopad 2026",
            "contracts": i % 9 + 1,
            "turnover": 15000 + i * 13.5,
            "total": 1500 + i * 1.35,
            "due": dt.date(2026, 12, 15),
            "lines": [{"name": f"Smlouva S-{i}-{k}", "amount": 100 * k + i} for k in range(3)],
        }
        out.append((client, statement, f"Klient {i}", f"klient{i}@example.com"))
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_baseline(count: int, root: Path) -> dict[str, float]:
    import jinja2

    from contos_messaging.adapters.rendering.filters import FILTERS

    env = jinja2.Environment(autoescape=True)
    env.filters.update(FILTERS)
    subject_t, html_t = env.from_string(SUBJECT), env.from_string(HTML)
    records = _records(count)
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, (client, statement, name, address) in enumerate(records):
        variables = {"client": client, "statement": statement, "company": {"name": "ContOS"}}
        msg = EmailMessage()
        msg["From"] = "ContOS <info@contos.example.com>"
        msg["To"] = f"{name} <{address}>"
        msg["Subject"] = subject_t.render(variables)
        msg.set_content(html_t.render(variables), subtype="html")
        (root / f"{i}.eml").write_bytes(msg.as_bytes())
    elapsed = time.perf_counter() - start
    return {"per_s": count / elapsed, "seconds": elapsed, "peak_rss_mb": _rss_mb()}


def run_ours(count: int, root: Path, pdf_kb: int = 0) -> dict[str, float]:
    from contos_messaging import (
        Actor,
        AsyncMessenger,
        Attachment,
        BulkTarget,
        Contact,
        LinkedEntity,
    )
    from contos_messaging.adapters.rendering.process import BATCH
    from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider

    records = _records(count)
    book, context = InMemoryAddressBook(), InMemoryContextProvider()
    targets = []
    pdf = b"%PDF-1.7\n" + os.urandom(pdf_kb * 1024)  # (compressed streams: random-like)
    for i, (client, statement, name, address) in enumerate(records):
        c, s = LinkedEntity.client(f"C-{i}"), LinkedEntity.statement(f"V-{i}")
        context.add(c, client)
        context.add(s, statement)
        book.add(c, Contact(name, email=address))
        files = [Attachment.from_bytes(f"vyuctovani-V-{i}.pdf", pdf)] if pdf_kb else []
        targets.append(BulkTarget(links=[c, s], attachments=files))
    actor = Actor.system()

    async def main() -> dict[str, float]:
        messenger = await AsyncMessenger.open(
            root,
            master_key=base64.b64encode(os.urandom(32)).decode(),
            company_sender="ContOS <info@contos.example.com>",
            address_book=book,
            context=context,
        )
        await messenger.templates.save(actor, "statement", subject=SUBJECT, html=HTML)
        # Warm up: both render workers started and keys of these clients exist, as in a running
        # host (a preview renders one context: it would start one worker only, the second then
        # starting, ~1 s of CPU, inside the timed run).
        await messenger.templates.preview("statement", links=targets[0].links)
        template = await messenger.templates.get("statement")
        await messenger.ports.renderer.render(template, [{}] * (BATCH + 1))
        for target in targets:
            await messenger.ports.keys.current(target.links[0].id)
        start = time.perf_counter()
        report = await messenger.generate_bulk(actor, "statement", targets)
        await messenger.wait_indexed()  # end to end: searchable, not only stored
        elapsed = time.perf_counter() - start
        assert len(report.created) == count, report.failures[:3]
        sample = await messenger.get(report.created[-1])
        assert "Provize celkem" in (sample.html or "")
        await messenger.aclose()
        return {"per_s": count / elapsed, "seconds": elapsed}

    result = asyncio.run(main())
    result["peak_rss_mb"] = _rss_mb()
    return result


def _child(kind: str, count: int, pdf_kb: int = 0) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bulk-{kind}-") as directory:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--messages",
            str(count),
            "--dir",
            directory,
            "--pdf-kb",
            str(pdf_kb),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 messages instead of 10,000")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--pdf-kb", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    count = args.messages or (2_000 if args.quick else 10_000)
    if args.child:
        if args.child == "ours":
            print(json.dumps(run_ours(count, Path(args.dir), args.pdf_kb)))
        else:
            print(json.dumps(run_baseline(count, Path(args.dir))))
        return
    baseline = _child("baseline", count)
    ours = _child("ours", count)
    with_pdf_count = max(1, count // 4)
    with_pdf = _child("ours", with_pdf_count, pdf_kb=100)
    ratio = ours["per_s"] / baseline["per_s"]
    print(f"bulk generation, {count} personalised e-mails, one template, two links each")
    print(f"{'':24}{'baseline':>12}{'ours':>12}{'ours/base':>11}")
    print(f"{'messages/s':24}{baseline['per_s']:>12,.0f}{ours['per_s']:>12,.0f}{ratio:>11.2f}")
    print(
        f"{'peak RSS MB':24}{baseline['peak_rss_mb']:>12,.1f}{ours['peak_rss_mb']:>12,.1f}"
        f"{ours['peak_rss_mb'] / baseline['peak_rss_mb']:>11.2f}"
    )
    print(
        f"{'with a 100 KB PDF each':24}{'':>12}{with_pdf['per_s']:>12,.0f}"
        f"   ({with_pdf_count:,} messages, its own PDF each)"
    )
    targets = {
        "per_s": ours["per_s"] >= 5_000,
        "peak_rss_mb": ours["peak_rss_mb"] < 400,
        "with_pdf_per_s": with_pdf["per_s"] >= 2_500,
    }
    print("targets met:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print(
        json.dumps(
            {
                "benchmark": "bulk_generate",
                "messages": count,
                "baseline": baseline,
                "ours": ours,
                "ours_with_100kb_pdf": {**with_pdf, "messages": with_pdf_count},
                "ratio": ratio,
                "targets_met": targets,
            }
        )
    )


if __name__ == "__main__":
    main()
