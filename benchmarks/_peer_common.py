"""What both sides of benchmarks/peers.py share: the job (records, template, PDF, queries),
the memory sampler and the child's JSON line.

The template is the one of ``bulk_generate.py`` (Czech, HTML, a table of lines, the library's
Czech filters), with the period taken from a list of months so that a word of the body
(``září``) matches a known share of the messages. ``HTML_DJANGO`` is the same text in Django's
template language: the only construct that differs is a filter with three arguments
(``plural("a", "b", "c")`` in Jinja, ``plural:"a,b,c"`` in Django); both sides run the same
filter functions (``contos_messaging.adapters.rendering.filters``; registered for Django in
``_peer_django.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import bulk_generate

SENDER = "ContOS <info@contos.example.com>"
# (bulk_generate.py sits beside this file: both benchmarks render the same Czech statement)
SUBJECT, HTML, NAMES = bulk_generate.SUBJECT, bulk_generate.HTML, bulk_generate.NAMES

_JINJA_PLURAL = '|plural("smlouvu", "smlouvy", "smluv")'
_DJANGO_PLURAL = '|plural:"smlouvu,smlouvy,smluv"'
assert HTML.count(_JINJA_PLURAL) == 1
HTML_DJANGO = HTML.replace(_JINJA_PLURAL, _DJANGO_PLURAL)
COMPANY = {"name": "ContOS"}
# The statement's period; each word matches 1 in 8 of the messages, in the body (and subject).
MONTHS = ["leden", "únor", "březen", "duben", "květen", "červen", "září", "říjen"]
PDF_BYTES = 100 * 1024
HISTORY_PAGE = 50  # AsyncMessenger.history's default limit: the peer reads as many rows
SEARCH_PAGE = 20  # AsyncMessenger.search's default limit


def clients_for(messages: int) -> int:
    """One client per ten templated e-mails (each client has several to find)."""
    return max(2, messages // 10)


def client_id(n: int) -> str:
    return f"C-{n}"


def address(n: int) -> tuple[str, str]:
    """The client's display name and address."""
    return f"{NAMES[n % len(NAMES)]} Klient {n}", f"klient{n}@example.com"


def client_record(n: int) -> dict[str, object]:
    return {
        "last_name": NAMES[n % len(NAMES)],
        "contract_date": dt.date(2020, 1, 1 + n % 28),
        "account": f"{100000 + n}/0800",
    }


def statement_record(i: int) -> dict[str, object]:
    """The variables of message ``i`` (the templated ones first, then those with a PDF)."""
    return {
        "number": f"V-2026-{i:06d}",
        "period": f"{MONTHS[i % len(MONTHS)]} 2026",
        "contracts": i % 9 + 1,
        "turnover": 15000 + i * 13.5,
        "total": 1500 + i * 1.35,
        "due": dt.date(2026, 12, 15),
        "lines": [{"name": f"Smlouva S-{i}-{k}", "amount": 100 * k + i} for k in range(3)],
    }


def fake_pdf() -> bytes:
    """One 100 KB "PDF", made once and attached to every message of step (b): random-like,
    as the compressed streams of a real PDF are."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    return head + os.urandom(PDF_BYTES - len(head))


def query_clients(clients: int, queries: int) -> list[int]:
    """The clients looked up in step (d), spread over all of them."""
    return [(k * 7919) % clients for k in range(queries)]


def query_words(queries: int) -> list[str]:
    return [MONTHS[k % len(MONTHS)] for k in range(queries)]


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0  # (the process ended meanwhile)


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        for child in children:
            out += [child, *_descendants(child)]
    return out


_PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Samples the resident memory of this process plus all its descendants (ours renders in
    worker processes) every ``interval`` seconds; ``peak()`` is the highest sum since the last
    ``reset()``. A sum of RSS counts pages shared between processes more than once."""

    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._peak = 0
        self._thread: threading.Thread | None = None

    def sample(self) -> int:
        me = os.getpid()
        total = sum(_rss_bytes(p) for p in [me, *_descendants(me)])
        self._peak = max(self._peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def reset(self) -> None:
        self._peak = 0
        self.sample()

    def peak_mb(self) -> float:
        self.sample()
        return self._peak / 2**20

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Steps:
    """Times the steps of one side and the memory during each: ``with steps.step("a"): ...``
    records seconds, the tree's peak RSS (MB), the CPU seconds of this process (not of its
    children) and those the SMTP sink (process ``sink_pid``) used meanwhile (near the step's
    seconds: the sink was the bottleneck) under that name."""

    def __init__(self, memory: TreeMemory, sink_pid: int) -> None:
        self.memory = memory
        self.sink_pid = sink_pid
        self.figures: dict[str, dict[str, Any]] = {}

    def step(self, name: str) -> _Step:
        return _Step(self, name)


class _Step:
    def __init__(self, steps: Steps, name: str) -> None:
        self._steps, self._name = steps, name
        self.figures: dict[str, Any] = {}

    def __enter__(self) -> Self:
        self._steps.memory.reset()
        self._sink_cpu = cpu_seconds(self._steps.sink_pid)
        self._cpu = cpu_seconds(os.getpid())
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        seconds = time.perf_counter() - self._start
        if exc_type is None:
            self._steps.figures[self._name] = {
                "seconds": seconds,
                "peak_rss_mb": self._steps.memory.peak_mb(),
                "cpu_s": cpu_seconds(os.getpid()) - self._cpu,
                "sink_cpu_s": cpu_seconds(self._steps.sink_pid) - self._sink_cpu,
                **self.figures,
            }


def own_peaks() -> dict[str, float]:
    """This process's own peak: ``VmHWM`` (this process alone) and ``ru_maxrss``."""
    hwm = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"vm_hwm_mb": hwm or maxrss, "ru_maxrss_mb": maxrss, "children_maxrss_mb": children}


def median_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    mid = len(ordered) // 2
    middle = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return middle * 1000
