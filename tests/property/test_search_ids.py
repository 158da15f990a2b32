"""Message ids travel through the search index as two 64-bit numbers and come back as text."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contos_messaging.adapters.tantivy.schema import uuid_number as _uuid_number
from contos_messaging.adapters.tantivy.schema import uuid_text as _uuid_text


@given(st.uuids())
def test_the_two_halves_of_an_id_give_back_its_canonical_text(value: uuid.UUID) -> None:
    number = _uuid_number(str(value))
    assert number == value.int
    assert _uuid_text(number >> 64, number & 0xFFFFFFFFFFFFFFFF) == str(value)


@pytest.mark.parametrize(
    "text",
    [
        "m001",
        "0194F297-C007-2C79-F51F-74028AC434D0",  # upper case would come back lower case
        "{0194f297-c007-2c79-f51f-74028ac434d0}",
        "0194f297c0072c79f51f74028ac434d0",
        "0194f297-c007-2c79-f51f-74028ac434d_",
        "0194f297-c007-2c79-f51f-74028ac434٣0",
    ],
)
def test_any_other_id_is_not_turned_into_a_number(text: str) -> None:
    assert _uuid_number(text) == 0
