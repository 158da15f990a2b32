"""The blocking Messenger: same methods as AsyncMessenger, own loop thread, safe to close."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from contos_messaging import (
    AsyncMessenger,
    AsyncTemplates,
    LinkedEntity,
    MessageStatus,
    Messenger,
    Templates,
    UsageError,
)
from contos_messaging.testing import make_test_messenger

TWINS = {AsyncMessenger: Messenger, AsyncTemplates: Templates}
_NAMES = {
    "AsyncMessenger": "Messenger",
    "AsyncTemplates": "Templates",
    "Self": "Messenger",
    "AttachmentDownload": "BlockingAttachmentDownload",
}


def _public(cls: type) -> dict[str, object]:
    """Every public attribute of a facade class (and its dunder context-manager methods)."""
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and name not in {"aclose", "close", "async_messenger"}
    }


def _shape(member: object) -> tuple[object, ...]:
    """What a twin must repeat exactly: kind, parameters (name, kind, default, annotation),
    return annotation (with the async class names mapped to their twins) and docstring."""
    if isinstance(member, property):
        assert member.fget is not None
        hints = inspect.signature(member.fget).return_annotation
        return ("property", _NAMES.get(hints, hints), inspect.getdoc(member))
    signature = inspect.signature(member)  # type: ignore[arg-type]
    parameters = tuple(
        (p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()
    )
    result = signature.return_annotation
    return ("method", parameters, _NAMES.get(result, result), inspect.getdoc(member))


def drift(original: type, twin: type) -> list[str]:
    """How ``twin`` differs from ``original``: missing or extra names, or members whose shape
    differs; an async method must be a coroutine function and its twin must not be."""
    ours, theirs = _public(original), _public(twin)
    problems = [f"{name}: missing in {twin.__name__}" for name in sorted(set(ours) - set(theirs))]
    problems += [f"{name}: only in {twin.__name__}" for name in sorted(set(theirs) - set(ours))]
    for name in sorted(set(ours) & set(theirs)):
        if _shape(ours[name]) != _shape(theirs[name]):
            problems.append(f"{name}: {_shape(ours[name])} != {_shape(theirs[name])}")
        if inspect.iscoroutinefunction(theirs[name]):
            problems.append(f"{name}: the twin is a coroutine function")
    return problems


@pytest.mark.parametrize("original", TWINS, ids=lambda c: c.__name__)
def test_each_twin_has_every_method_parameter_annotation_default_and_docstring(original):
    assert drift(original, TWINS[original]) == []
    assert {"compose_email", "search", "send_due", "open", "templates"} <= set(
        _public(AsyncMessenger)
    ) or original is AsyncTemplates


def test_every_async_method_is_a_coroutine_function_except_the_thread_safe_stop():
    plain = [
        name
        for name, member in _public(AsyncMessenger).items()
        if callable(member) and not inspect.iscoroutinefunction(member)
    ]
    assert plain == ["stop_outbox"]


def test_the_parity_check_sees_a_drift():
    class Drifted(Templates):
        def get(self, name: str, *, version: int | None = None) -> object:  # no language
            """Something else."""
            return None

        def extra(self) -> None:
            """Not in the async original."""

    problems = drift(AsyncTemplates, Drifted)
    assert any(p.startswith("get: ") for p in problems)
    assert "extra: only in Drifted" in problems
    del Drifted.extra
    assert [p.split(":")[0] for p in drift(AsyncTemplates, Drifted)] == ["get"]


def test_the_twin_is_small():
    import contos_messaging.sync as sync

    assert len(inspect.getsource(sync).splitlines()) < 150


def test_blocking_calls_work_end_to_end(clerk):
    with make_test_messenger() as messenger:
        message = messenger.compose_email(
            clerk, to="jan@example.com", subject="S", text="T", links=[LinkedEntity.client("C-1")]
        )
        assert messenger.send(clerk, [message.id]).sent == (message.id,)
        assert messenger.get(message.id).status is MessageStatus.SENT
        assert len(messenger.send_log(message.id)) == 1
        assert messenger.history(LinkedEntity.client("C-1")).total == 1


def test_it_works_inside_a_host_that_already_runs_an_event_loop(clerk):
    async def host() -> str:
        with make_test_messenger() as messenger:
            message = messenger.compose_sms(clerk, to="601123456", text="x")
            return messenger.get(message.id).id

    assert asyncio.run(host())


def test_calls_from_many_threads_are_safe(clerk):
    with make_test_messenger() as messenger:
        ids: list[str] = []

        def work() -> None:
            for _ in range(20):
                ids.append(
                    messenger.compose_sms(
                        clerk, to="601123456", text="x", links=[LinkedEntity.client("C-1")]
                    ).id
                )

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert messenger.history(LinkedEntity.client("C-1"), limit=1000).total == 80
        assert len(set(ids)) == 80


def test_a_call_from_its_own_loop_thread_is_a_usage_error_not_a_deadlock(clerk):
    with make_test_messenger() as messenger:
        messenger.compose_sms(clerk, to="601123456", text="x")  # starts the loop thread
        errors: list[BaseException] = []

        async def inside_the_loop() -> None:
            try:
                messenger.get("anything")
            except UsageError as exc:
                errors.append(exc)

        assert messenger._runner is not None
        loop = messenger._runner.loop
        asyncio.run_coroutine_threadsafe(inside_the_loop(), loop).result(timeout=5)
        assert errors
        assert "own event-loop thread" in str(errors[0])


def test_close_stops_the_thread_and_later_calls_fail(clerk):
    messenger = make_test_messenger()
    messenger.compose_sms(clerk, to="601123456", text="x")
    assert messenger._runner is not None
    thread = messenger._runner.thread
    messenger.close()
    messenger.close()
    assert not thread.is_alive()
    assert messenger.ports.sms_transport.closed
    with pytest.raises(UsageError, match="closed"):
        messenger.get("x")


def test_close_without_use_closes_the_adapters():
    messenger = make_test_messenger()
    messenger.close()
    assert messenger.ports.email_transport.closed


@pytest.mark.timeout(10)
def test_a_timeout_raised_by_the_call_itself_comes_back_from_the_main_thread(clerk, monkeypatch):
    from contos_messaging import TransportTimeout

    messenger = make_test_messenger()

    async def slow_then_timeout(message_id: str):
        # A TimeoutError of the call itself: the main thread's wait (which wakes now and then
        # for signal handlers) must give it back, not take it for its own wake-up.
        raise TransportTimeout("no reply within 30 s")

    monkeypatch.setattr(messenger.async_messenger.ports.repository, "get", slow_then_timeout)
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(TransportTimeout, match="no reply"):
        messenger.get("x")
    messenger.close()
