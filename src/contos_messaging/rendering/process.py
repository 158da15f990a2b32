"""ProcessRenderer: renders in worker processes with a hard memory limit and a kill on timeout.

The sandbox's own budgets stop almost every runaway template with a clear error. The worker
process is the backstop: it runs under an address-space limit, and when a batch overruns its
deadline or the worker dies, the worker is killed and replaced, the batch is retried one context
at a time to find which ones fail, and the host process carries on. Workers start on first use
(as ``python -m contos_messaging.rendering``: safe from a threaded host, and the
host's main script is never re-imported) and render batches in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contos_messaging.domain.template import Template
from contos_messaging.errors import TemplateError
from contos_messaging.ports.rendering import RenderedParts
from contos_messaging.rendering.inprocess import InProcessRenderer, RenderLimits, result_of
from contos_messaging.rendering.worker import read_frame, write_frame

__all__ = ["ProcessRenderer"]

log = logging.getLogger("contos_messaging.rendering")
BATCH = 128
_Reply = list[tuple[str, Any]]
_DIED = object()


class _WorkerLost(Exception):
    """The worker overran its deadline or died; it has been killed."""


class _Worker:
    """One worker process, fed over its stdin and read from its stdout by a reader thread (so
    waiting for a reply can time out on every platform); used by one thread at a time."""

    def __init__(self, memory_mb: int) -> None:
        self._memory_mb = memory_mb
        self._process: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "contos_messaging.rendering", str(self._memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        replies: queue.Queue[Any] = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            while True:
                try:
                    replies.put(read_frame(process.stdout))
                except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                    replies.put(_DIED)
                    return

        threading.Thread(target=read, name="contos-render-reader", daemon=True).start()
        self._process, self._replies = process, replies
        return process

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
        self._process = None

    def request(self, message: tuple[Any, ...], timeout: float) -> _Reply:
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                self._kill()
                process = self._start()
            try:
                assert process.stdin is not None
                write_frame(process.stdin, message)
                reply = self._replies.get(timeout=timeout)
            except queue.Empty:
                self._kill()
                raise _WorkerLost("the render overran its time limit and was stopped") from None
            except OSError as exc:
                self._kill()
                raise _WorkerLost("the render worker died (memory limit?)") from exc
            if reply is _DIED:
                self._kill()
                raise _WorkerLost("the render worker died (memory limit?)")
            result: _Reply = reply
            return result

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                try:
                    assert self._process.stdin is not None
                    write_frame(self._process.stdin, None)
                    self._process.wait(2)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill()


class ProcessRenderer:
    """Renders templates in ``workers`` bounded processes (default: one per core, at most 2)."""

    def __init__(self, limits: RenderLimits | None = None, *, workers: int | None = None) -> None:
        self.limits = limits or RenderLimits()
        count = workers or max(1, min(2, os.cpu_count() or 1))
        self._workers = [_Worker(self.limits.memory_mb) for _ in range(count)]
        self._threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="render")
        self._checker = InProcessRenderer(self.limits)  # parsing only; never renders here
        self._next = 0

    def check(self, template: Template, /) -> frozenset[str]:
        """Parse every part (in this process: parsing runs no template code)."""
        return self._checker.check(template)

    async def render(
        self, template: Template, contexts: Sequence[Mapping[str, Any]], /
    ) -> list[RenderedParts | TemplateError]:
        """Render once per context, in batches spread over the workers."""
        parts = {"subject": template.subject or None, "html": template.html, "text": template.text}
        key = (template.name, template.language, template.version, hash(template))
        batches = [list(contexts[i : i + BATCH]) for i in range(0, len(contexts), BATCH)]
        results = await asyncio.gather(
            *(self._render_batch(template, key, parts, batch) for batch in batches)
        )
        return [item for batch in results for item in batch]

    async def _render_batch(
        self,
        template: Template,
        key: Any,
        parts: dict[str, str | None],
        contexts: list[Mapping[str, Any]],
    ) -> list[RenderedParts | TemplateError]:
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        try:
            payload = [dict(c) for c in contexts]
            pickle.dumps(payload)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            error = TemplateError(
                f"variables must be plain data (dicts, lists, text, numbers, dates): {exc}",
                template=template.name,
                version=template.version or None,
            )
            return [error for _ in contexts]
        loop = asyncio.get_running_loop()
        limits = self.limits
        timeout = limits.seconds + 5.0 + 0.01 * len(payload)
        message = (key, parts, payload, limits.seconds, limits.max_chars)
        try:
            reply = await loop.run_in_executor(self._threads, worker.request, message, timeout)
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
        """Find the contexts that kill the worker; after two in a row, the template itself is
        at fault and the rest fail without being tried."""
        loop = asyncio.get_running_loop()
        out: list[RenderedParts | TemplateError] = []
        lost_in_a_row = 0
        for context in payload:
            if lost_in_a_row >= 2:
                out.append(self._lost(template, _WorkerLost("skipped: the template keeps failing")))
                continue
            message = (key, parts, [context], self.limits.seconds, self.limits.max_chars)
            try:
                (item,) = await loop.run_in_executor(
                    self._threads, self._workers[0].request, message, self.limits.seconds + 5.0
                )
            except _WorkerLost as lost:
                lost_in_a_row += 1
                out.append(self._lost(template, lost))
                continue
            lost_in_a_row = 0
            out.append(self._decode(template, item))
        return out

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
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            await loop.run_in_executor(self._threads, worker.close)
        self._threads.shutdown(wait=True)
