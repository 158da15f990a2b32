"""benchmarks/peers.py at its smallest scale (``--smoke``: 20 + 4 e-mails): both sides run to
the end against the local SMTP sink over STARTTLS + AUTH, report every figure, and deliver
what they created. Needs django and django-post_office (the ``bench`` extra); without them
this fails, it does not skip. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["a_create_templated", "b_create_with_pdf", "c_send_all", "d_client_emails",
         "e_search_word"]  # fmt: skip
QUERY_STEPS = {"d_client_emails", "e_search_word"}


def _smoke_run() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "benchmarks/peers.py", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def test_peers_smoke_reports_both_sides_and_each_delivers_what_it_created():
    figures = _smoke_run()
    assert figures["benchmark"] == "peers"
    assert figures["scale"] == "smoke"
    total = figures["total"]
    assert total == figures["messages"] + figures["attachments"] == 24
    versions = figures["versions"]
    assert all(versions[k] for k in ("python", "django", "django_post_office", "contos_messaging"))
    for side in ("post_office", "ours"):
        result = figures[side]
        assert result["created"] == total, side
        sent = result["steps"]["c_send_all"]
        assert sent["sent"] == total, side
        assert sent["failed"] == 0, side
        assert result["sink_received"] == total, side  # counted by the SMTP sink itself
        assert result["vm_hwm_mb"] > 0, side
        for step in STEPS:
            one = result["steps"][step]
            assert one["seconds"] > 0, (side, step)
            assert one["peak_rss_mb"] > 0, (side, step)
            if step in QUERY_STEPS:
                assert one["median_ms"] > 0, (side, step)
                assert one["mean_hits"] > 0, (side, step)
        assert figures["ratios"][step] > 0
    for step in QUERY_STEPS:  # both find the same e-mails
        peer, ours = figures["post_office"]["steps"][step], figures["ours"]["steps"][step]
        assert peer["mean_hits"] == ours["mean_hits"], step
