"""Serve the LIME explorer alone with Voilà, on 127.0.0.1, and drive it in Chromium.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, which points to ``make explore``;
no notebook imports it. :class:`VoilaServer` starts Voilà on ``apps/explorer.ipynb`` in a
child process, waits until it accepts connections, and always stops it (the whole process
group, kernels included) on leaving the ``with`` block. A taken port is an error, never a
silent move to another port.

The browser functions (:func:`chromium_page`, :func:`open_explorer`, :func:`read_numbers`,
:func:`click_pixel`) drive the system's Chromium with Playwright (the ``[test]`` extra; a
browser is never downloaded). The browser test and ``benchmarks/bench_explorer.py`` use them.

Run ``python -m helpers.explorer_server [--port N]`` to serve until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "APP_NOTEBOOK",
    "CHROMIUM_ARGS",
    "PortInUseError",
    "VoilaServer",
    "chromium_page",
    "click_pixel",
    "find_chromium",
    "free_port",
    "open_explorer",
    "port_is_free",
    "read_numbers",
]

REPO = Path(__file__).resolve().parents[1]
APP_NOTEBOOK = REPO / "apps" / "explorer.ipynb"
HOST = "127.0.0.1"
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


class PortInUseError(RuntimeError):
    """The port asked for is already taken on 127.0.0.1.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook names it.

    Parameters
    ----------
    message
        The port, and how to choose another (``make explore EXPLORE_PORT=...``).
    """


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on ``host:port`` now.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    port
        The TCP port.
    host
        The address to bind, ``127.0.0.1`` by default.

    Returns
    -------
    bool
        Whether binding succeeded (the port is released again at once).

    Examples
    --------
    >>> import socket
    >>> with socket.socket() as taken:
    ...     taken.bind(("127.0.0.1", 0))
    ...     port_is_free(taken.getsockname()[1])
    False
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, int(port)))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port on ``host`` that is free now (the OS picks it).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.
    Another program may take the port before it is used.

    Parameters
    ----------
    host
        The address to bind, ``127.0.0.1`` by default.

    Returns
    -------
    int

    Examples
    --------
    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class VoilaServer:
    """Voilà serving one notebook on ``127.0.0.1:port``, as a context manager.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; ``make explore``, the browser
    test and ``benchmarks/bench_explorer.py`` use it, no notebook does.

    Parameters
    ----------
    port
        The port; ``None`` picks a free one. A taken port raises :class:`PortInUseError`.
    notebook
        The notebook to serve (default: ``apps/explorer.ipynb``).
    env
        Extra environment variables for the server and its kernel.
    timeout
        Seconds to wait for the server to accept connections.
    quiet
        Collect the server's output in a temporary file (shown in errors, see :meth:`log`)
        instead of printing it.

    Attributes
    ----------
    url
        ``http://127.0.0.1:PORT/``, once started.
    log_path
        File that collects the server's output while it runs (``quiet`` only).

    Examples
    --------
    Nothing starts until :meth:`start` (or ``with``):

    >>> server = VoilaServer(8899, quiet=False)
    >>> server.url, server.command()[1:3]
    ('http://127.0.0.1:8899/', ['-m', 'voila'])
    >>> with VoilaServer() as server:  # doctest: +SKIP
    ...     print(server.url)  # open it in a browser while the block runs
    http://127.0.0.1:.../
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        notebook: str | os.PathLike = APP_NOTEBOOK,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
        quiet: bool = True,
    ):
        self.port = free_port() if port is None else int(port)
        self.notebook = Path(notebook)
        self.env = dict(env or {})
        self.timeout = float(timeout)
        self.url = f"http://{HOST}:{self.port}/"
        self.process: subprocess.Popen | None = None
        self._log = None
        self.log_path: Path | None = None
        if quiet:
            self._log = tempfile.NamedTemporaryFile(prefix="voila-", suffix=".log", delete=False)
            self.log_path = Path(self._log.name)

    def command(self) -> list[str]:
        """The Voilà command line (no browser, only 127.0.0.1, never another port).

        Returns
        -------
        list of str
            This Python running ``-m voila`` on :attr:`notebook`.
        """
        return [
            sys.executable, "-m", "voila", str(self.notebook),
            "--no-browser", f"--port={self.port}", f"--Voila.ip={HOST}",
            "--Voila.port_retries=0", "--show_tracebacks=True",
        ]  # fmt: skip

    def log(self) -> str:
        """What the server has printed so far (``""`` when it prints to the terminal).

        Returns
        -------
        str
            The log file's text (undecodable bytes replaced); ``""`` after :meth:`stop`.
        """
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def start(self) -> str:
        """Start Voilà and wait until it accepts connections; returns :attr:`url`.

        Returns
        -------
        str
            :attr:`url`.

        Raises
        ------
        FileNotFoundError
            If the notebook does not exist.
        PortInUseError
            If the port is taken.
        RuntimeError
            If Voilà exits before serving (its output is in the message).
        TimeoutError
            If it does not accept connections within ``timeout`` seconds (it is stopped).
        """
        if not self.notebook.is_file():
            raise FileNotFoundError(f"No notebook to serve at {self.notebook}.")
        if not port_is_free(self.port):
            raise PortInUseError(
                f"Port {self.port} on {HOST} is already in use, so Voilà cannot serve the "
                "explorer there. Fix: stop whatever listens on it, or choose another port "
                "(make explore EXPLORE_PORT=8877)."
            )
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.notebook.parent,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=None if self._log is None else subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the kernels too
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(
                    f"Voilà exited with code {self.process.returncode} before serving "
                    f"{self.url}. Its output:\n{self.log()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return self.url
            except OSError:
                time.sleep(0.2)
        output = self.log()
        self.stop()
        raise TimeoutError(
            f"Voilà did not accept connections on {self.url} within {self.timeout:.0f} s. "
            f"Its output:\n{output}"
        )

    def stop(self) -> None:
        """Stop the server and its kernels (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if process is not None:
            try:  # kernels left in the group after Voilà itself has gone
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log is not None:
            self._log.close()
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> VoilaServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ----- driving the served explorer in Chromium ------------------------------------------------


def find_chromium() -> str | None:
    """Path of the system's Chromium (``LIME_TUTORIAL_CHROMIUM``, else ``chromium`` on PATH).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (the
    browser test and benchmark do).

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

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it. The
    browser is always closed on leaving the block.

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

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (see
    :func:`chromium_page` for an example).

    Parameters
    ----------
    page
        A Playwright page (:func:`chromium_page`).
    url
        The served explorer (:attr:`VoilaServer.url`).
    timeout
        Seconds to wait; the first load computes the explanation.

    Raises
    ------
    TimeoutError
        If the page or the app does not appear within ``timeout`` seconds.
    """
    from playwright.sync_api import Error as PlaywrightError

    from .explorer_app import MODEL_CLASS

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

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

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
    from .explorer_app import MODEL_CLASS, SURROGATE_CLASS

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

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (see
    :func:`chromium_page` for an example).

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
    from .explorer_app import IMAGE_CLASS

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


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the LIME explorer with Voilà.")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (8866)")
    args = parser.parse_args(argv)
    server = VoilaServer(args.port, quiet=False)
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"\n    LIME explorer: {server.url}\n\n"
        "Open it in a browser; the first load computes the explanation (a few seconds). "
        "Ctrl-C stops the server.\n",
        flush=True,
    )
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
        print("Voilà stopped (see its output above).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(_main())
