"""Every public method checks its arguments' types first: InvalidArgument (an InvalidInput and
a TypeError) names the method and the parameter, and nothing runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contos_messaging import (
    AsyncMessenger,
    InvalidArgument,
    InvalidInput,
    LinkedEntity,
    MessageQuery,
)
from contos_messaging.testing import make_async_test_messenger, make_test_messenger

C1 = LinkedEntity.client("C-1")


@pytest.fixture
async def messenger(clock):
    async with make_async_test_messenger(clock=clock) as m:
        yield m


@pytest.mark.parametrize(
    ("call", "function", "parameter"),
    [
        (lambda m, a: m.compose_email(a, to=12345, subject="S", text="T"), "compose_email", "to"),
        (
            lambda m, a: m.compose_email(a, to=["a@example.com"], subject=b"S", text="T"),
            "compose_email",
            "subject",
        ),
        (
            lambda m, a: m.compose_email("jana", to="a@example.com", subject="S", text="T"),
            "compose_email",
            "actor",
        ),
        (
            lambda m, a: m.compose_sms(a, to="+420601123456", text="T", links=7),
            "compose_sms",
            "links",
        ),
        (lambda m, a: m.get(["m-1"]), "get", "message_id"),
        (lambda m, a: m.send(a, "m-1", lease=300), "send", "lease"),
        (lambda m, a: m.send_due(progress=3.0), "send_due", "progress"),
        (lambda m, a: m.history(C1, {"limit": 5}), "history", "query"),
        (lambda m, a: m.gc(grace="1h"), "gc", "grace"),
        (lambda m, a: m.templates.save(a, "t", text="x", language=5), "save", "language"),
    ],
)
async def test_a_wrong_type_is_refused_naming_the_method_and_the_parameter(
    messenger, clerk, call, function, parameter
):
    with pytest.raises(InvalidArgument) as info:
        await call(messenger, clerk)
    error = info.value
    assert isinstance(error, InvalidInput)
    assert isinstance(error, TypeError)
    assert error.function.endswith(f".{function}")
    assert error.parameter == parameter
    assert f"{parameter} takes" in str(error)
    page = await messenger.ports.repository.list_messages(MessageQuery())
    assert page.total == 0


async def test_a_missing_or_unexpected_argument_is_refused_too(messenger, clerk):
    with pytest.raises(InvalidArgument, match="missing a required argument: 'subject'"):
        await messenger.compose_email(clerk, to="a@example.com", text="T")  # type: ignore[call-arg]
    with pytest.raises(InvalidArgument, match="unexpected keyword argument 'sbject'"):
        await messenger.compose_email(clerk, subject="S", text="T", sbject="S")  # type: ignore[call-arg]


async def test_values_of_the_annotated_types_pass(messenger, clerk):
    # An int where a float is annotated (the numeric tower) and a tuple for a Sequence.
    report = await messenger.send_due(poll=1, lease=timedelta(minutes=1))
    assert report.attempts == ()
    message = await messenger.compose_email(
        clerk, to=("a@example.com", "b@example.com"), subject="S", text="T"
    )
    assert len(message.recipients) == 2


def test_the_blocking_messenger_refuses_the_same_way(clock, clerk):
    with make_test_messenger(clock=clock) as messenger:
        with pytest.raises(InvalidArgument) as info:
            messenger.compose_email(clerk, to=12345, subject="S", text="T")  # type: ignore[arg-type]
        assert info.value.parameter == "to"
        with pytest.raises(InvalidArgument):
            messenger.templates.get(["t"])  # type: ignore[arg-type]


async def test_keyword_packs_are_checked_key_by_key(messenger, tmp_path):
    with pytest.raises(InvalidArgument, match="statsu is not a parameter") as unknown:
        await messenger.history(C1, statsu="draft")
    assert unknown.value.parameter == "statsu"
    with pytest.raises(InvalidArgument, match="offset takes int, got str") as wrong:
        await messenger.history(C1, offset="5")
    assert wrong.value.parameter == "offset"
    assert (await messenger.history(C1, status="draft")).total == 0
    with pytest.raises(InvalidArgument, match="emial_transport is not a parameter"):
        await AsyncMessenger.open(tmp_path / "s", emial_transport=None)
    with pytest.raises(InvalidArgument, match="settings takes MessengerSettings"):
        await AsyncMessenger.open(tmp_path / "s", settings="smtp")
    assert not (tmp_path / "s").exists()  # refused before anything was created


async def test_a_lone_surrogate_in_a_query_keyword_is_refused(messenger):
    with pytest.raises(InvalidArgument, match="lone surrogate") as info:
        await messenger.search("objednavka", template="a\udfffb")
    assert info.value.parameter == "template"
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        await messenger.history(C1, created_by="\ud800")
