from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from helpers import paper, plotting


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


def test_gray_out_keeps_top_positive_superpixels():
    import numpy as np

    from helpers.explain import explain
    from helpers.segmentation import grid_segments

    image = np.full((8, 8, 3), 10, np.uint8)
    segments = grid_segments((8, 8), 2, 2)

    def model(x):  # only the top-left cell matters, positively
        s = (x[:, :4, :4] == 10).mean(axis=(1, 2, 3))
        return np.stack([1 - s, s], axis=1)

    e = explain(image, model, segments=segments, labels=[1], hide_color=200,
                num_samples=40, random_state=0, progress=False)  # fmt: skip
    out = plotting.gray_out(e, 1, num_features=1)
    assert (out[:4, :4] == 10).all() and (out[4:] == paper.GRAY).all()
