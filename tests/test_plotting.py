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


def test_weight_map_blue_is_for_red_is_against_with_a_colorbar_that_says_so():
    import numpy as np

    fig, axes = plt.subplots(1, 2)
    weights = np.array([[-1.0, 0.0], [0.5, 2.0]])
    shown = plotting.weight_map(axes[0], weights, title="w", label="tree_frog")
    assert shown.get_clim() == (-2.0, 2.0)  # symmetric: white is exactly 0
    rgba = shown.to_rgba(np.array([-2.0, 0.0, 2.0]))
    assert rgba[0, 0] > rgba[0, 2]  # -limit is red (against)
    assert rgba[2, 2] > rgba[2, 0]  # +limit is blue (for)
    assert np.allclose(rgba[1, :3], rgba[1, :3].mean(), atol=0.05)  # 0 is (nearly) white/gray
    bar = fig.axes[-1]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["-2 against", "0", "+2 for"]
    assert bar.get_ylabel() == "weight for 'tree_frog'"
    # a shared scale, the photo beneath, no colorbar
    photo = np.full((2, 2, 3), 200, np.uint8)
    shown = plotting.weight_map(axes[1], weights, image=photo, limit=4.0, colorbar=False)
    assert shown.get_clim() == (-4.0, 4.0) and shown.get_alpha() == 0.7
    assert len(fig.axes) == 3 and len(axes[1].images) == 2
    with pytest.raises(ValueError, match="2-D"):
        plotting.weight_map(axes[1], np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="pass the photo"):
        plotting.weight_map(axes[1], weights, image=np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="limit"):
        plotting.weight_map(axes[1], weights, limit=0)
    plt.close(fig)


def test_weight_map_hatches_and_outlines_exactly_the_uncertain_pixels():
    import numpy as np

    fig, ax = plt.subplots()
    weights = np.array([[1.0, -1.0, 0.5], [0.2, 0.2, -0.3], [0.0, 0.4, 0.1]])
    uncertain = np.zeros((3, 3), bool)
    uncertain[1:, :2] = True  # a 2 x 2 block at the bottom left
    plotting.weight_map(ax, weights, uncertain=uncertain, colorbar=False)
    hatched, outline = ax.collections
    assert hatched.hatches == ["//"] and outline.get_linewidths()[0] == 0.8
    inside = [hatched.get_paths()[0].contains_point((x, y)) for y in range(3) for x in range(3)]
    assert np.array_equal(np.reshape(inside, (3, 3)), uncertain)  # pixel centres in the hatch
    (vertices,) = [p.vertices for p in outline.get_paths() if len(p.vertices)]
    assert vertices[:, 0].min() == -0.5 and vertices[:, 1].max() == 2.5  # at the pixel edges
    assert [float(x) for x in ax.get_xlim()] == [-0.5, 2.5]  # the frame did not widen the view
    ax2 = fig.add_subplot(2, 2, 4)
    plotting.weight_map(ax2, weights, uncertain=np.zeros((3, 3), bool), colorbar=False)
    assert len(ax2.collections) == 0  # nothing uncertain, nothing drawn
    with pytest.raises(ValueError, match="one True/False per pixel"):
        plotting.weight_map(ax2, weights, uncertain=np.zeros((2, 3), bool))
    plt.close(fig)


def test_model_warnings_catches_only_the_model_warnings(recwarn):
    import warnings

    from helpers.models import StandInModelWarning, UntrainedWeightsWarning

    with plotting.model_warnings() as caught:
        warnings.warn(
            "MobileNetV2 stands in for InceptionV3 (offline).", StandInModelWarning, stacklevel=1
        )
        warnings.warn("random weights", UntrainedWeightsWarning, stacklevel=1)
        warnings.warn("something else", RuntimeWarning, stacklevel=1)
    assert caught == ["MobileNetV2 stands in for InceptionV3 (offline).", "random weights"]
    assert [(w.category, str(w.message)) for w in recwarn] == [
        (RuntimeWarning, "something else")  # other warnings still show
    ]


class _Net:
    display_name = "MobileNetV2 1.0 (int8)"
    description = "MobileNetV2 1.0 (int8), real ImageNet weights"
    stands_in_for = None
    untrained = False


def test_model_note_says_which_network_and_marks_stand_ins_and_untrained(capsys):
    real = plotting.ModelNote(_Net())
    assert real.kind == "real"
    assert repr(real) == "Predictions by: MobileNetV2 1.0 (int8), real ImageNet weights"
    assert "#2a6ebb" in real._repr_html_() and "<b>Predictions by:</b>" in real._repr_html_()

    stand_in = _Net()
    stand_in.stands_in_for = "InceptionV3"
    note = plotting.ModelNote(stand_in, ["unrelated", "InceptionV3's weights are missing."])
    assert note.kind == "stand-in"
    assert note.lines[1] == "InceptionV3's weights are missing."  # the reason, once
    assert "Predictions by (stand-in):" in note._repr_html_()
    assert "stands in for InceptionV3" in plotting.ModelNote(stand_in).lines[1]  # no reason

    untrained = _Net()
    untrained.untrained = True
    untrained.display_name = "InceptionV3 (UNTRAINED)"
    note = plotting.ModelNote(untrained)
    assert note.kind == "untrained" and note.lines[0] == "UNTRAINED network: InceptionV3"
    assert note.lines[1].startswith("This network has seeded RANDOM weights")
    assert "MEANINGLESS" in note.lines[1] and "font-weight:bold" in note._repr_html_()
    assert repr(note).upper().count("UNTRAINED") == 1  # said once
    assert not repr(note).startswith("Predictions by")  # not counted as the page's network

    escaped = _Net()
    escaped.description = "<script>"
    assert "&lt;script&gt;" in plotting.ModelNote(escaped)._repr_html_()

    assert plotting.model_note(_Net()) is None  # no Out: in a notebook
    assert capsys.readouterr().out == (
        "Predictions by: MobileNetV2 1.0 (int8), real ImageNet weights\n"
    )
