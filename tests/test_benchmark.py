"""The benchmark script runs in its --quick mode and prints every measurement."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_explain_quick_prints_ratios_and_memory():
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_explain.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    for pattern in (
        r"\(a\) floor: inference only\s+[\d.]+ s",
        r"\(b\) helpers\.explain\s+[\d.]+ s",
        r"\(c\) lime explain_instance\s+[\d.]+ s",
        r"b/a = [\d.]+",
        r"b/c = [\d.]+",
        r"warm cache re-run\s+[\d.]+ s",
        r"growth -?\d+ MB",
    ):
        assert re.search(pattern, out), (pattern, out)
