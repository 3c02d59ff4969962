"""explain() checks its input once, at the door, then runs steps that trust it (issue 20).

Every ``helpers`` module that imported a check gets a counting spy in its place, so a check
called under any name, from any module, is counted.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import helpers.explain  # noqa: F401  (loads every module explain() uses)
from helpers import perturbation, segmentation, setting_checks, validation

COUNTED = {
    "relabel": segmentation,
    "check_image": validation,
    "check_samples": validation,
    "check_labels": validation,
    "check_batch_size": validation,
    "check_segments": validation,
    "check_hide_color": setting_checks,
    "check_hide_color_range": setting_checks,
    "check_kernel_width": setting_checks,
    "hidden_image": perturbation,
    "_hidden_image": perturbation,
}


@pytest.fixture
def calls(monkeypatch):
    """Name -> number of calls, for every function of COUNTED, wherever it was imported."""
    counts = dict.fromkeys(COUNTED, 0)
    for name, home in COUNTED.items():
        original = getattr(home, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        for module_name, module in list(sys.modules.items()):
            if module_name.startswith("helpers") and getattr(module, name, None) is original:
                monkeypatch.setattr(module, name, spy)
    return counts


def _image() -> np.ndarray:
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = 200
    return image


def _model(images: np.ndarray) -> np.ndarray:
    bright = images[:, 8:24, 8:24].astype(np.float64).mean(axis=(1, 2, 3)) / 255
    return np.stack([1 - bright, bright], axis=1)


@pytest.mark.parametrize("recipe", ["lime", "paper", "matlab"])
def test_explain_with_given_segments_and_samples_checks_each_once(calls, recipe):
    from helpers.explain import explain

    segments = np.repeat(np.arange(8), 4)[None].repeat(32, axis=0) * 3  # labels with gaps
    samples = np.random.default_rng(0).integers(0, 2, (30, 8))
    samples[0] = 1
    explain(_image(), _model, segments=segments, samples=samples, recipe=recipe,
            labels=[1], random_state=0, progress=False, cache=False)  # fmt: skip
    assert calls["relabel"] == 1
    assert calls["check_image"] == 1
    assert calls["check_samples"] == 1
    assert calls["check_labels"] == 1
    assert calls["check_batch_size"] == 1
    assert calls["check_segments"] == 1
    # the settings are checked when made (at most once: the recipe's own were checked when
    # RECIPES was built), the fill against the image once, the hidden image made once: the
    # paper's pixel distance reuses the one the perturbed images were made from
    assert calls["check_hide_color"] == (recipe == "paper")  # "gray" -> 154: one new Settings
    assert calls["check_kernel_width"] == (recipe == "paper")
    assert calls["check_hide_color_range"] == 1
    assert (calls["hidden_image"], calls["_hidden_image"]) == (0, 1)


def test_explain_that_segments_and_draws_checks_each_once(calls):
    from helpers.explain import explain

    explain(_image(), _model, segmentation="grid", segmentation_params={"n_rows": 4},
            num_samples=40, recipe="paper", labels=[1], random_state=0, progress=False,
            cache=False)  # fmt: skip
    assert calls["relabel"] == 1  # the segmentation's labels, made 0..S-1 once
    assert calls["check_image"] == 1
    assert calls["check_samples"] == 0  # drawn here, not given
    assert calls["check_labels"] == 1
    assert calls["_hidden_image"] == 1


def test_no_kernel_is_evaluated_to_check_a_width(monkeypatch):
    """Settings are checked by rule (validation.check_kernel_width), not by a trial run."""
    from helpers import kernels
    from helpers.recipes import resolve

    evaluated = []
    monkeypatch.setattr(kernels, "_exponential_kernel", lambda *a: evaluated.append(a))
    resolve("paper", _image(), kernel_width=0.5)
    with pytest.raises(ValueError, match="kernel_width"):
        resolve("lime", kernel_width=-1.0)
    assert evaluated == []


def test_explain_in_rounds_checks_each_once(calls):
    """num_samples="auto" fits after every round, but checks and builds the hidden image once."""
    from helpers.explain import explain

    e = explain(_image(), _model, segmentation="grid", segmentation_params={"n_rows": 4},
                num_samples="auto", max_samples=512, labels=[1], hide_color=0, random_state=0,
                progress=False, cache=False)  # fmt: skip
    assert len(e.params["auto_samples"]["rounds"]) >= 2  # more than one round was fitted
    assert calls["relabel"] == 1
    assert calls["check_image"] == 1
    assert calls["check_samples"] == 0
    assert calls["check_labels"] == 1  # on the original's scores, after the first round
    assert calls["check_hide_color_range"] == 1
    assert (calls["hidden_image"], calls["_hidden_image"]) == (0, 1)
