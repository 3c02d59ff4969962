from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from helpers import plotting


def test_save_figure_writes_png_only_when_a_dir_is_set(monkeypatch, tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    monkeypatch.delenv("LIME_TUTORIAL_FIGURES", raising=False)
    assert plotting.save_figure(fig, "frog_top3") is None
    monkeypatch.setenv("LIME_TUTORIAL_FIGURES", str(tmp_path / "figs"))
    path = plotting.save_figure(fig, "frog_top3")
    assert path == tmp_path / "figs" / "frog_top3.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["frog_top3.png"]
    with pytest.raises(ValueError, match="Figure name"):
        plotting.save_figure(fig, "../escape")
    plt.close(fig)
