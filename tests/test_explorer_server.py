"""The explorer's Voilà server (``apps/explorer_server.py``, ``make explore``), for real on
127.0.0.1: what it refuses, that idle kernels go, and that nothing outlives it.

Each test serves a one-cell notebook, so a kernel costs a second or two, not an explanation.
Requests are bounded (timeouts) and go to the loopback address only.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import explorer_server as srv
import psutil
import pytest

SERVER_SCRIPT = Path(srv.__file__)


@pytest.fixture
def tiny_notebook(tmp_path) -> Path:
    """A notebook whose page only prints a line."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print('tiny page')"))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    """One bounded GET to 127.0.0.1:port, with an optional Host header."""
    connection = http.client.HTTPConnection(srv.HOST, port, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _kernels(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The live kernels among ``processes`` (a culled kernel that Voilà has not reaped yet is
    a zombie: it has exited and holds no memory)."""
    live = []
    for p in processes:
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()):
                live.append(p)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return live


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def _port_closed(port: int) -> bool:
    try:
        with socket.create_connection((srv.HOST, port), timeout=1):
            return False
    except OSError:
        return True


def test_requests_need_the_token_and_a_local_host_and_idle_kernels_are_culled(tiny_notebook):
    """Issue 21, item 9: no token, any Host header, and one kernel per GET that stayed."""
    server = srv.VoilaServer(notebook=tiny_notebook, cull_idle_timeout=2, cull_interval=1)
    with server:
        assert server.token and server.url == f"{server.base_url}?token={server.token}"
        assert server.token not in " ".join(server.command())  # not readable in `ps`
        status, _ = _get(server.port, "/")  # no token: sent to the login page, no kernel
        assert status == 302
        status, _ = _get(server.port, "/?token=wrong")
        assert status == 302
        # A page elsewhere reaching this port through DNS rebinding carries its own Host.
        status, _ = _get(server.port, f"/?token={server.token}", host=f"evil.example:{server.port}")
        assert status == 403
        assert _kernels(server.descendants()) == []

        status, body = _get(server.port, f"/?token={server.token}")
        assert status == 200 and b"tiny page" in body
        status, _ = _get(server.port, f"/?token={server.token}", host=f"localhost:{server.port}")
        assert status == 200
        assert len(_kernels(server.descendants())) == 2  # one per page...
        # ...and gone once idle with no page connected (2 s idle, checked every second).
        assert _wait_for(lambda: _kernels(server.descendants()) == [], 30)
        assert server.process.poll() is None  # the server itself keeps serving
    assert server.process is None and _port_closed(server.port)


def test_an_empty_token_is_refused():
    with pytest.raises(ValueError, match="token must be a non-empty string"):
        srv.VoilaServer(token="")


def _serve(port: int, notebook: Path) -> tuple[subprocess.Popen, str]:
    """``python apps/explorer_server.py`` on ``port``, and the URL it prints."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--port", str(port), "--notebook", str(notebook)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        if "LIME explorer: http" in line:
            url = line.split("LIME explorer:", 1)[1].strip()
            assert url.startswith(f"http://127.0.0.1:{port}/?token=")
            return process, url
    _cleanup(process, [])
    pytest.fail("the server did not print its URL")


def _cleanup(process: subprocess.Popen, tree: list[psutil.Process]) -> None:
    """Never leave a server behind, even when a test fails."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    process.stdout.close()
    for leftover in tree:
        try:
            leftover.kill()
        except psutil.NoSuchProcess:
            pass


def test_sigterm_to_the_server_stops_voila_and_its_kernels_and_closes_the_port(tiny_notebook):
    """Issue 21, item 10: SIGTERM orphaned Voilà and its kernels; the port kept answering."""
    port = srv.free_port()
    process, url = _serve(port, tiny_notebook)
    tree: list[psutil.Process] = []
    try:
        status, _ = _get(port, url.split(str(port), 1)[1])  # a page: Voilà starts a kernel
        assert status == 200
        tree = psutil.Process(process.pid).children(recursive=True)
        assert len(tree) >= 2 and len(_kernels(tree)) == 1  # Voilà and the page's kernel

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], [p.cmdline() for p in alive]
        assert _port_closed(port)
    finally:
        _cleanup(process, tree)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_even_sigkill_to_the_server_stops_voila_and_its_kernels(tiny_notebook):
    """Issue 21, item 10, the exit path no handler sees: the server killed outright."""
    port = srv.free_port()
    process, url = _serve(port, tiny_notebook)
    tree: list[psutil.Process] = []
    try:
        status, _ = _get(port, url.split(str(port), 1)[1])
        assert status == 200
        tree = psutil.Process(process.pid).children(recursive=True)
        assert len(_kernels(tree)) == 1
        process.kill()
        process.wait(timeout=10)
        _, alive = psutil.wait_procs(tree, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
        assert _port_closed(port)
    finally:
        _cleanup(process, tree)


class _ExitsEarly(srv.VoilaServer):
    """A server whose command fails at once, as Voilà does with a bad setting."""

    def command(self) -> list[str]:
        script = "import sys; print('voila: bad setting', flush=True); sys.exit(3)"
        return [sys.executable, "-c", script]


def test_voila_exiting_early_raises_the_intended_error_with_its_output(tiny_notebook):
    """Issue 21, item 15: start() raised AttributeError when Voilà exited early."""
    server = _ExitsEarly(notebook=tiny_notebook, timeout=30)
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3 before serving.*bad setting"):
        server.start()
    assert server.process is None and server.log_path is None
    server.stop()  # stopping again is harmless


def test_the_voila_configuration_carries_the_token_host_check_and_culling():
    server = srv.VoilaServer(token="t0k", cull_idle_timeout=30, cull_interval=5)
    config = server.config()
    assert config["Voila"]["token"] == "t0k"
    assert config["Voila"]["tornado_settings"] == {
        "allow_remote_access": False,
        "local_hostnames": ["localhost"],
    }
    assert config["MappingKernelManager"] == {
        "cull_idle_timeout": 30,
        "cull_interval": 5,
        "cull_connected": False,
        "cull_busy": False,
    }
    json.dumps(config)  # written as voila.json
    with pytest.raises(ValueError, match="cull_idle_timeout must be a number of seconds"):
        srv.VoilaServer(cull_idle_timeout=0)
