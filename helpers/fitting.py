"""Steps 4 and 5 of LIME without a model: weight the samples, fit one surrogate per label.

Introduced in ``notebooks/05_surrogate_fitting.ipynb`` (:func:`sample_weights`);
``notebooks/09_evaluating_explanations.ipynb`` fits explanations from samples and predictions
already made (:func:`fit_explanation`) and refits them with other settings (:func:`refit`).
Nothing here calls a model. This module builds the record
(:class:`~helpers.explanation.Explanation`); the record never imports it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .explanation import Explanation
from .files import jsonable
from .kernels import KERNELS, _exponential_kernel, sample_distances
from .perturbation import _hidden_image
from .recipes import FROM_RECIPE, FromRecipe, Settings, resolve
from .segmentation import num_superpixels, relabel
from .setting_checks import check_choice, check_hide_color, check_kernel_width, check_num_features
from .surrogates import (
    SURROGATES,
    SurrogateFit,
    _checked_fit_input,
    _fit_surrogate,
    _standard_errors,
)
from .validation import check_labels, check_samples

__all__ = [
    "REFIT_SETTINGS",
    "ConstantPredictionWarning",
    "fit_explanation",
    "fit_label",
    "refit",
    "sample_weights",
]

#: What :func:`refit` can change: everything that needs no new model calls.
REFIT_SETTINGS = ("surrogate", "num_features", "kernel", "kernel_width", "distance", "labels")


class ConstantPredictionWarning(UserWarning):
    """The model gave the same score to every sample, so the explanation is all zeros.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook names it (it is
    what :func:`fit_label` warns with).

    Parameters
    ----------
    message
        Which label, its constant score, and what to check.
    """


def sample_weights(
    samples: np.ndarray,
    *,
    distance: str = Settings.distance,
    kernel: str = Settings.kernel,
    kernel_width: float = Settings.kernel_width,
    image: np.ndarray | None = None,
    segments: np.ndarray | None = None,
    hide_color: Any = Settings.hide_color,
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's distance to the original and its kernel weight.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``, which weights the paper's samples
    with it; ``notebooks/04_kernel_weighting.ipynb`` computes the same distances and weights
    step by step. :func:`fit_explanation` and :mod:`helpers.metrics` use it too. The
    defaults are lime's (:class:`helpers.recipes.Settings`).

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows.
    distance, kernel, kernel_width
        See :data:`helpers.kernels.DISTANCES` and :func:`helpers.kernels.exponential_kernel`.
    image, segments, hide_color
        Needed by ``distance="pixel_l2"`` only (the pixels each sample changes).

    Returns
    -------
    distances, kernel_weights
        Two ``(N,)`` float arrays.

    Raises
    ------
    ValueError
        For ``distance="pixel_l2"`` without ``image`` and ``segments``, an unknown distance or
        kernel, or a kernel width :func:`helpers.setting_checks.check_kernel_width` refuses.

    Examples
    --------
    >>> d, w = sample_weights(np.array([[1, 1, 1, 1], [1, 0, 0, 0]]))
    >>> np.round(d, 3).tolist(), np.round(w, 3).tolist()
    ([0.0, 0.5], [1.0, 0.135])
    """
    check_choice(kernel, KERNELS, "kernel")
    width = check_kernel_width(kernel_width)
    hidden = None
    if distance == "pixel_l2":
        if image is None or segments is None:
            raise ValueError("distance='pixel_l2' needs the image and its segments.")
        image, segments = np.asarray(image), relabel(segments)
        hidden = _hidden_image(image, segments, check_hide_color(hide_color, image))
    return _sample_weights(samples, distance, kernel, width, image, segments, hidden)


def _sample_weights(samples, distance, kernel, kernel_width, image, segments, hidden):
    """:func:`sample_weights` for checked settings and the hidden image already made."""
    distances = sample_distances(samples, distance, image=image, hidden=hidden, segments=segments)
    return distances, _exponential_kernel(distances, kernel_width, kernel)


def fit_label(
    samples: np.ndarray,
    target: np.ndarray,
    kernel_weights: np.ndarray,
    *,
    surrogate: str = Settings.surrogate,
    num_features: int | None = Settings.num_features,
    label: int | None = None,
) -> SurrogateFit:
    """LIME's surrogate for one label; a constant target gives exactly zero weights.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`fit_explanation` and the explorer do). Same arguments, in the same order, as
    :func:`helpers.surrogates.fit_surrogate`, which it calls.

    Parameters
    ----------
    samples, target, kernel_weights
        ``(N, S)`` 0/1 rows, ``(N,)`` the model's score for the label, ``(N,)`` kernel
        weights.
    surrogate, num_features
        See :func:`helpers.surrogates.fit_surrogate`.
    label
        Only for the messages.

    Returns
    -------
    SurrogateFit

    Raises
    ------
    ValueError
        As :func:`helpers.surrogates.fit_surrogate`.
    FloatingPointError
        When the scores are so large that the least squares overflow.

    Warns
    -----
    ConstantPredictionWarning
        When the target is the same for every sample: no superpixel matters to it.

    Examples
    --------
    >>> import warnings
    >>> z = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    >>> (fit_label(z, 0.8 * z[:, 0], np.ones(4), surrogate="ols").coef.round(6) + 0.0).tolist()
    [0.8, 0.0]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     flat = fit_label(z, np.full(4, 0.3), np.ones(4), label=7)
    >>> flat.coef.tolist(), flat.intercept, caught[0].category.__name__
    ([0.0, 0.0], 0.3, 'ConstantPredictionWarning')
    """
    X, y, w = _checked_fit_input(samples, target, kernel_weights)
    check_choice(surrogate, SURROGATES, "surrogate")
    return _fit_label(X, y, w, surrogate, check_num_features(num_features), label)


def _fit_label(X, target, weights, surrogate, num_features, label, stacklevel=3):
    """:func:`fit_label` for checked float64 input."""
    if np.ptp(target) == 0.0:
        warnings.warn(
            f"The model's score for label {label} is the same ({target[0]:.6g}) for every "
            "sample, so no superpixel matters to it: all weights are zero. Check that the "
            "model responds to the image (and that hide_color differs from the image).",
            ConstantPredictionWarning,
            stacklevel=stacklevel,
        )
        # Exactly zero weights, a surrogate that predicts the constant (R² = 1 as sklearn),
        # and nothing left to vary: standard errors 0 (nan without enough samples).
        S = X.shape[1]
        coef_se, intercept_se = _standard_errors(X, np.zeros(len(X)), weights, 0.0, np.arange(S))
        return SurrogateFit(
            coef=np.zeros(S),
            intercept=float(target[0]),
            score=1.0,
            local_pred=float(target[0]),
            selected=np.arange(S),
            coef_se=coef_se,
            intercept_se=intercept_se,
        )
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below, with the fix
        fit = _fit_surrogate(X, target, weights, surrogate, num_features)
    numbers = [*fit.coef, fit.intercept, fit.score, fit.local_pred]
    if not np.isfinite(numbers).all():
        raise FloatingPointError(
            f"The surrogate for label {label} could not be fitted: the model's scores span "
            f"[{target.min():.3g}, {target.max():.3g}] and the weighted least squares "
            "overflowed. Fix: have the classifier return probabilities (or scores of moderate "
            "size, e.g. divide logits by their largest magnitude)."
        )
    return fit


def fit_explanation(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    predictions: np.ndarray,
    labels: Sequence[int],
    *,
    settings: str | Settings = "lime",
    hide_color: Any = FROM_RECIPE,
    distance: str | FromRecipe = FROM_RECIPE,
    kernel: str | FromRecipe = FROM_RECIPE,
    kernel_width: float | FromRecipe = FROM_RECIPE,
    surrogate: str | FromRecipe = FROM_RECIPE,
    num_features: int | FromRecipe | None = FROM_RECIPE,
    params: dict[str, Any] | None = None,
) -> Explanation:
    """Weight samples already predicted and fit one surrogate per label: no model calls.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    image, segments
        The image explained and its superpixels (made contiguous here).
    samples, predictions
        ``(N, S)`` 0/1 rows and the model's ``(N, K)`` scores on their perturbed images,
        made with ``hide_color``.
    labels
        The labels to explain.
    settings
        A recipe's name or a :class:`helpers.recipes.Settings` (default: lime's).
    hide_color, distance, kernel, kernel_width, surrogate, num_features
        Override ``settings``, as in :func:`helpers.explain.explain`.
    params
        Other settings to record in ``Explanation.params`` (the seed, the segmentation...).

    Returns
    -------
    Explanation
        With ``params`` holding ``params``, ``num_samples`` and the six settings above.

    Raises
    ------
    ValueError
        If ``samples`` are not ``(N >= 2, S)`` 0/1 rows for the superpixels, or a label is
        outside the predictions' columns; and as :func:`sample_weights` and
        :func:`helpers.surrogates.fit_surrogate`.

    Warns
    -----
    ConstantPredictionWarning
        For a label whose score is the same on every sample (see :func:`fit_label`).

    Examples
    --------
    Samples and predictions from anywhere (here: all 8 samples of 3 superpixels and a model
    linear in them) are weighted and fitted, without a model:

    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
    >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
    >>> image = np.zeros((6, 6, 3), np.uint8)
    >>> e = fit_explanation(image, segments, z, scores, [1], surrogate="ols")
    >>> (e.coef[1].round(6) + 0.0).tolist(), e.params["num_samples"]
    ([0.5, 0.0, 0.25], 8)
    """
    image = np.asarray(image)
    resolved = resolve(
        settings, image, hide_color=hide_color, distance=distance, kernel=kernel,
        kernel_width=kernel_width, surrogate=surrogate, num_features=num_features,
    )  # fmt: skip
    segments = relabel(segments)
    samples = check_samples(samples, num_superpixels(segments), original_first=True)
    predictions = np.asarray(predictions, dtype=np.float64)
    labels = check_labels(labels, None, predictions[0])
    return _fit_explanation(image, segments, samples, predictions, labels, resolved, params)


def _fit_explanation(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    predictions: np.ndarray,
    labels: list[int],
    settings: Settings,
    params: dict[str, Any] | None,
    hidden: np.ndarray | None = None,
) -> Explanation:
    """:func:`fit_explanation` for checked input; ``hidden`` is reused when given."""
    if settings.distance == "pixel_l2" and hidden is None:
        hidden = _hidden_image(image, segments, settings.hide_color)
    distances, weights = _sample_weights(
        samples, settings.distance, settings.kernel, float(settings.kernel_width), image,
        segments, hidden,
    )  # fmt: skip
    far = distances > 0
    if far.any() and not (weights[far] > 0).any():  # only copies of the original weigh
        raise ValueError(
            f"kernel_width={settings.kernel_width!r} gives weight 0 to every sample but the "
            f"original (the smallest other distance is {distances[far].min():.3g}), so "
            "there is nothing to fit. Fix: use a width on the scale of the distances (lime: 0.25)."
        )
    X = samples.astype(np.float64)
    fits = {
        label: _fit_label(
            X,
            predictions[:, label],
            weights,
            settings.surrogate,
            settings.num_features,
            label,
            stacklevel=5,
        )
        for label in labels
    }
    recorded = {**(params or {}), "num_samples": len(samples), **settings.fit_params()}
    return Explanation(
        image=np.array(image),  # a copy: the explanation never aliases the caller's array
        segments=segments,
        samples=samples,
        predictions=predictions,
        distances=distances,
        kernel_weights=weights,
        labels=tuple(labels),
        fits=fits,
        params=jsonable(recorded),
    )


def refit(explanation: Explanation, **changes: Any) -> Explanation:
    """The same samples and predictions fitted again with other settings: no model calls.

    Introduced in ``notebooks/04_kernel_weighting.ipynb`` (the paper's kernel on lime's
    samples); notebooks 05 and 09 refit too.

    Parameters
    ----------
    explanation
        The explanation to refit.
    **changes
        Any of :data:`REFIT_SETTINGS` (``surrogate``, ``num_features``, ``kernel``,
        ``kernel_width``, ``distance``, ``labels``); the rest is the explanation's own
        (:meth:`helpers.recipes.Settings.from_params`). The hide color cannot
        change: the predictions were made with it.

    Returns
    -------
    Explanation
        What :func:`helpers.explain.explain` gives with these settings and the same
        samples, bit for bit.

    Raises
    ------
    TypeError
        For a setting that needs new predictions (``hide_color``, ``num_samples``...).

    Examples
    --------
    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
    >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
    >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z, scores, labels=[1])
    >>> ols = refit(e, surrogate="ols")  # no penalty: the model's own weights come back
    >>> (ols.coef[1].round(6) + 0.0).tolist(), ols.params["surrogate"]
    ([0.5, 0.0, 0.25], 'ols')
    """
    unknown = set(changes) - set(REFIT_SETTINGS)
    if unknown:
        raise TypeError(
            f"refit cannot change {sorted(unknown)}: only {sorted(REFIT_SETTINGS)} can change "
            "without new model calls. Fix: call explain(...) again for the others."
        )
    e = explanation
    labels = changes.pop("labels", e.labels)
    settings = e.settings.replace(**changes)
    predictions = np.asarray(e.predictions, dtype=np.float64)
    labels = check_labels(labels, None, predictions[0])
    return _fit_explanation(e.image, e.segments, e.samples, predictions, labels, settings, e.params)
