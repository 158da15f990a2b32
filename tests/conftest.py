"""Shared fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import settings

from contos_messaging import Actor, Permission
from contos_messaging.adapters.clock import ManualClock

# The suite runs each property with the default number of examples; a longer hunt:
# ``pytest --hypothesis-profile=thorough`` (ten times as many, no deadline).
settings.register_profile("thorough", max_examples=1_000, deadline=None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))


@pytest.fixture
def clerk() -> Actor:
    return Actor(
        "jana",
        permissions={Permission.COMPOSE, Permission.SEND, Permission.EDIT, Permission.CANCEL},
    )
