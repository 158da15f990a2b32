"""Synthetic ContOS e-mails for training the default compression dictionary and for benchmarks.

Not part of the installed library: :func:`synthetic_emails` renders typical ContOS e-mails
(order confirmations, settlement statements, commission-contract amendments, reminders) with
invented names, amounts and dates, never customer data; :func:`synthetic_contacts` invents
recipients; :func:`train` turns samples into a zstd dictionary. ``scripts/train_dictionary.py``
uses them to produce the dictionary the SQLite store ships
(``src/contos_messaging/adapters/sqlite/default.zdict``); ``benchmarks/`` load this module with
``runpy.run_path``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import zstandard

__all__ = ["DEFAULT_DICTIONARY_SIZE", "synthetic_contacts", "synthetic_emails", "train"]

DEFAULT_DICTIONARY_SIZE = 64 * 1024

_FIRST = [
    "Jan",
    "Petr",
    "Eva",
    "Jana",
    "Tomáš",
    "Lucie",
    "Martin",
    "Kateřina",
    "Jiří",
    "Zdeňka",
    "Pavel",
    "Marie",
    "Lukáš",
    "Veronika",
    "Ondřej",
    "Hana",
]
_LAST = [
    "Novák",
    "Svoboda",
    "Dvořák",
    "Černý",
    "Procházka",
    "Kučera",
    "Veselý",
    "Horák",
    "Němec",
    "Marek",
    "Pokorný",
    "Růžička",
    "Král",
    "Fiala",
    "Zeman",
    "Beneš",
]
_CITIES = [
    "Praha",
    "Brno",
    "Ostrava",
    "Plzeň",
    "Liberec",
    "Olomouc",
    "České Budějovice",
    "Hradec Králové",
    "Pardubice",
    "Zlín",
    "Jihlava",
    "Karlovy Vary",
]
_STREETS = ["Národní", "Masarykova", "Husova", "Palackého", "Nádražní", "Komenského", "Sokolská"]
_PRODUCTS = [
    "Servisní balíček Standard",
    "Licence ContOS Provize",
    "Konzultace – 4 hodiny",
    "Roční podpora Premium",
    "Školení obchodníků",
    "Modul Vyúčtování",
    "Rozšíření o SMS brány",
    "Archivace dokumentů",
]

_BANNER = (
    '<div class="banner"><table width="100%"><tr><td><b>ContOS s.r.o.</b><br>'
    'Systém pro řízení komisního prodeje</td><td align="right">Zákaznická linka: '
    "+420 800 100 200<br>Po–Pá 8:00–17:00<br>podpora@contos.example.com</td></tr></table>"
    "</div><hr>"
)

_STYLE = (
    "<style>body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222}"
    "table.items{border-collapse:collapse;width:100%}table.items td,table.items th"
    "{border:1px solid #ccc;padding:6px 8px;text-align:left}.total{font-weight:bold}"
    ".footer{color:#777;font-size:12px;margin-top:24px}</style>"
)


def _money(rng: random.Random) -> str:
    value = rng.randint(500, 250_000) + rng.choice([0, 0.5, 0.9])
    whole, cents = f"{value:.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return "\u00a0".join(groups) + "," + cents + "\u00a0Kč"


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)}. {rng.randint(1, 12)}. {rng.randint(2024, 2027)}"


def _person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return first, last, f"{first} {last}"


def _rows(rng: random.Random) -> str:
    rows = []
    for _ in range(rng.randint(2, 4)):
        rows.append(
            f"<tr><td>{rng.choice(_PRODUCTS)}</td><td>{rng.randint(1, 12)}</td>"
            f"<td>{_money(rng)}</td><td>{_money(rng)}</td></tr>"
        )
    return "".join(rows)


_INFO = (
    "<h3>Jak postupovat dál</h3><p>Pokud potřebujete cokoli upřesnit, odpovězte prosím přímo "
    "na tento e-mail nebo kontaktujte svého obchodního zástupce. Odpověď zpravidla zasíláme "
    "do dvou pracovních dnů. Při komunikaci uvádějte vždy číslo dokladu, abychom mohli Vaši "
    "žádost rychle přiřadit ke správnému obchodnímu případu a klientovi.</p>"
    "<p>Přehled všech objednávek, smluv, vyúčtování a dodatků najdete také v klientské zóně, "
    "kde si můžete stáhnout jednotlivé dokumenty ve formátu PDF a nastavit, jakým způsobem "
    "Vám máme zasílat upozornění (e-mailem, SMS zprávou nebo obojím).</p>"
    "<h3>Důležité informace</h3><ul><li>Veškeré dokumenty k Vašemu obchodnímu případu najdete "
    "v klientské zóně ContOS po přihlášení svým uživatelským jménem.</li><li>Změny kontaktních "
    "údajů, bankovního spojení nebo fakturační adresy nám prosím oznamte písemně nejpozději do "
    "konce kalendářního měsíce, aby mohly být zohledněny v nejbližším vyúčtování.</li><li>"
    "Reklamace a připomínky vyřizujeme do 30 dnů od jejich doručení; o výsledku Vás budeme "
    "informovat e-mailem nebo SMS zprávou.</li><li>Na tuto zprávu můžete odpovědět přímo; Vaše "
    "odpověď bude přiřazena ke správnému obchodnímu případu.</li></ul><p>Obchodní podmínky "
    "platné ke dni uzavření smlouvy jsou k dispozici na vyžádání a v klientské zóně. Ceny jsou "
    "uvedeny včetně DPH v zákonné výši, pokud není výslovně uvedeno jinak.</p>"
)


def _footer(rng: random.Random, clerk: str) -> str:
    return (
        f"{_INFO}<p>S pozdravem</p><p>{clerk}<br>obchodní oddělení<br>ContOS s.r.o.<br>"
        f"{rng.choice(_STREETS)} {rng.randint(1, 200)}, {rng.choice(_CITIES)}<br>"
        f"tel.: +420 {rng.randint(600, 799)} {rng.randint(100, 999)} {rng.randint(100, 999)}</p>"
        '<div class="footer">IČO 12345678, DIČ CZ12345678, zapsaná v obchodním rejstříku '
        "vedeném Městským soudem v Praze, oddíl C, vložka 123456. Tato zpráva byla odeslána "
        "z informačního systému ContOS. "
        "Pokud jste ji obdrželi omylem, informujte nás prosím a zprávu smažte. Obsah zprávy "
        "je důvěrný a určený pouze adresátovi. Zpracování osobních údajů se řídí nařízením "
        "GDPR; podrobnosti najdete v našich zásadách ochrany osobních údajů.</div>"
    )


def _order(rng: random.Random) -> tuple[str, str]:
    first, last, _ = _person(rng)
    number = f"O-{rng.randint(2024, 2027)}-{rng.randint(1, 9999):04d}"
    subject = f"Potvrzení objednávky {number}"
    html = (
        f'<html><head><meta charset="utf-8">{_STYLE}</head><body>{_BANNER}'
        f"<p>Vážený pane {last},</p><p>děkujeme za Vaši objednávku č. <b>{number}</b> ze dne "
        f"{_date(rng)}. Objednávku jsme přijali ke zpracování a níže posíláme její rekapitulaci."
        '</p><table class="items"><tr><th>Položka</th><th>Množství</th><th>Cena za kus</th>'
        f"<th>Cena celkem</th></tr>{_rows(rng)}</table>"
        f'<p class="total">Celkem k úhradě: {_money(rng)} včetně DPH</p>'
        f"<p>Platbu prosím uhraďte do {_date(rng)} na účet č. {rng.randint(100000, 999999)}/"
        f"{rng.choice(['0100', '0300', '0800', '2010', '5500'])}, variabilní symbol "
        f"{rng.randint(10**9, 10**10 - 1)}. Fakturu Vám zašleme samostatně po dodání.</p>"
        f"<p>Kontaktní osoba pro tuto objednávku: {first} {last}, "
        f"{rng.choice(_CITIES)}.</p>{_footer(rng, ' '.join(_person(rng)[2:]))}</body></html>"
    )
    return subject, html


def _statement(rng: random.Random) -> tuple[str, str]:
    _, last, _ = _person(rng)
    month = rng.choice(
        [
            "leden",
            "únor",
            "březen",
            "duben",
            "květen",
            "červen",
            "červenec",
            "srpen",
            "září",
            "říjen",
            "listopad",
            "prosinec",
        ]
    )
    number = f"V-{rng.randint(2024, 2027)}-{rng.randint(1, 12):02d}-{rng.randint(1, 999):03d}"
    subject = f"Vyúčtování provizí za {month} – {number}"
    html = (
        f'<html><head><meta charset="utf-8">{_STYLE}</head><body>{_BANNER}'
        f"<p>Vážená paní {last}ová,</p><p>v příloze Vám zasíláme vyúčtování provizí č. "
        f"<b>{number}</b> za období {month}. Vyúčtování obsahuje všechny smlouvy uzavřené "
        "v daném období podle komisní smlouvy a jejích dodatků.</p>"
        '<table class="items"><tr><th>Smlouva</th><th>Počet</th><th>Obrat</th>'
        f"<th>Provize</th></tr>{_rows(rng)}</table>"
        f'<p class="total">Provize celkem: {_money(rng)}</p><p>Provize bude vyplacena '
        f"do {_date(rng)} na Váš účet. Máte-li k vyúčtování připomínky, ozvěte se nám prosím "
        f"do 14 dnů od doručení.</p>{_footer(rng, _person(rng)[2])}</body></html>"
    )
    return subject, html


def _amendment(rng: random.Random) -> tuple[str, str]:
    first, last, _ = _person(rng)
    number = f"D-{rng.randint(1, 40)}/{rng.randint(2024, 2027)}"
    subject = f"Dodatek komisní smlouvy č. {number}"
    html = (
        f'<html><head><meta charset="utf-8">{_STYLE}</head><body>{_BANNER}'
        f"<p>Dobrý den, pane {first} {last},</p><p>zasíláme Vám k podpisu dodatek č. "
        f"<b>{number}</b> ke komisní smlouvě ze dne {_date(rng)}. Dodatek upravuje výši "
        f"provizní sazby na {rng.randint(2, 15)} % a rozšiřuje seznam produktů o položky "
        'uvedené níže.</p><table class="items"><tr><th>Produkt</th><th>Sazba</th>'
        f"<th>Minimální obrat</th><th>Bonus</th></tr>{_rows(rng)}</table>"
        f"<p>Dodatek nabývá účinnosti dnem {_date(rng)}. Podepsaný dodatek nám prosím vraťte "
        "elektronicky nebo poštou na adresu sídla společnosti.</p>"
        f"{_footer(rng, _person(rng)[2])}</body></html>"
    )
    return subject, html


def _reminder(rng: random.Random) -> tuple[str, str]:
    _, last, _ = _person(rng)
    number = f"F-{rng.randint(2024, 2027)}{rng.randint(1, 99999):05d}"
    subject = f"Upomínka – faktura {number} po splatnosti"
    html = (
        f'<html><head><meta charset="utf-8">{_STYLE}</head><body>{_BANNER}'
        f"<p>Vážený pane {last},</p><p>dovolujeme si Vás upozornit, že faktura č. "
        f"<b>{number}</b> se splatností {_date(rng)} na částku {_money(rng)} dosud nebyla "
        "uhrazena. Prosíme o úhradu v nejbližším možném termínu.</p>"
        '<table class="items"><tr><th>Položka</th><th>Množství</th><th>Cena</th>'
        f"<th>Celkem</th></tr>{_rows(rng)}</table><p>Pokud jste již platbu odeslali, "
        "považujte prosím tuto zprávu za bezpředmětnou.</p>"
        f"{_footer(rng, _person(rng)[2])}</body></html>"
    )
    return subject, html


_KINDS = (_order, _statement, _amendment, _reminder)


def synthetic_emails(count: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` invented (subject, html) pairs of typical ContOS e-mails (~3-4 KB of HTML)."""
    rng = random.Random(seed)
    return [_KINDS[i % len(_KINDS)](rng) for i in range(count)]


def train(samples: Iterable[bytes], size: int = DEFAULT_DICTIONARY_SIZE) -> bytes:
    """Train a zstd dictionary of at most ``size`` bytes from ``samples``."""
    trained = zstandard.train_dictionary(size, list(samples), level=3)
    return bytes(trained.as_bytes())


def synthetic_contacts(count: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` invented (name, e-mail address) pairs."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        first, last, name = _person(rng)
        local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "klient"
        out.append((name, f"{local}{rng.randint(1, 999)}@example.com"))
    return out
