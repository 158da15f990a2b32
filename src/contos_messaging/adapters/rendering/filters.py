"""Czech-ready template filters: dates, money, plural forms and the vocative for salutations.

All are pure functions, registered in the sandbox under the names in :data:`FILTERS`::

    {{ statement.date|date_cz }}              28. 11. 2026
    {{ statement.date|date_cz(long=true) }}   28. listopadu 2026
    {{ statement.total|money }}               1 234,50 Kč   (non-breaking spaces)
    {{ count|plural("zpráva", "zprávy", "zpráv") }}   1 zpráva, 2 zprávy, 5 zpráv
    {{ client.first_name|vocative }}          Jane, Petře, Tomáši, Jano
    {{ client.last_name|salutation }}         Vážený pane Nováku / Vážená paní Nováková
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["FILTERS", "date_cz", "money", "plural", "salutation", "vocative"]

NBSP = "\u00a0"
_MONTHS_GENITIVE = (
    "ledna", "února", "března", "dubna", "května", "června",
    "července", "srpna", "září", "října", "listopadu", "prosince",
)  # fmt: skip


def date_cz(value: Any, long: bool = False) -> str:
    """``28. 11. 2026`` (or ``28. listopadu 2026``) from a date, datetime or ISO text."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise ValueError(f"date_cz: {value!r} is not an ISO date") from exc
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise ValueError(f"date_cz needs a date, got {type(value).__name__}")
    if long:
        return f"{value.day}. {_MONTHS_GENITIVE[value.month - 1]} {value.year}"
    return f"{value.day}. {value.month}. {value.year}"


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        if type(value) is int or type(value) is float:  # (no spaces or commas in their str)
            return Decimal(str(value))
        return Decimal(str(value).replace(NBSP, "").replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc


_QUANTA = {decimals: Decimal(1).scaleb(-decimals) for decimals in range(7)}


def money(value: Any, currency: str = "Kč", decimals: int = 2) -> str:
    """``1 234,50 Kč``: thousands grouped by non-breaking spaces, decimal comma."""
    number = _decimal(value)
    quantum = _QUANTA.get(decimals) if type(decimals) is int else None
    if quantum is None:
        quantum = Decimal(1).scaleb(-decimals)
    amount = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    if len(whole) > 3:
        head = len(whole) % 3 or 3
        whole = NBSP.join(
            [whole[:head], *[whole[at : at + 3] for at in range(head, len(whole), 3)]]
        )
    text = sign + whole + ("," + fraction if fraction else "")
    return f"{text}{NBSP}{currency}" if currency else text


def plural(count: Any, one: str, few: str, many: str, *, with_number: bool = True) -> str:
    """Czech plural: 1 → ``one``, 2-4 → ``few``, 0 and 5+ → ``many``; decimals take ``few``."""
    number = _decimal(count)
    if number != number.to_integral_value():
        word = few
    else:
        n = abs(int(number))
        word = one if n == 1 else few if 2 <= n <= 4 else many
    if not with_number:
        return word
    shown = str(count).replace(".", ",") if not isinstance(count, int) else str(count)
    return f"{shown} {word}"


# Vocative (5th case) of Czech names. Exceptions first, then rules by ending.
_EXCEPTIONS = {
    "petr": "Petře", "alexandr": "Alexandře", "král": "Králi", "daniel": "Danieli",
    "pavel": "Pavle", "karel": "Karle", "havel": "Havle", "marek": "Marku",
    "kadlec": "Kadlece", "jiří": "Jiří", "lev": "Lve", "bůh": "Bože",
    "tomáš": "Tomáši", "ondřej": "Ondřeji", "matěj": "Matěji",
}  # fmt: skip
_SOFT = ("š", "ž", "č", "ř", "j", "ď", "ť", "ň", "c", "x")
_VELAR = ("k", "h", "g", "ch")
_FEMALE_SURNAME = ("ová", "á")
_SOFTEN = {"d": "ď", "t": "ť", "n": "ň", "D": "Ď", "T": "Ť", "N": "Ň"}


def _keep_case(template: str, result: str) -> str:
    return result[0].upper() + result[1:] if template[:1].isupper() else result


def vocative(name: Any, gender: str | None = None) -> str:
    """The vocative of a Czech first name or surname: Jan → Jane, Novák → Nováku,
    Svoboda → Svobodo, Jana → Jano; adjectival (Novotný) and female surnames (Nováková)
    stay as they are. ``gender`` ("m" / "f") only matters for names ending in -a."""
    text = str(name).strip()
    result = _vocative(text, gender)
    return result.upper() if text.isupper() else result


def _vocative(text: str, gender: str | None) -> str:
    if not text:
        return text
    if " " in text or "-" in text:
        sep = " " if " " in text else "-"
        return sep.join(vocative(part, gender) for part in text.split(sep))
    lower = text.lower()
    if lower in _EXCEPTIONS:
        return _keep_case(text, _EXCEPTIONS[lower])
    if lower.endswith(_FEMALE_SURNAME) or lower.endswith(("ý", "í", "é", "e", "o", "u", "i")):
        return text
    if lower.endswith("a"):
        return text[:-1] + "o"
    if lower.endswith("ěk") and len(lower) > 3:  # Zdeněk -> Zdeňku, Vaněk -> Vaňku
        stem = text[:-2]
        return stem[:-1] + _SOFTEN.get(stem[-1], stem[-1]) + "ku"
    if lower.endswith("ek") and len(lower) > 3:  # Hájek -> Hájku
        return text[:-2] + "ku"
    if lower.endswith("ec") and len(lower) > 3:
        return text[:-2] + "če"
    if lower.endswith(_VELAR):
        return text + "u"
    if lower.endswith(_SOFT):
        return text + "i"
    if lower.endswith("r") and len(lower) > 2 and lower[-2] not in "aeiouyáéíóúůýě":
        return text[:-1] + "ře"
    if lower.endswith("el") and len(lower) > 3 and lower[-3] not in "aeiouyáéíóúůýě":
        return text[:-2] + "le"
    return text + "e"


def salutation(last_name: Any, gender: str | None = None, formal: bool = True) -> str:
    """``Vážený pane Nováku`` / ``Vážená paní Nováková``; female when ``gender == "f"`` or the
    surname ends in -ová / -á. ``formal=False`` gives ``Dobrý den, pane Nováku``."""
    text = str(last_name).strip()
    female = gender == "f" if gender else text.lower().endswith(_FEMALE_SURNAME)
    if female:
        return f"{'Vážená paní' if formal else 'Dobrý den, paní'} {text}"
    return f"{'Vážený pane' if formal else 'Dobrý den, pane'} {vocative(text, 'm')}"


FILTERS: dict[str, Callable[..., str]] = {
    "date_cz": date_cz,
    "money": money,
    "plural": plural,
    "vocative": vocative,
    "salutation": salutation,
}
"""The filters every template gets, by name."""
