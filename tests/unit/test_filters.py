"""Czech filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contos_messaging.adapters.rendering.filters import date_cz, money, plural, salutation, vocative

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 11, 28), "28. 11. 2026"),
        (dt.datetime(2026, 1, 5, 8, 0), "5. 1. 2026"),
        ("2026-11-28", "28. 11. 2026"),
    ],
)
def test_dates(value, expected):
    assert date_cz(value) == expected


def test_long_dates_use_the_genitive_month():
    assert date_cz(dt.date(2026, 11, 28), long=True) == "28. listopadu 2026"
    assert date_cz(dt.date(2026, 7, 1), long=True) == "1. července 2026"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.5, f"1{NBSP}234,50{NBSP}Kč"),
        (Decimal("1234567.891"), f"1{NBSP}234{NBSP}567,89{NBSP}Kč"),
        (0, f"0,00{NBSP}Kč"),
        (-15.2, f"-15,20{NBSP}Kč"),
        ("999,5", f"999,50{NBSP}Kč"),
    ],
)
def test_money(value, expected):
    assert money(value) == expected


def test_money_other_currency_and_bad_input():
    assert money(10, "EUR") == f"10,00{NBSP}EUR"
    with pytest.raises(ValueError, match="not a number"):
        money("deset")


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 zpráv"),
        (1, "1 zpráva"),
        (2, "2 zprávy"),
        (4, "4 zprávy"),
        (5, "5 zpráv"),
        (22, "22 zpráv"),
        (1.5, "1,5 zprávy"),
    ],
)
def test_plural(count, expected):
    assert plural(count, "zpráva", "zprávy", "zpráv") == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jan", "Jane"),
        ("Petr", "Petře"),
        ("Pavel", "Pavle"),
        ("Tomáš", "Tomáši"),
        ("Jiří", "Jiří"),
        ("Marek", "Marku"),
        ("Zdeněk", "Zdeňku"),
        ("Vojtěch", "Vojtěchu"),
        ("Novák", "Nováku"),
        ("Svoboda", "Svobodo"),
        ("Novotný", "Novotný"),
        ("Němec", "Němče"),
        ("Hájek", "Hájku"),
        ("Kolář", "Koláři"),
        ("Pospíšil", "Pospíšile"),
        ("Král", "Králi"),
        ("Jana", "Jano"),
        ("Marie", "Marie"),
        ("Nováková", "Nováková"),
        ("NOVÁK", "NOVÁKU"),
    ],
)
def test_vocative(name, expected):
    assert vocative(name) == expected


def test_salutations():
    assert salutation("Novák") == "Vážený pane Nováku"
    assert salutation("Nováková") == "Vážená paní Nováková"
    assert salutation("Svoboda") == "Vážený pane Svobodo"
    assert salutation("Svoboda", "f") == "Vážená paní Svoboda"
    assert salutation("Dvořák", formal=False) == "Dobrý den, pane Dvořáku"
