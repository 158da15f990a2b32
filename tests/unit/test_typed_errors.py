"""Bad input leaves the library as a typed error of the tree, naming the bad value."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from contos_messaging.adapters.smtp.ratelimit import RateLimiter
from contos_messaging.adapters.sqlite.codec import decode_message, encode_content
from contos_messaging.errors import (
    ConfigurationError,
    IntegrityError,
    InvalidMessage,
    MessagingError,
)
from tests.factories import email

AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("rate", [0, -1.5])
def test_a_rate_limit_that_is_not_positive_is_a_configuration_error_naming_it(rate):
    with pytest.raises(ConfigurationError, match=f"must be positive, got {rate!r}") as info:
        RateLimiter(rate)
    assert isinstance(info.value, ValueError)  # hosts catching ValueError keep working


def test_a_nul_that_slipped_past_the_domain_is_an_invalid_message_naming_the_value():
    message = attrs.evolve(email(AT), subject="Vyúčtování\x00provizí")  # evolve skips checks
    with pytest.raises(InvalidMessage) as info:
        encode_content(message)
    error = info.value
    assert error.field == "content"
    assert message.id in str(error)
    assert repr("Vyúčtování\x00provizí") in str(error)
    assert isinstance(error, ValueError)


def test_content_in_an_unknown_stored_format_is_an_integrity_error_naming_the_format():
    raw_id = bytes(range(16))
    with pytest.raises(IntegrityError) as info:
        decode_message((raw_id, "e"), b"9\x00t\x00subject")
    error = info.value
    assert error.object_id == "message:00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert error.reason == "unknown content format '9'"
    assert isinstance(error, MessagingError)
