"""Serve the LIME explorer alone with Voilà on 127.0.0.1: what ``make explore`` runs.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, which points to ``make explore``.
Tooling, not part of the ``helpers`` package: run it from a clone of the repository,

    python apps/explorer_server.py [--port N] [--notebook PATH]

and open the printed address (it carries the access token). :class:`VoilaServer` starts
Voilà on ``apps/explorer.ipynb`` in a child process of its own process group, waits until it
accepts connections, and always stops it and its kernels: on leaving the ``with`` block, on
:meth:`VoilaServer.stop`, at interpreter exit, (when run as a script) on SIGTERM, SIGHUP and
Ctrl-C, and on Linux even when this process is killed with SIGKILL (Voilà is then told by
the kernel, and shuts its kernels down).

What the server accepts (README, "What is checked and refused"):

- only connections to 127.0.0.1, and only requests whose ``Host`` header names this machine
  (``localhost`` or a loopback address): a web page elsewhere cannot reach it by DNS
  rebinding;
- only requests that carry the random token of this run (in the printed URL; the browser
  keeps it in a cookie afterwards), so another local user or program cannot start kernels;
- each page gets its own kernel (about 140 MB with MobileNetV2); a kernel with no page
  connected to it is shut down after ``cull_idle_timeout`` seconds idle.

A taken port is an error, never a silent move to another port. The browser test and
``benchmarks/bench_explorer.py`` drive the served page with ``tests/browser_driver.py``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

__all__ = [
    "APP_NOTEBOOK",
    "HOST",
    "PortInUseError",
    "VoilaServer",
    "free_port",
    "main",
    "port_is_free",
]

APP_NOTEBOOK = Path(__file__).resolve().with_name("explorer.ipynb")
HOST = "127.0.0.1"
#: Host names (besides loopback addresses) that the server answers to.
LOCAL_HOSTNAMES = ("localhost",)
#: Seconds a kernel may sit idle with no page connected before it is shut down, and how
#: often that is checked. A page that is open keeps its kernel, however long it is idle.
CULL_IDLE_TIMEOUT = 120
CULL_INTERVAL = 30


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
    """A port on ``host`` that is free now (the OS picks it; another program may take it
    before it is used).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

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


def _check_seconds(value: float, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ValueError(f"{name} must be a number of seconds, 1 or more; got {value!r}.")
    return int(value)


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
        Extra environment variables for the server and its kernels.
    timeout
        Seconds to wait for the server to accept connections.
    quiet
        Collect the server's output in a temporary file (shown in errors, see :meth:`log`)
        instead of printing it.
    token
        The access token every request must carry; default: a new random one. Never empty.
    cull_idle_timeout, cull_interval
        A kernel with no page connected is shut down after ``cull_idle_timeout`` idle
        seconds, checked every ``cull_interval`` seconds.

    Attributes
    ----------
    url
        The page's address with the token, ``http://127.0.0.1:PORT/?token=...``.
    base_url
        ``http://127.0.0.1:PORT/`` (requests to it without the token are refused).
    process
        The running Voilà (a :class:`subprocess.Popen`), or ``None``.
    log_path
        File that collects the server's output while it runs (``quiet`` only).

    Examples
    --------
    Nothing starts until :meth:`start` (or ``with``):

    >>> server = VoilaServer(8899, token="abc", quiet=False)
    >>> server.url, server.command()[1:3]
    ('http://127.0.0.1:8899/?token=abc', ['-m', 'voila'])
    >>> with VoilaServer() as server:  # doctest: +SKIP
    ...     print(server.url)  # open it in a browser while the block runs
    http://127.0.0.1:.../?token=...
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        notebook: str | os.PathLike = APP_NOTEBOOK,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
        quiet: bool = True,
        token: str | None = None,
        cull_idle_timeout: float = CULL_IDLE_TIMEOUT,
        cull_interval: float = CULL_INTERVAL,
    ):
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError(
                "token must be a non-empty string (or None for a random one): the server "
                "refuses to run without one."
            )
        self.cull_idle_timeout = _check_seconds(cull_idle_timeout, "cull_idle_timeout")
        self.cull_interval = _check_seconds(cull_interval, "cull_interval")
        self.port = free_port() if port is None else int(port)
        self.notebook = Path(notebook).resolve()
        self.env = dict(env or {})
        self.timeout = float(timeout)
        self.quiet = bool(quiet)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.base_url = f"http://{HOST}:{self.port}/"
        self.url = f"{self.base_url}?token={self.token}"
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._config_dir: Path | None = None
        self._stopped_at_exit = False

    # ----- the command and its configuration ---------------------------------------------
    def config(self) -> dict:
        """Voilà's configuration (written to a private ``voila.json`` at :meth:`start`).

        Returns
        -------
        dict
            The token, the ``Host`` check (``allow_remote_access`` off, only
            :data:`LOCAL_HOSTNAMES` and loopback addresses) and idle-kernel culling.
        """
        return {
            "Voila": {
                "token": self.token,
                "tornado_settings": {
                    "allow_remote_access": False,
                    "local_hostnames": list(LOCAL_HOSTNAMES),
                },
            },
            "MappingKernelManager": {
                "cull_idle_timeout": self.cull_idle_timeout,
                "cull_interval": self.cull_interval,
                "cull_connected": False,
                "cull_busy": False,
            },
        }

    def command(self) -> list[str]:
        """The Voilà command line (no browser, only 127.0.0.1, never another port).

        The token is not on it (other local users can read command lines): Voilà reads it
        from the private configuration directory made by :meth:`start`.

        Returns
        -------
        list of str
            This Python running ``-m voila`` on :attr:`notebook`.
        """
        config_paths = [str(self._config_dir)] if self._config_dir is not None else []
        return [
            sys.executable, "-m", "voila", str(self.notebook),
            "--no-browser", f"--port={self.port}", f"--Voila.ip={HOST}",
            "--Voila.port_retries=0", "--show_tracebacks=True",
            f"--Voila.config_file_paths={json.dumps(config_paths)}",
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

    # ----- starting and stopping ---------------------------------------------------------
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
            If the server is already running, or if Voilà exits before serving (its output
            is in the message).
        TimeoutError
            If it does not accept connections within ``timeout`` seconds (it is stopped).
        """
        if self.process is not None:
            raise RuntimeError(f"This server is already running at {self.base_url}.")
        if not self.notebook.is_file():
            raise FileNotFoundError(f"No notebook to serve at {self.notebook}.")
        if not port_is_free(self.port):
            raise PortInUseError(
                f"Port {self.port} on {HOST} is already in use, so Voilà cannot serve the "
                "explorer there. Fix: stop whatever listens on it, or choose another port "
                "(make explore EXPLORE_PORT=8877)."
            )
        self._config_dir = Path(tempfile.mkdtemp(prefix="voila-config-"))  # mode 0700
        (self._config_dir / "voila.json").write_text(json.dumps(self.config(), indent=1))
        output = None
        if self.quiet:
            handle, name = tempfile.mkstemp(prefix="voila-", suffix=".log")
            output, self.log_path = os.fdopen(handle, "wb"), Path(name)
        try:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.notebook.parent,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=None if output is None else subprocess.STDOUT,
                start_new_session=True,  # its own process group, apart from the terminal's
                preexec_fn=_die_with_this_process(),
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own copy
        atexit.register(self.stop)
        self._wait_until_serving()
        return self.url

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                output = self.log()
                self.stop()
                raise RuntimeError(
                    f"Voilà exited with code {code} before serving {self.base_url}. "
                    f"Its output:\n{output or '(printed above)'}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        output = self.log()
        self.stop()
        raise TimeoutError(
            f"Voilà did not accept connections on {self.base_url} within {self.timeout:.0f} s. "
            f"Its output:\n{output or '(printed above)'}"
        )

    def descendants(self) -> list[psutil.Process]:
        """Voilà and every process it started (its kernels), while it runs.

        Returns
        -------
        list of psutil.Process
            Empty when the server is not running.
        """
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop the server and its kernels; safe to call more than once.

        Voilà gets SIGTERM (it shuts its kernels down) and up to 10 s; then its process
        group gets SIGKILL, and so does every process it had started that is still alive
        (the kernels run in process groups of their own).
        """
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is not None:
            try:  # the kernels run in process groups of their own: find them first
                tree = psutil.Process(process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                tree = []
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            _signal_group(process.pid, signal.SIGKILL)  # anything left in Voilà's group
            _, alive = psutil.wait_procs(tree, timeout=5)
            for leftover in alive:
                try:
                    leftover.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=5)
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> VoilaServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _die_with_this_process() -> Callable[[], None] | None:
    """What the child runs before Voilà (Linux, main thread): ask the kernel for SIGTERM when
    this process dies, even by SIGKILL, so that Voilà stops its kernels then too.

    The request is tied to the thread that starts the child, so it is made only from the main
    thread; elsewhere (and outside Linux) ``None``: :meth:`VoilaServer.stop`, ``atexit`` and
    the signal handlers of :func:`main` remain.
    """
    on_linux = sys.platform.startswith("linux")
    if not on_linux or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def request() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request: stop now
            os._exit(1)

    return request


def _signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pid`` (a session leader's), never to our own group."""
    try:
        if os.getpgid(pid) == os.getpgid(0):
            os.kill(pid, sig)
        else:
            os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM or SIGHUP into ``SystemExit``, so that ``finally`` blocks stop Voilà."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Serve the explorer until Ctrl-C, SIGTERM or SIGHUP (``make explore``).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    argv
        Command-line arguments (default: ``sys.argv[1:]``): ``--port``, ``--notebook``,
        ``--cull-idle-timeout``.

    Returns
    -------
    int
        0 after Ctrl-C, 1 when Voilà fails to start or stops by itself, 128 + the signal
        number after SIGTERM or SIGHUP.
    """
    parser = argparse.ArgumentParser(description="Serve the LIME explorer with Voilà.")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (8866)")
    parser.add_argument("--notebook", default=str(APP_NOTEBOOK), help="notebook to serve")
    parser.add_argument(
        "--cull-idle-timeout", type=int, default=CULL_IDLE_TIMEOUT,
        help=f"seconds before an idle kernel with no page is shut down ({CULL_IDLE_TIMEOUT})",
    )  # fmt: skip
    parser.add_argument("--cull-interval", type=int, default=CULL_INTERVAL, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    server = VoilaServer(
        args.port, notebook=args.notebook, quiet=False,
        cull_idle_timeout=args.cull_idle_timeout, cull_interval=args.cull_interval,
    )  # fmt: skip
    try:
        try:
            server.start()
        except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(
            f"\n    LIME explorer: {server.url}\n\n"
            "Open it in a browser (the token in the address is needed once; keep it to "
            "yourself). The first load computes the explanation (a few seconds). Ctrl-C "
            "stops the server.\n",
            flush=True,
        )
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
        print("Voilà stopped (see its output above).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
        for sig in previous:  # a second signal must not interrupt the stopping
            signal.signal(sig, signal.SIG_IGN)
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
