"""The machinery of the blocking twins: the event-loop thread a :class:`~contos_messaging.Messenger`
runs its async original on, and :func:`blocking`, which makes a twin's method of an async one."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from contos_messaging.errors import UsageError
from contos_messaging.services.outbox import stop_on_termination

__all__ = ["LoopOwner", "LoopThread", "Twin", "blocking", "opener", "signals_while_watching"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
_Around = Callable[["Twin", Mapping[str, Any]], contextlib.AbstractContextManager[None]]


class Twin:
    """What a blocking twin holds: the async original and the function that runs a coroutine
    on the loop thread."""

    _async: Any
    _run: Callable[[Coroutine[Any, Any, Any]], Any]


def blocking(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]], *, around: _Around | None = None
) -> Callable[Concatenate[Twin, P], R]:
    """The blocking twin of an async method (``around(twin, kwargs)`` wraps the wait)."""

    @functools.wraps(method)
    def call(self: Twin, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with around(self, kwargs) if around else contextlib.nullcontext():
            result: R = self._run(method(self._async, *args, **kwargs))
        return result

    return call


def signals_while_watching(twin: Twin, kwargs: Mapping[str, Any]) -> Any:
    """``send_due(watch=True)``: SIGTERM / SIGINT in the caller's (main) thread stop the outbox
    gracefully, as they do for the async messenger run in the main thread."""
    if kwargs.get("watch"):
        return stop_on_termination(twin._async.stop_outbox)
    return contextlib.nullcontext()


class LoopThread:
    """An event loop running forever on a daemon thread; :meth:`run` runs a coroutine there and
    waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="contos-messaging-loop", daemon=True)
        self.thread.start()
        ready.wait()

    def on_thread(self) -> bool:
        """Whether the caller runs on the loop's thread."""
        return threading.get_ident() == self.thread.ident

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (from any other thread)."""
        if self.on_thread():
            coro.close()
            raise UsageError(
                "Messenger was called from its own event-loop thread (inside a callback); "
                "use the AsyncMessenger there"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        if threading.current_thread() is not threading.main_thread():
            return future.result()
        # The kernel may hand a signal (SIGTERM, SIGINT) to any thread; Python runs its handler
        # only when the main thread runs. Wake up now and then, so that handlers run promptly.
        while True:
            try:
                return future.result(timeout=0.2)
            except concurrent.futures.TimeoutError:
                if future.done():  # the call itself raised a TimeoutError: give it back
                    return future.result()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


A = TypeVar("A")


def opener(
    open_: Callable[P, Coroutine[Any, Any, A]], twin: Callable[[A, LoopThread], R]
) -> Callable[P, R]:
    """The blocking twin of an async ``open``: it starts the loop thread the twin will own,
    opens the original there and wraps it with ``twin(original, thread)``."""

    @functools.wraps(open_)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        runner = LoopThread()
        try:
            original = runner.run(open_(*args, **kwargs))
        except BaseException:
            runner.stop()
            raise
        return twin(original, runner)

    returns = inspect.signature(open_).return_annotation
    call.__signature__ = inspect.signature(open_).replace(  # type: ignore[attr-defined]
        return_annotation=returns.removeprefix("Async") if isinstance(returns, str) else returns
    )
    return call


class LoopOwner(Twin):
    """A twin that owns its loop thread (started on first use) and closes the original on
    :meth:`close`."""

    def __init__(self, original: Any, runner: LoopThread | None) -> None:
        self._async = original
        self._runner = runner
        self._lock = threading.Lock()
        self._closed = False
        self._run = self._on_loop

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._closed:
                coro.close()
                raise UsageError("this messenger is closed")
            if self._runner is None:
                self._runner = LoopThread()
            runner = self._runner
        return runner.run(coro)

    def close(self) -> None:
        """Close the messenger and stop its loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            if self._runner is not None and self._runner.on_thread():
                raise UsageError("Messenger.close() cannot be called from its own loop thread")
            self._closed = True
            runner, self._runner = self._runner, None
        runner = runner or LoopThread()  # never used: close the async side on a short-lived loop
        try:
            runner.run(self._async.aclose())
        finally:
            runner.stop()
