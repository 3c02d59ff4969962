"""Benchmark: how fast the LIME explorer answers a click (target: within 150 ms on 2 cores).

Run: ``.venv/bin/python benchmarks/bench_explorer.py [--clicks N] [--quick] [--no-browser]``.

With MobileNetV2 (int8, LiteRT) on the tree frog, the explorer's default content, it clicks
superpixels one after another, so that every click makes a mask not seen before (and so a
real model call, never a stored answer), and measures

(a) in Python: the click handler of :class:`helpers.explorer_app.ExplorerApp`, from the
    event to the last widget value set: the state update (mask, one model call on the
    masked image, surrogate, distance, kernel weight), the PNG of the masked image, the
    scatter and the numbers;
(b) in the browser: the explorer served by Voilà (``apps/explorer_server.py``, as
    ``make explore`` serves it) and clicked in Debian's headless Chromium
    (Playwright), from the click event to the frame after the new numbers are in the page,
    by the browser's own clock. This is what a learner waits for.

It prints the median, the 90th percentile and the maximum of each, and whether they are
within 150 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from helpers.segmentation import num_superpixels

TARGET_MS = 150.0
REPO = Path(__file__).resolve().parents[1]


def _tool(relative: str) -> ModuleType:
    """A tooling module of this repository, loaded from its file: ``apps/explorer_server.py``
    (the server of ``make explore``) or ``tests/browser_driver.py`` (the Chromium driver)."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _click_path(segments: np.ndarray, clicks: int, seed: int = 0) -> list[int]:
    """Superpixels to click so that each click gives a new mask: hide them all in a random
    order, then show them again in the same order (never back to the original)."""
    order = np.random.default_rng(seed).permutation(num_superpixels(segments)).tolist()
    path = order + order[:-1]
    return path[: max(1, min(clicks, len(path)))]


def _interior_pixel(segments: np.ndarray, superpixel: int) -> tuple[int, int]:
    from scipy import ndimage

    inside = np.pad(segments == superpixel, 1)
    depth = ndimage.distance_transform_edt(inside)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(row), int(col)


def _summary(name: str, ms: list[float]) -> str:
    p90 = float(np.percentile(ms, 90))
    verdict = "within" if max(ms) <= TARGET_MS else ("p90 within" if p90 <= TARGET_MS else "OVER")
    return (
        f"{name}: median {statistics.median(ms):.1f} ms  p90 {p90:.1f} ms  max {max(ms):.1f} ms"
        f"  ({len(ms)} clicks; {verdict} the {TARGET_MS:.0f} ms target)"
    )


def bench_python(num_samples: int, clicks: int) -> list[float]:
    """(a): the click handler in this process, no browser."""
    from helpers.explorer_app import ExplorerApp, default_explorer_inputs

    explanation, model = default_explorer_inputs(num_samples=num_samples)
    app = ExplorerApp.from_explanation(explanation, model)
    handler = app._events._handle_mouse_msg  # what a comm message from the browser calls
    times = []
    for j in _click_path(explanation.segments, clicks):
        row, col = _interior_pixel(explanation.segments, j)
        event = {"type": "click", "dataX": col * app.scale + 1, "dataY": row * app.scale + 1}
        calls = app.state.model_calls
        start = time.perf_counter()
        handler(None, event, None)
        times.append((time.perf_counter() - start) * 1000)
        assert app.state.model_calls == calls + 1, "every click should call the model once"
    return times


def bench_browser(clicks: int, quick: bool) -> list[float] | str:
    """(b): served by Voilà, clicked in headless Chromium. A string says why it was skipped."""
    srv, drv = _tool("apps/explorer_server.py"), _tool("tests/browser_driver.py")
    chromium = drv.find_chromium()
    if chromium is None:
        return f"skipped: Chromium not found. {drv.INSTALL_CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'skipped: Playwright is missing (.venv/bin/pip install -e ".[test]")'
    from helpers.explorer_app import default_explorer_inputs

    env = {"LIME_TUTORIAL_QUICK": "1"} if quick else {}
    os.environ.update(env)  # the same explanation as the served one, for its segments
    explanation, _ = default_explorer_inputs()
    times = []
    with (
        srv.VoilaServer(env=env) as server,
        tempfile.TemporaryDirectory() as profile,
        drv.chromium_page(chromium, profile) as page,
    ):
        drv.open_explorer(page, server.url, timeout=180)
        for j in _click_path(explanation.segments, clicks):
            row, col = _interior_pixel(explanation.segments, j)
            times.append(drv.click_pixel(page, row, col))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=40, help="clicks per measurement")
    parser.add_argument("--samples", type=int, default=1000, help="LIME samples (a)")
    parser.add_argument("--quick", action="store_true", help="CI mode: 10 clicks, 60 samples")
    parser.add_argument("--no-browser", action="store_true", help="only (a)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clicks, args.samples = 10, 60
    print(f"# bench_explorer  clicks={args.clicks}  samples={args.samples}")
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    print(_summary("(a) click handler in Python", bench_python(args.samples, args.clicks)))
    if not args.no_browser:
        result = bench_browser(args.clicks, args.quick)
        if isinstance(result, str):
            print(f"(b) click to new numbers in Chromium: {result}")
        else:
            print(_summary("(b) click to new numbers in Chromium", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
