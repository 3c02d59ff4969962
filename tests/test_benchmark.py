"""The benchmark script runs in its --quick mode and prints every measurement."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _quick(script: str, timeout: int) -> str:
    """What ``benchmarks/<script> --quick`` prints."""
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout


def test_bench_explain_quick_prints_ratios_and_memory():
    out = _quick("bench_explain.py", 900)
    for pattern in (
        r"\(a\) floor: inference only\s+[\d.]+ s",
        r"\(b\) helpers\.explain\s+[\d.]+ s",
        r"\(c\) lime explain_instance\s+[\d.]+ s",
        r"b/a = [\d.]+",
        r"b/c = [\d.]+",
        r"warm cache re-run\s+[\d.]+ s",
        r"growth -?\d+ MB",
        r"\(d\) floor: inference only\s+[\d.]+ s",
        r"\(e\) helpers\.explain\s+[\d.]+ s",
        r"e/d = [\d.]+",
    ):
        assert re.search(pattern, out), (pattern, out)


def test_bench_litert_quick_compares_the_ways_to_run_a_batch(offline_data):
    out = _quick("bench_litert.py", 300)
    for variant in (
        "1 interpreter x 1 thread, 224 input",
        "1 interpreter x 2 threads, 224 input",
        "2 interpreters x 1 thread, 224 input",
        "2 interpreters x 1 thread, 299 input, resize in the workers",
        "2 interpreters x 1 thread, 299 input, resize first",
    ):
        assert re.search(re.escape(variant) + r"\s+[\d.]+ img/s", out), (variant, out)


def test_bench_auto_quick_prints_calls_agreement_coverage_and_verdicts(offline_data):
    out = _quick("bench_auto.py", 600)
    for pattern in (
        r"## 1\. Designs at equal calls",
        r"sobol\s+all\s+[\d.]+\s+[\d.]+",
        r"verdict antithetic: squared error [\d.]+-[\d.]+ x the fair coins",
        r"## 2\. num_samples='auto' vs lime's fixed 128",
        r"tree_frog\s+\d+\s+tree_frog \(0\.\d\d\)\s+128 \[128-128\]",
        r"median image: 128 calls by 'auto' = 1\.00 of the fixed 128",
        r"top-5 Jaccard vs reference, mean over images and seeds: auto [\d.]+, fixed 128 [\d.]+",
        r"90 % interval coverage of the reference weights: auto\s+(n/a|[\d.]+)",
        r"verdict calls: NOT met: 128 calls on the median image, 85 more than 1/3 of 128",
        r"verdict agreement: (met|NOT met)",
        r"replayed, expected top-5 Jaccard >= 0\.8: median image 128 calls \(tree_frog 128\)",
        r"replayed, se over antithetic pairs, set >= 0\.95: median image 128 calls "
        r"\(tree_frog 128\); Jaccard [\d.]+, [+-][\d.]+ vs fixed 128; not stopped by the run's "
        r"end: [01] of 1",
    ):
        assert re.search(pattern, out), (pattern, out)


def test_calibration_quick_prints_coverage_stability_times_and_a_verdict(offline_data):
    out = _quick("calibration.py", 300)
    for pattern in (
        r"## 90 % intervals: share of \(superpixel, seed\) pairs holding the reference weight",
        r"tree_frog\s+\d+\s+tree_frog\s+64\s+" + r"[\d.]+\s+" * 3 + r"[\d.]+",
        r"all\s+128\s+" + r"[\d.]+\s+" * 3 + r"[\d.]+",
        r"with exact errors, the reference's own noise leaves: N=64: 0\.899, N=128: 0\.898",
        r"verdict HC3: (calibrated|NOT calibrated)",
        r"bootstrap vs hc3: [+-][\d.]+ coverage",
        r"## top-5 stability against repeated runs",
        r"time of one top_k_stability call: median [\d.]+ ms",
    ):
        assert re.search(pattern, out), (pattern, out)


def test_focused_sampling_quick_prints_the_designs_and_a_computed_verdict(offline_data):
    out = _quick("focused_sampling.py", 300)
    for pattern in (
        r"## Top-5 Jaccard against the fair-coin reference",
        r"focused\s+all\s+[\d.]+\s+[\d.]+",
        r"focused x kernel\s+tree_frog\s+[\d.]+\s+[\d.]+",
        r"antithetic\s+all\s+[\d.]+\s+[\d.]+",
        r"fair coins\s+all\s+[\d.]+\s+[\d.]+",
        r"fixed 128\s+all\s+[\d.]+",
        r"focused\s+N=128 0\.\d\d",
        r"mean top-5 Jaccard of lime's fixed 128 fair coins: [\d.]+",
        r"antithetic: (reaches it at N = \d+|not by N = 128)",
        r"verdict focused: (PAYS|does NOT pay)",
        r"verdict focused x kernel: (PAYS|does NOT pay)",
    ):
        assert re.search(pattern, out), (pattern, out)
