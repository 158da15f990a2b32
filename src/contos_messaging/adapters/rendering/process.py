"""ProcessRenderer: renders in worker processes with a hard memory limit and a kill on timeout.

The sandbox's own budgets stop almost every runaway template with a clear error. The worker
process is the backstop: it runs under an address-space limit, and when a batch overruns its
deadline or the worker dies, the worker is killed and replaced, the batch is retried one context
at a time to find which ones fail, and the host process carries on. Workers start on first use
(as ``python -m contos_messaging.adapters.rendering``: safe from a threaded host, and the
host's main script is never re-imported) and render batches in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from contos_messaging.adapters.rendering.inprocess import (
    InProcessRenderer,
    RenderLimits,
    checked_policy,
    result_of,
)
from contos_messaging.domain.template import Template
from contos_messaging.errors import TemplateError
from contos_messaging.ports.rendering import RenderedParts

__all__ = ["ProcessRenderer"]

log = logging.getLogger("contos_messaging.rendering")
BATCH = 128
_Reply = list[tuple[str, Any]]
_LENGTH = struct.Struct(">I")
# What pickling variables for the worker raises when they are not plain data, nest too deeply
# for the pickler or do not fit in memory: raised in this process, before anything is sent.
_UNSENDABLE = (pickle.PicklingError, TypeError, AttributeError, RecursionError, MemoryError)


class _WorkerLost(Exception):
    """The worker overran its deadline or died; it has been killed."""


class _Worker:
    """One worker process, spoken to over its stdin/stdout from the event loop itself (no
    helper threads, so no contention for the GIL)."""

    def __init__(self, memory_mb: int) -> None:
        self._memory_mb = memory_mb
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def _start(self) -> asyncio.subprocess.Process:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "contos_messaging.adapters.rendering",
            str(self._memory_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return self._process

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def request(self, message: tuple[Any, ...], timeout: float) -> _Reply:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        async with self._lock:
            process = self._process
            if process is None or process.returncode is not None:
                process = await self._start()
            assert process.stdin is not None
            assert process.stdout is not None
            try:
                process.stdin.write(_LENGTH.pack(len(data)) + data)
                await process.stdin.drain()
                async with asyncio.timeout(timeout):
                    (size,) = _LENGTH.unpack(await process.stdout.readexactly(_LENGTH.size))
                    reply: _Reply = pickle.loads(await process.stdout.readexactly(size))
            except TimeoutError:
                await self._kill()
                raise _WorkerLost("the render overran its time limit and was stopped") from None
            except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError) as exc:
                await self._kill()
                raise _WorkerLost("the render worker died (memory limit?)") from exc
            if any(status == "error" and "out of memory" in value[1] for status, value in reply):
                await self._kill()  # its heap stays fragmented near the limit: start a fresh one
            return reply

    async def close(self) -> None:
        async with self._lock:
            process = self._process
            if process is not None and process.returncode is None and process.stdin is not None:
                data = pickle.dumps(None)
                try:
                    process.stdin.write(_LENGTH.pack(len(data)) + data)
                    await process.stdin.drain()
                    async with asyncio.timeout(2):
                        await process.wait()
                except (TimeoutError, ConnectionError):
                    pass
            await self._kill()


class ProcessRenderer:
    """Renders templates in ``workers`` bounded processes (default: one per core, at most 2).
    ``html_policy`` ``"local"`` or ``"remote"``: HTML output is sanitised in the workers, beside
    the rendering (see ``RenderedParts``)."""

    def __init__(
        self,
        limits: RenderLimits | None = None,
        *,
        workers: int | None = None,
        html_policy: str = "",
    ) -> None:
        self.limits = limits or RenderLimits()
        self.html_policy = checked_policy(html_policy)
        count = workers or max(1, min(2, os.cpu_count() or 1))
        self._workers = [_Worker(self.limits.memory_mb) for _ in range(count)]
        self._checker = InProcessRenderer(self.limits)  # parsing only; never renders here
        self._next = 0

    def check(self, template: Template, /) -> frozenset[str]:
        """Parse every part (in this process: parsing runs no template code)."""
        return self._checker.check(template)

    async def render(
        self, template: Template, contexts: Sequence[Mapping[str, Any]], /
    ) -> list[RenderedParts | TemplateError]:
        """Render once per context, in batches spread over the workers."""
        parts = {
            "subject": template.subject or None,
            "html": template.html,
            "text": template.text,
        }
        key = (template.name, template.language, template.version, hash(template))
        batches = [list(contexts[i : i + BATCH]) for i in range(0, len(contexts), BATCH)]
        results = await asyncio.gather(
            *(self._render_batch(template, key, parts, batch) for batch in batches)
        )
        return [item for batch in results for item in batch]

    def _message(
        self, key: Any, parts: dict[str, str | None], contexts: list[dict[str, Any]]
    ) -> tuple[Any, ...]:
        return (
            key, parts, contexts, self.limits.seconds, self.limits.max_chars, self.html_policy
        )  # fmt: skip

    async def _render_batch(
        self,
        template: Template,
        key: Any,
        parts: dict[str, str | None],
        contexts: list[Mapping[str, Any]],
    ) -> list[RenderedParts | TemplateError]:
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        payload = [dict(c) for c in contexts]
        timeout = self.limits.seconds + 5.0 + 0.01 * len(payload)
        try:
            reply = await worker.request(self._message(key, parts, payload), timeout)
        except _UNSENDABLE as exc:
            if len(payload) == 1:
                return [self._unsendable(template, exc)]
            return await self._one_by_one(template, key, parts, payload)  # find which ones
        except _WorkerLost as lost:
            if len(payload) == 1:
                return [self._lost(template, lost)]
            log.warning("render batch of %s lost (%s); retrying one by one", template.name, lost)
            return await self._one_by_one(template, key, parts, payload)
        return [self._decode(template, item) for item in reply]

    async def _one_by_one(
        self,
        template: Template,
        key: Any,
        parts: dict[str, str | None],
        payload: list[dict[str, Any]],
    ) -> list[RenderedParts | TemplateError]:
        """Find the contexts that kill the worker (or cannot be sent to it); after two lost
        workers in a row, the template itself is at fault and the rest fail without being
        tried."""
        out: list[RenderedParts | TemplateError] = []
        lost_in_a_row = 0
        for context in payload:
            if lost_in_a_row >= 2:
                out.append(self._lost(template, _WorkerLost("skipped: the template keeps failing")))
                continue
            try:
                (item,) = await self._workers[0].request(
                    self._message(key, parts, [context]), self.limits.seconds + 5.0
                )
            except _UNSENDABLE as exc:
                out.append(self._unsendable(template, exc))
                continue
            except _WorkerLost as lost:
                lost_in_a_row += 1
                out.append(self._lost(template, lost))
                continue
            lost_in_a_row = 0
            out.append(self._decode(template, item))
        return out

    @staticmethod
    def _unsendable(template: Template, exc: BaseException) -> TemplateError:
        if isinstance(exc, RecursionError):
            reason = "limit exceeded: the variables nest too deeply to pass to the render worker"
        elif isinstance(exc, MemoryError):
            reason = "limit exceeded: out of memory passing the variables to the render worker"
        else:
            reason = f"variables must be plain data (dicts, lists, text, numbers, dates): {exc}"
        return TemplateError(reason, template=template.name, version=template.version or None)

    @staticmethod
    def _lost(template: Template, lost: _WorkerLost) -> TemplateError:
        return TemplateError(
            f"limit exceeded: {lost}", template=template.name, version=template.version or None
        )

    @staticmethod
    def _decode(template: Template, item: tuple[str, Any]) -> RenderedParts | TemplateError:
        status, value = item
        if status == "ok":
            return result_of(value)
        part, reason, line, variable = value
        return TemplateError(
            reason,
            template=template.name,
            version=template.version or None,
            part=part,
            line=line,
            variable=variable,
        )

    async def aclose(self) -> None:
        """Stop the workers."""
        for worker in self._workers:
            await worker.close()
