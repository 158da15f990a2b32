"""The documentation: the site builds without a warning, and every code block of docs/ runs.

Each page's ```python blocks run in order in one namespace, in a process of their own (forked
from one that imported the library) whose working directory is an empty temporary directory
(a store opened as ``"messages"`` is made there), with ``CONTOS_MESSAGING_MASTER_KEY`` set to
a fresh key, as an operator would set it. A block with ``await`` at its top level runs as in
``python -m asyncio``: on one event loop that lives as long as the page. Conventions of a
block's first line (docs/index.md, "Reading the examples"):

- ``# needs: fastapi, httpx``: the block runs where those modules are installed, and is only
  compiled where they are not (FastAPI, Starlette and Celery are not in the development
  environment; Django is, so the Django example runs);
- ``# not run: <reason>``: compiled, never run; at most ``MOST_NOT_RUN`` blocks of all docs.

Other code goes in fences of its language (``sh``, ``ini``, ``toml``, ``json``, ``text``,
``dockerfile``): a fence without one, or of a language not listed here, fails the suite.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LANGUAGES = {"python", "sh", "ini", "toml", "json", "text", "dockerfile"}
MOST_NOT_RUN = 2
FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>[^\s`]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$",
    re.MULTILINE | re.DOTALL,
)
NEEDS = re.compile(r"#\s*needs:\s*(?P<modules>[\w., ]+)")
NOT_RUN = re.compile(r"#\s*not run:\s*(?P<reason>\S.*)")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the block's first line of code in the page
    lang: str
    code: str

    @property
    def first_line(self) -> str:
        return self.code.split("\n", 1)[0].strip()

    @property
    def needs(self) -> tuple[str, ...]:
        found = NEEDS.fullmatch(self.first_line)
        return tuple(m.strip() for m in found["modules"].split(",")) if found else ()

    @property
    def not_run(self) -> bool:
        return NOT_RUN.fullmatch(self.first_line) is not None

    @property
    def runs_here(self) -> bool:
        return not self.not_run and all(importlib.util.find_spec(m) for m in self.needs)


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with its code dedented by the fence's indentation."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("body")) + 1
        code = textwrap.dedent(match["body"])
        found.append(Block(page.name, line, match["lang"], code))
    return found


ALL = [block for page in PAGES for block in blocks(page)]
PYTHON = [block for block in ALL if block.lang == "python"]
RUN_PAGES = sorted({block.page for block in PYTHON})

# Imports the library once, then forks one child per page (three at a time): each child runs
# its page's blocks in one namespace in the page's own empty directory, with its own master key
# in the environment, top-level await on one loop, output to the page's files. A child that
# runs longer than PAGE_SECONDS is stopped by SIGALRM.
RUNNER = """
import ast, asyncio, inspect, json, os, signal, sys, traceback, types
import contos_messaging, contos_messaging.testing, contos_messaging.testing.smtp

def run(job):
    os.chdir(job["work"])
    os.environ["CONTOS_MESSAGING_MASTER_KEY"] = job["key"]
    signal.alarm(job["seconds"])
    page = types.ModuleType("docs_page")
    page.__file__ = "docs_page.py"
    sys.modules["docs_page"] = page
    loop = asyncio.new_event_loop()
    for block in job["blocks"]:
        source = "\\n" * (block["line"] - 1) + block["code"]
        code = compile(source, block["page"], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if not block["run"]:
            continue
        result = eval(code, page.__dict__)
        if code.co_flags & inspect.CO_COROUTINE:
            loop.run_until_complete(result)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    print("ran", sum(b["run"] for b in job["blocks"]), "blocks")

def child(job):
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    code = 0
    try:
        run(job)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

jobs = json.load(open(sys.argv[1], encoding="utf-8"))
waiting, running = list(jobs), {}
while waiting or running:
    while waiting and len(running) < 3:
        job = waiting.pop(0)
        pid = os.fork()
        if pid == 0:
            child(job)
        running[pid] = job
    pid, status = os.wait()
    job = running.pop(pid)
    with open(job["rc"], "w") as rc:
        rc.write(str(os.waitstatus_to_exitcode(status)))
"""
PAGE_SECONDS = 90


@dataclass(frozen=True)
class PageRun:
    returncode: int
    stdout: str
    stderr: str


def _run_pages(directory: Path) -> dict[str, PageRun]:
    """Every page that has Python blocks, through RUNNER; a page's result by its name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTOS_")}
    jobs = []
    for page in RUN_PAGES:
        place = directory / page.removesuffix(".md")
        (place / "work").mkdir(parents=True)
        jobs.append({
            "page": page, "work": str(place / "work"), "seconds": PAGE_SECONDS,
            "key": base64.b64encode(os.urandom(32)).decode(),
            "stdout": str(place / "stdout"), "stderr": str(place / "stderr"),
            "rc": str(place / "rc"),
            "blocks": [
                {"page": f"docs/{b.page}", "line": b.line, "code": b.code, "run": b.runs_here}
                for b in PYTHON if b.page == page
            ],
        })  # fmt: skip
    (directory / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(directory / "jobs.json")],
        cwd=directory, env=env, timeout=PAGE_SECONDS * len(jobs), check=True,
    )  # fmt: skip
    results = {}
    for job in jobs:
        rc = Path(job["rc"])
        results[job["page"]] = PageRun(
            int(rc.read_text()) if rc.is_file() else -1,
            Path(job["stdout"]).read_text(encoding="utf-8", errors="replace"),
            Path(job["stderr"]).read_text(encoding="utf-8", errors="replace"),
        )
    return results


def test_the_site_builds_without_warnings(tmp_path):
    """``mkdocs build --strict`` with the repository's mkdocs.yml: exit 0, no WARNING line."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert [line for line in output.splitlines() if "WARNING" in line] == []
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "security" / "index.html").is_file()
    # a fence Markdown did not take (one indented in a list item) shows up as literal backticks
    unrendered = [
        str(page.relative_to(tmp_path))
        for page in tmp_path.rglob("*.html")
        if "```" in page.read_text(encoding="utf-8")
    ]
    assert unrendered == []


def test_every_page_is_in_the_nav():
    """A page left out of the nav would be built but found by nobody."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", config, re.MULTILINE))
    missing = {page.name for page in PAGES} - nav
    assert missing == set(), f"add {sorted(missing)} to the nav of mkdocs.yml"
    assert nav - {page.name for page in PAGES} == set()


def test_every_fence_names_a_known_language():
    """Python is never hidden in an unnamed fence; shell, units and files say what they are."""
    assert ALL, "no code blocks found in docs/"
    assert [(b.page, b.line, b.lang) for b in ALL if b.lang not in LANGUAGES] == []


def test_every_python_block_compiles():
    """Also the blocks that do not run here (a framework that is not installed)."""
    failures = []
    for block in PYTHON:
        source = "\n" * (block.line - 1) + block.code
        try:
            compile(source, block.page, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            failures.append(f"{block.page}:{exc.lineno}: {exc.msg}")
    assert failures == []


def test_few_blocks_are_not_run():
    """``# not run:`` is for what cannot run in a test at all; it stays rare."""
    marked = [(b.page, b.line, b.first_line) for b in PYTHON if b.not_run]
    assert len(marked) <= MOST_NOT_RUN, marked
    compiled_only = [b for b in PYTHON if not b.runs_here]
    assert len(compiled_only) <= MOST_NOT_RUN + 3, [(b.page, b.line) for b in compiled_only]


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory):
    """Every page's run, and the adapter guide's suite beside them."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        suite = pool.submit(_run_adapter_suite, tmp_path_factory.mktemp("adapter-suite"))
        pages = pool.submit(_run_pages, tmp_path_factory.mktemp("pages"))
        yield {**pages.result(), "the adapter guide's suite": suite.result()}


@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_code_of_the_page_runs(page, page_runs):
    """The page's blocks, in order, against the real embedded store (and the local SMTP
    server where a block starts one); a failure names the page and line."""
    result = page_runs[page]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "ran" in result.stdout


def _run_adapter_suite(directory: Path) -> subprocess.CompletedProcess[str]:
    (block,) = [b for b in PYTHON if b.page == "adapters.md" and "Contract)" in b.code]
    (directory / "test_logged_transport.py").write_text(block.code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "test_logged_transport.py"],
        cwd=directory, capture_output=True, text=True, timeout=100,
    )  # fmt: skip


def test_the_adapter_guide_passes_the_shipped_contract_suite(page_runs):
    """docs/adapters.md's example, saved as the host's test module, passes the e-mail
    transport suite under pytest (in pytest-asyncio's strict mode: no project config)."""
    result = page_runs["the adapter guide's suite"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b8 passed\b", result.stdout), result.stdout[-2000:]
