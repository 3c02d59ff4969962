"""The explorer's widgets without a browser: clicks, controls and what they display."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import data, models
from helpers.explain import explain
from helpers.explorer_app import (
    IMAGE_CLASS,
    MODEL_CLASS,
    SURROGATE_CLASS,
    ExplorerApp,
    format_number,
    scatter_svg,
)

REPO = Path(__file__).resolve().parents[1]


class Counting:
    def __init__(self, model):
        self.model, self.images = model, 0
        self.class_names, self.display_name = model.class_names, model.display_name
        self.fail = False

    def __call__(self, images):
        if self.fail:
            raise RuntimeError("the model failed")
        self.images += len(images)
        return self.model(images)


@pytest.fixture(scope="module")
def inputs(data_root):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        model = models.load_model("mobilenet_v2")
        frog = data.load_image("red_eyed_tree_frog.jpg", size=model.input_size)
    e = explain(frog, model, num_samples=80, top_labels=1, random_state=5, progress=False)
    return e, model


@pytest.fixture
def app(inputs):
    e, model = inputs
    return ExplorerApp.from_explanation(e, Counting(model))


def _shown(app, css):
    match = re.search(rf"class='{css}' data-value='([^']+)'[^>]*>([^<]+)<", app.numbers.value)
    return float(match.group(1)), match.group(2)


def _click(app, row, col):
    """A click as ipyevents delivers it: a comm message with the image coordinates."""
    event = {"type": "click", "dataX": col * app.scale + 1, "dataY": row * app.scale + 1}
    app._events._handle_mouse_msg(None, event, None)


def test_displays_the_states_numbers_exactly(app):
    st = app.state
    assert _shown(app, MODEL_CLASS) == (st.model_probability, format_number(st.model_probability))
    assert _shown(app, SURROGATE_CLASS) == (
        st.surrogate_prediction,
        format_number(st.surrogate_prediction),
    )
    assert IMAGE_CLASS in app.image._dom_classes
    width = st.segments.shape[1]
    assert app.image.layout.width == f"{width * app.scale}px"
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert app.scatter.value.count("<circle") == 1


def test_a_click_toggles_the_superpixel_under_it_and_redraws(app):
    st = app.state
    row, col = 150, 60
    j = st.superpixel_at(row, col)
    before = app.image.value
    _click(app, row, col)
    assert st.sample[j] == 0 and st.sample.sum() == st.num_superpixels - 1
    assert _shown(app, MODEL_CLASS)[0] == st.model_probability
    assert _shown(app, SURROGATE_CLASS)[0] == st.intercept + st.coef @ st.sample
    assert app.image.value != before and app.scatter.value.count("<circle") == 2
    assert app.status.value == ""
    assert 0 < app.last_update_seconds < 5
    assert app.render().shape == (2 * st.segments.shape[0], 2 * st.segments.shape[1], 3)
    _click(app, row, col)  # again: shown again
    assert st.sample.all()


def test_a_click_shows_that_superpixels_weight_and_its_interval(app):
    from helpers.uncertainty import normal_intervals

    st = app.state
    assert "lime-explorer-interval" not in app.numbers.value  # nothing clicked yet
    row, col = 150, 60
    j = st.superpixel_at(row, col)
    _click(app, row, col)
    low, high = normal_intervals(st.fit.coef, st.fit.coef_se, 0.9)
    shown = re.search(r"data-low='([^']+)' data-high='([^']+)'", app.numbers.value)
    assert (float(shown[1]), float(shown[2])) == (low[j], high[j])
    assert low[j] < st.coef[j] < high[j] and f"superpixel {j}: weight" in app.numbers.value
    app.kernel_width.value = 0.5  # another surrogate: its own interval
    low, high = normal_intervals(st.fit.coef, st.fit.coef_se, 0.9)
    shown = re.search(r"data-low='([^']+)' data-high='([^']+)'", app.numbers.value)
    assert (float(shown[1]), float(shown[2])) == (low[j], high[j])


def test_a_click_on_the_images_last_pixel_is_inside(app):
    st = app.state
    h, w = st.segments.shape
    app.click(h * app.scale, w * app.scale)  # the browser can round up to the edge
    assert st.sample[st.superpixel_at(h - 1, w - 1)] == 0


def test_controls_drive_the_state(app):
    st, model = app.state, app.state.model
    app.show_top.click()
    assert st.sample.sum() == min(5, int((st.coef > 0).sum()))
    app.reset.click()
    assert st.sample.all()
    calls = model.images
    app.kernel_width.value = 0.5
    assert st.kernel_width == 0.5 and model.images == calls  # refit, no model calls
    assert _shown(app, SURROGATE_CLASS)[0] == st.surrogate_prediction
    other = app.label.options[1][1]
    app.label.value = other
    assert st.label == other and model.images == calls
    assert f"({other})" in app.numbers.value
    app.hide_color.value = "black"
    assert st.hide_color == 0 and model.images > calls
    assert _shown(app, MODEL_CLASS)[0] == st.model_probability
    assert app.label.options[0][0].startswith("tree_frog")


def test_an_error_is_shown_in_the_status_line_not_raised(app):
    app._events._handle_mouse_msg(None, {"type": "click"}, None)  # no coordinates
    assert "KeyError" in app.status.value
    _click(app, 10, 10)
    assert app.status.value == ""


def test_a_refused_change_sets_the_control_back_and_leaves_the_numbers(app):
    st, model = app.state, app.state.model
    shown = app.numbers.value
    model.fail = True  # predicting the samples with another hide color fails
    app.hide_color.value = "black"
    assert "RuntimeError: the model failed" in app.status.value
    assert st.hide_color is None and app.hide_color.value == "segment mean"
    assert app.numbers.value == shown
    model.fail = False
    app.hide_color.value = "black"  # the same choice again now works
    assert st.hide_color == 0 and app.status.value == ""


def test_scatter_covers_values_outside_zero_one():
    svg = scatter_svg(np.array([[0.2, -0.3], [0.9, 1.4]]))
    assert svg.count("<circle") == 2 and ">-0.3<" in svg and ">1.4<" in svg
    assert 'fill="#d62728"' in svg  # the last pair highlighted


def test_the_voila_notebook_only_builds_the_app_through_helpers():
    import nbformat

    nb = nbformat.read(REPO / "apps" / "explorer.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "ExplorerApp.default()" in code[0]
    assert all(c.get("outputs") == [] for c in nb.cells if c.cell_type == "code")


def test_the_benchmark_runs_without_a_browser(offline_data):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_explorer.py"), "--quick", "--no-browser"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    assert re.search(r"in Python: median [\d.]+ ms", out), out
