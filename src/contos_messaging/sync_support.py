"""Parts of the blocking facade: the event-loop thread a :class:`~contos_messaging.Messenger`
runs its async twin on, and the blocking template store."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel
from contos_messaging.domain.template import Template
from contos_messaging.errors import UsageError
from contos_messaging.ports import RenderedParts
from contos_messaging.services.templating import AsyncTemplates

__all__ = ["LoopThread", "Templates"]

T = TypeVar("T")


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


class Templates:
    """Blocking :class:`~contos_messaging.services.templating.AsyncTemplates`
    (``messenger.templates``)."""

    def __init__(
        self, templates: AsyncTemplates, run: Callable[[Coroutine[Any, Any, Any]], Any]
    ) -> None:
        self._async = templates
        self._run = run

    def save(
        self,
        actor: Actor,
        name: str,
        *,
        channel: Channel = Channel.EMAIL,
        subject: str = "",
        html: str | None = None,
        text: str | None = None,
        language: str | None = None,
    ) -> Template:
        """Blocking :meth:`AsyncTemplates.save`."""
        result: Template = self._run(
            self._async.save(
                actor,
                name,
                channel=channel,
                subject=subject,
                html=html,
                text=text,
                language=language,
            )
        )
        return result

    def get(
        self, name: str, *, version: int | None = None, language: str | None = None
    ) -> Template:
        """Blocking :meth:`AsyncTemplates.get`."""
        result: Template = self._run(self._async.get(name, version=version, language=language))
        return result

    def list(self) -> list[Template]:
        """Blocking :meth:`AsyncTemplates.list`."""
        result: list[Template] = self._run(self._async.list())
        return result

    def retire(self, actor: Actor, name: str) -> int:
        """Blocking :meth:`AsyncTemplates.retire`."""
        result: int = self._run(self._async.retire(actor, name))
        return result

    def variables(self, name: str, *, language: str | None = None) -> frozenset[str]:
        """Blocking :meth:`AsyncTemplates.variables`."""
        result: frozenset[str] = self._run(self._async.variables(name, language=language))
        return result

    def preview(
        self,
        name: str,
        variables: Mapping[str, Any] | None = None,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        language: str | None = None,
        version: int | None = None,
    ) -> RenderedParts:
        """Blocking :meth:`AsyncTemplates.preview`."""
        result: RenderedParts = self._run(
            self._async.preview(name, variables, links=links, language=language, version=version)
        )
        return result
