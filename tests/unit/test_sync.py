"""The blocking Messenger: same methods as AsyncMessenger, own loop thread, safe to close."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from contos_messaging import AsyncMessenger, LinkedEntity, MessageStatus, Messenger, UsageError
from contos_messaging.testing import make_test_messenger


def _public(cls: type) -> dict[str, inspect.Signature]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name in {"aclose", "close", "async_messenger"}:
            continue
        out[name] = inspect.signature(member) if callable(member) else "property"
    return out


def test_both_facades_expose_the_same_methods_with_the_same_parameters():
    sync_api, async_api = _public(Messenger), _public(AsyncMessenger)
    assert set(sync_api) == set(async_api)
    for name, signature in async_api.items():
        if signature == "property":
            assert sync_api[name] == "property", name
            continue
        if name != "stop_outbox":  # the one plain method: safe from any thread on both
            assert inspect.iscoroutinefunction(getattr(AsyncMessenger, name)), name
        assert list(signature.parameters) == list(sync_api[name].parameters), name
        for param in signature.parameters.values():
            other = sync_api[name].parameters[param.name]
            assert (param.kind, param.default) == (other.kind, other.default), (name, param.name)


def test_the_template_apis_match_too():
    from contos_messaging import AsyncTemplates, Templates

    sync_api, async_api = _public(Templates), _public(AsyncTemplates)
    assert set(sync_api) == set(async_api)
    for name, signature in async_api.items():
        assert inspect.iscoroutinefunction(getattr(AsyncTemplates, name)), name
        assert list(signature.parameters) == list(sync_api[name].parameters), name


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

        loop = messenger._loop
        assert loop is not None
        asyncio.run_coroutine_threadsafe(inside_the_loop(), loop).result(timeout=5)
        assert errors
        assert "own event-loop thread" in str(errors[0])


def test_close_stops_the_thread_and_later_calls_fail(clerk):
    messenger = make_test_messenger()
    messenger.compose_sms(clerk, to="601123456", text="x")
    thread = messenger._thread
    messenger.close()
    messenger.close()
    assert thread is not None
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
        await asyncio.sleep(0.3)  # longer than the facade's wake-up interval
        raise TransportTimeout("no reply within 30 s")

    monkeypatch.setattr(messenger.async_messenger.ports.repository, "get", slow_then_timeout)
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(TransportTimeout, match="no reply"):
        messenger.get("x")
    messenger.close()
