"""Files the project writes get the mode the user's umask gives (issue 10), not 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from helpers import plotting, settings
from helpers.files import atomic_path


@contextmanager
def umask(value: int) -> Iterator[None]:
    """Set the process umask for the block, then restore the previous one."""
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_path_gives_new_files_the_umask_mode(tmp_path, mask, expected):
    dest = tmp_path / "sub" / "entry.npz"
    with umask(mask):
        with atomic_path(dest) as tmp:
            assert mode(tmp) == expected  # already while being written
            tmp.write_bytes(b"payload")
        assert mode(dest) == expected
        # Replacing an existing file: the new one gets the umask's mode too.
        os.chmod(dest, 0o600)
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"second")
    assert mode(dest) == expected
    assert dest.read_bytes() == b"second"
    assert [p.name for p in dest.parent.iterdir()] == ["entry.npz"]


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    dest = tmp_path / "entry.json"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600)])
def test_saved_figures_get_the_umask_mode(tmp_path, monkeypatch, mask, expected):
    monkeypatch.setenv(settings.FIGURES_ENV, str(tmp_path / "figures"))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    with umask(mask):
        path = plotting.save_figure(fig, "modes")
    plt.close(fig)
    assert path == tmp_path / "figures" / "modes.png"
    assert mode(path) == expected
