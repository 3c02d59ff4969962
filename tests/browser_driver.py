"""Drive the served LIME explorer in Debian's headless Chromium with Playwright.

Test helpers, not part of the ``helpers`` package: ``tests/test_explorer_browser.py`` and
``benchmarks/bench_explorer.py`` use them with the server of ``apps/explorer_server.py``.
Playwright comes with the ``[test]`` extra and drives the system's Chromium; a browser is
never downloaded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "INSTALL_CHROMIUM",
    "chromium_page",
    "click_pixel",
    "find_chromium",
    "open_explorer",
    "read_numbers",
]

#: Headless Chromium on a machine without a screen or network: no sandbox (root), no GPU,
#: and none of the background connections that a closed network refuses.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
INSTALL_CHROMIUM = (
    "Install Debian's Chromium: `apt-get update && apt-get install -y chromium` (as root; "
    ".ci/run does this in CI), or set LIME_TUTORIAL_CHROMIUM to a Chromium binary."
)


def find_chromium() -> str | None:
    """Path of the system's Chromium (``LIME_TUTORIAL_CHROMIUM``, else ``chromium`` on PATH).

    The browser test and the benchmark call it.

    Returns
    -------
    str or None
        An executable path; ``None`` when there is none (or ``LIME_TUTORIAL_CHROMIUM`` names
        a file that is not executable).
    """
    chosen = os.environ.get("LIME_TUTORIAL_CHROMIUM")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@contextmanager
def chromium_page(
    executable: str, profile_dir: str | os.PathLike, *, width: int = 1100, height: int = 900
) -> Iterator[Any]:
    """A Playwright page in headless Chromium with a new, empty profile in ``profile_dir``.

    The browser is always closed on leaving the block.

    Parameters
    ----------
    executable
        Chromium's path (:func:`find_chromium`).
    profile_dir
        An empty directory for the browser's profile.
    width, height
        The viewport, in pixels.

    Yields
    ------
    playwright.sync_api.Page

    Examples
    --------
    >>> import tempfile
    >>> from explorer_server import VoilaServer  # doctest: +SKIP
    >>> with tempfile.TemporaryDirectory() as profile, VoilaServer() as server:  # doctest: +SKIP
    ...     with chromium_page(find_chromium(), profile) as page:
    ...         open_explorer(page, server.url)
    ...         click_pixel(page, 100, 100) < 1000  # milliseconds
    True
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def open_explorer(page: Any, url: str, *, timeout: float = 120.0) -> None:
    """Load the explorer at ``url`` and wait until its numbers are shown.

    Parameters
    ----------
    page
        A Playwright page (:func:`chromium_page`).
    url
        The served explorer (``VoilaServer.url`` of ``apps/explorer_server.py``, with its token).
    timeout
        Seconds to wait; the first load computes the explanation.

    Raises
    ------
    TimeoutError
        If the page or the app does not appear within ``timeout`` seconds.
    """
    from playwright.sync_api import Error as PlaywrightError

    from helpers.explorer_app import MODEL_CLASS

    try:
        page.goto(url, timeout=timeout * 1000)
        page.wait_for_selector(f".{MODEL_CLASS}", timeout=timeout * 1000)
    except PlaywrightError as exc:
        raise TimeoutError(
            f"The explorer at {url} did not show its numbers within {timeout:.0f} s "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]})."
        ) from exc


def read_numbers(page: Any) -> dict[str, Any]:
    """The numbers the page shows: text and exact value of network and surrogate, and the
    redraw counter.

    Parameters
    ----------
    page
        A Playwright page showing the explorer (:func:`open_explorer`).

    Returns
    -------
    dict
        ``model_text``, ``model_value``, ``surrogate_text``, ``surrogate_value`` (the values
        as the ``repr`` strings the page carries) and ``updates`` (int).
    """
    from helpers.explorer_app import MODEL_CLASS, SURROGATE_CLASS

    return page.evaluate(
        """([model, surrogate]) => {
            const m = document.querySelector('.' + model);
            const s = document.querySelector('.' + surrogate);
            const box = document.querySelector('.lime-explorer-numbers');
            return {model_text: m.textContent, model_value: m.dataset.value,
                    surrogate_text: s.textContent, surrogate_value: s.dataset.value,
                    updates: Number(box.dataset.updates)};
        }""",
        [MODEL_CLASS, SURROGATE_CLASS],
    )


def click_pixel(page: Any, row: int, col: int, *, scale: int = 2, timeout: float = 30.0) -> float:
    """Click image pixel ``(row, col)`` in the explorer and wait for the new numbers.

    Parameters
    ----------
    page
        A Playwright page showing the explorer.
    row, col
        The image pixel to click (its centre is clicked).
    scale
        Screen pixels per image pixel, as the app's ``scale``.
    timeout
        Seconds to wait for the new numbers.

    Returns
    -------
    float
        Milliseconds from the click event to the frame after the new numbers are in the
        page, measured by the browser's own clock.
    """
    from helpers.explorer_app import IMAGE_CLASS

    page.evaluate(
        """(imageClass) => {
            const box = document.querySelector('.lime-explorer-numbers');
            const probe = {t0: null, t1: null, before: box.dataset.updates};
            window.__limeProbe = probe;
            document.querySelector('.' + imageClass).addEventListener(
                'click', () => { probe.t0 = performance.now(); }, {capture: true, once: true});
            const observer = new MutationObserver(() => {
                const now = document.querySelector('.lime-explorer-numbers');
                if (now && now.dataset.updates !== probe.before) {
                    observer.disconnect();
                    requestAnimationFrame(() => { probe.t1 = performance.now(); });
                }
            });
            observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                             characterData: true});
        }""",
        IMAGE_CLASS,
    )
    position = {"x": (col + 0.5) * scale, "y": (row + 0.5) * scale}
    page.locator(f".{IMAGE_CLASS}").click(position=position)
    page.wait_for_function("window.__limeProbe.t1 !== null", timeout=timeout * 1000)
    return float(page.evaluate("window.__limeProbe.t1 - window.__limeProbe.t0"))
