"""The explorer served alone by Voilà (``apps/explorer_server.py``), driven in Debian's
headless Chromium with Playwright (``tests/browser_driver.py``).

Marked ``browser``. Without Chromium (or Playwright) the test is skipped, with a reason that
says how to install it; under ``CI=true`` that skip is a failure instead, so CI cannot pass
without having run it. ``.ci/run`` installs Chromium with apt-get when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import browser_driver as drv
import explorer_server as srv
import numpy as np
import pytest
from scipy import ndimage

from helpers.explorer import ExplorerState
from helpers.explorer_app import default_explorer_inputs, format_number

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "build" / "explorer_browser_test.png"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} CI=true, where the browser test must run: a skip is a failure.")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = drv.find_chromium()
    if path is None:
        _unavailable(f"Chromium not found. {drv.INSTALL_CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable('Playwright for Python is missing: .venv/bin/pip install -e ".[test]".')
    return path


def _interior_pixel(segments: np.ndarray, superpixel: int) -> tuple[int, int]:
    """The pixel of a superpixel farthest from its border (a safe place to click)."""
    inside = np.pad(segments == superpixel, 1)
    depth = ndimage.distance_transform_edt(inside)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(row), int(col)


def test_clicking_a_superpixel_shows_exactly_what_explorer_state_computes(
    chromium, data_root, tmp_path, monkeypatch
):
    env = {
        "LIME_TUTORIAL_DATA": str(data_root),
        "LIME_TUTORIAL_CACHE": str(tmp_path / "cache"),
        "LIME_TUTORIAL_QUICK": "1",  # the served app and this test use the same explanation
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    explanation, model = default_explorer_inputs()
    state = ExplorerState(explanation, model)
    before = (state.model_probability, state.surrogate_prediction)
    # The superpixel LIME weighs most for the top class: hiding it must change both numbers.
    superpixel = int(np.argmax(state.coef))
    row, col = _interior_pixel(state.segments, superpixel)
    assert state.superpixel_at(row, col) == superpixel
    state.toggle(superpixel)
    after = (state.model_probability, state.surrogate_prediction)
    assert after[0] != before[0] and after[1] != before[1]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    server = srv.VoilaServer(env=env, timeout=60)
    try:
        server.start()
        with drv.chromium_page(chromium, tmp_path / "profile") as page:
            drv.open_explorer(page, server.url, timeout=180)
            shown = drv.read_numbers(page)
            assert shown["model_text"] == format_number(before[0])
            assert shown["surrogate_text"] == format_number(before[1])
            assert float(shown["model_value"]) == before[0]
            assert float(shown["surrogate_value"]) == before[1]

            latency_ms = drv.click_pixel(page, row, col, timeout=30)
            shown = drv.read_numbers(page)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert shown["model_text"] == format_number(after[0])
            assert shown["surrogate_text"] == format_number(after[1])
            assert float(shown["model_value"]) == after[0]  # exact: repr round-trips
            assert float(shown["surrogate_value"]) == after[1]
            print(f"click answered in {latency_ms:.0f} ms (not a timed test)")
    except TimeoutError as exc:
        pytest.fail(f"{exc}\nVoilà's output:\n{server.log()}")
    finally:
        server.stop()
    assert server.process is None and srv.port_is_free(server.port)
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_taken_port_is_a_clear_error_and_nothing_is_started():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = srv.VoilaServer(port)
        with pytest.raises(srv.PortInUseError, match=f"Port {port} .* already in use"):
            server.start()
        assert server.process is None
        server.stop()


def test_a_page_that_does_not_load_in_time_is_a_clear_error(chromium, tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with drv.chromium_page(chromium, tmp_path / "profile") as page:
            with pytest.raises(TimeoutError, match="did not show its numbers within 3 s"):
                drv.open_explorer(page, url, timeout=3)
