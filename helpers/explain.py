"""The whole of LIME in one call: :func:`explain`, its recipes, and fitting without models.

Introduced in ``notebooks/04_kernel_weighting.ipynb``, which compares sampling designs with
:func:`explain`; ``notebooks/06_explaining_predictions.ipynb`` presents it. :func:`explain`
chains the steps of the earlier notebooks: :mod:`~helpers.segmentation`,
:mod:`~helpers.perturbation`, :mod:`~helpers.prediction`, :mod:`~helpers.kernels` and
:mod:`~helpers.surrogates`, and returns an :class:`~helpers.explanation.Explanation`.
:func:`fit_explanation` does the last two steps alone, from samples and predictions already made
(no model calls); it is what :meth:`Explanation.refit <helpers.explanation.Explanation.refit>`
uses.

Differences from ``lime.lime_image`` (each deliberate): every random choice comes from
``random_state`` (the seed drawn when it is ``None`` is recorded); ``labels``, when given, is
what gets explained (lime ignores it when ``top_labels`` is set); segment labels need not
start at 0 or be contiguous; perturbed images are built per batch without a Python loop.
For the same segments, samples and fill the numbers equal lime's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .explanation import Explanation, jsonable
from .kernels import DISTANCES, exponential_kernel, sample_distances
from .paper import GRAY
from .perturbation import draw_samples, hidden_image
from .prediction import predict_samples
from .segmentation import num_superpixels, relabel, segment
from .surrogates import SURROGATES, SurrogateFit, fit_surrogate
from .validation import (
    check_batch_size,
    check_image,
    check_labels,
    check_num_samples,
    check_random_state,
    check_samples,
    check_segments,
)

__all__ = [
    "RECIPES",
    "UNSET",
    "ConstantPredictionWarning",
    "explain",
    "fit_explanation",
    "fit_label",
    "resolve_recipe",
    "sample_weights",
]

#: The three recipes of LIME for images, as presets of :func:`explain` (each part can still be
#: set explicitly). ``"gray"`` is the paper's Figure 4 gray (154 of 255) in the image's scale.
RECIPES: dict[str, dict[str, Any]] = {
    # lime 0.2.0.1's LimeImageExplainer defaults.
    "lime": {
        "design": "bernoulli",
        "distance": "cosine",
        "kernel": "lime",
        "kernel_width": 0.25,
        "surrogate": "ridge",
        "num_features": None,
        "hide_color": None,
    },
    # The KDD'16 paper: uniform number of kept superpixels, exp(-D^2/sigma^2) on an L2 pixel
    # distance, K-LASSO with K = 10, hidden superpixels gray as in its Figure 4. The paper
    # gives no sigma for images; 0.25 on the relative distance is this project's choice.
    "paper": {
        "design": "uniform_count",
        "distance": "pixel_l2",
        "kernel": "paper",
        "kernel_width": 0.25,
        "surrogate": "k_lasso",
        "num_features": 10,
        "hide_color": "gray",
    },
    # The MATLAB write-up: per-sample keep rate, black fill, fraction hidden as distance,
    # exp(-d^2/sigma^2) with sigma = 0.35, weighted least squares.
    "matlab": {
        "design": "keep_rate",
        "distance": "hidden_fraction",
        "kernel": "paper",
        "kernel_width": 0.35,
        "surrogate": "ols",
        "num_features": None,
        "hide_color": 0,
    },
}


class _Unset:
    """Marks an :func:`explain` argument left to the recipe."""

    def __repr__(self) -> str:
        return "<from recipe>"


UNSET: Any = _Unset()


def resolve_recipe(recipe: str, image_dtype: np.dtype, **given: Any) -> dict[str, Any]:
    """The settings of ``recipe`` with every explicitly given (not ``UNSET``) value on top.

    Belongs with ``notebooks/07_paper_figures.ipynb``, which compares the recipes through
    ``explain(..., recipe=...)``; no notebook calls it. ``hide_color="gray"`` becomes the
    paper's gray in the image's scale (154 for uint8, 154/255 for floats).

    Parameters
    ----------
    recipe
        A key of :data:`RECIPES`: ``"lime"``, ``"paper"`` or ``"matlab"``.
    image_dtype
        The dtype of the image explained (it sets the scale of ``"gray"``).
    **given
        Settings of the recipe (``design``, ``distance``, ``kernel``, ``kernel_width``,
        ``surrogate``, ``num_features``, ``hide_color``); those equal to :data:`UNSET` are
        left to the recipe.

    Returns
    -------
    dict
        All seven settings, checked.

    Raises
    ------
    ValueError
        For an unknown recipe, distance, surrogate or kernel, or a kernel width that is not
        positive.
    TypeError
        For a keyword that is not a setting of the recipes.

    Examples
    --------
    >>> resolve_recipe("paper", np.uint8)["hide_color"]
    154
    >>> settings = resolve_recipe("lime", np.float32, kernel_width=0.5, surrogate=UNSET)
    >>> settings["kernel_width"], settings["surrogate"]
    (0.5, 'ridge')
    """
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}; choose one of {tuple(RECIPES)}.")
    settings = dict(RECIPES[recipe])
    unknown = set(given) - set(settings)
    if unknown:
        raise TypeError(f"resolve_recipe got unknown settings {sorted(unknown)}.")
    settings.update({k: v for k, v in given.items() if v is not UNSET})
    if settings["distance"] not in DISTANCES:
        raise ValueError(f"Unknown distance {settings['distance']!r}; choose one of {DISTANCES}.")
    if settings["surrogate"] not in SURROGATES:
        raise ValueError(
            f"Unknown surrogate {settings['surrogate']!r}; choose one of {SURROGATES}."
        )
    exponential_kernel(np.zeros(1), settings["kernel_width"], kernel=settings["kernel"])  # checks
    if isinstance(settings["hide_color"], str) and settings["hide_color"] == "gray":
        gray = GRAY if np.dtype(image_dtype) == np.uint8 else GRAY / 255.0
        settings["hide_color"] = gray
    return settings


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
    distance: str = "cosine",
    kernel: str = "lime",
    kernel_width: float = 0.25,
    image: np.ndarray | None = None,
    segments: np.ndarray | None = None,
    hide_color: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's distance to the original and its kernel weight.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``, which weights the paper's samples
    with it; ``notebooks/04_kernel_weighting.ipynb`` computes the same distances and weights
    step by step. :func:`fit_explanation` and :mod:`helpers.metrics` call it too.

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
    distances, weights
        Two ``(N,)`` float arrays.

    Raises
    ------
    ValueError
        For ``distance="pixel_l2"`` without ``image`` and ``segments``, and as
        :func:`helpers.kernels.sample_distances` and
        :func:`helpers.kernels.exponential_kernel`.

    Examples
    --------
    >>> d, w = sample_weights(np.array([[1, 1, 1, 1], [1, 0, 0, 0]]))
    >>> np.round(d, 3).tolist(), np.round(w, 3).tolist()
    ([0.0, 0.5], [1.0, 0.135])
    """
    hidden = None
    if distance == "pixel_l2":
        if image is None or segments is None:
            raise ValueError("distance='pixel_l2' needs the image and its segments.")
        hidden = hidden_image(image, segments, hide_color)
    distances = sample_distances(samples, distance, image=image, hidden=hidden, segments=segments)
    return distances, exponential_kernel(distances, kernel_width, kernel=kernel)


def fit_label(
    samples: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    *,
    surrogate: str = "ridge",
    num_features: int | None = None,
    label: int | None = None,
) -> SurrogateFit:
    """LIME's surrogate for one label; a constant target gives exactly zero weights.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`fit_explanation` and the explorer do).

    Parameters
    ----------
    samples, target, weights
        ``(N, S)`` 0/1 rows, ``(N,)`` the model's score for the label, ``(N,)`` kernel weights.
    surrogate, num_features
        See :func:`helpers.surrogates.fit_surrogate`.
    label
        Only for the warning's text.

    Returns
    -------
    SurrogateFit

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
    target = np.asarray(target, dtype=np.float64)
    if np.ptp(target) == 0.0:
        warnings.warn(
            f"The model's score for label {label} is the same ({target[0]:.6g}) for every "
            "sample, so no superpixel matters to it: all weights are zero. Check that the "
            "model responds to the image (and that hide_color differs from the image).",
            ConstantPredictionWarning,
            stacklevel=4,
        )
        # Exactly zero weights, a surrogate that predicts the constant (R² = 1 as sklearn).
        S = np.asarray(samples).shape[1]
        return SurrogateFit(
            coef=np.zeros(S),
            intercept=float(target[0]),
            score=1.0,
            local_pred=float(target[0]),
            selected=np.arange(S),
        )
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below, with the fix
        fit = fit_surrogate(samples, target, weights, method=surrogate, num_features=num_features)
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
    hide_color: Any = None,
    distance: str = "cosine",
    kernel: str = "lime",
    kernel_width: float = 0.25,
    surrogate: str = "ridge",
    num_features: int | None = None,
    params: dict[str, Any] | None = None,
) -> Explanation:
    """Weight samples already predicted and fit one surrogate per label: no model calls.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb`` (``Explanation.refit``).

    Parameters
    ----------
    image, segments
        The image explained and its superpixels (made contiguous here).
    samples, predictions
        ``(N, S)`` 0/1 rows and the model's ``(N, K)`` scores on their perturbed images,
        made with ``hide_color``.
    labels
        The labels to explain.
    hide_color, distance, kernel, kernel_width, surrogate, num_features
        As in :func:`explain`.
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
    segments = relabel(segments)
    samples = check_samples(samples, num_superpixels(segments), original_first=True)
    predictions = np.asarray(predictions, dtype=np.float64)
    labels = check_labels(labels, None, predictions[0])
    distances, weights = sample_weights(
        samples, distance=distance, kernel=kernel, kernel_width=kernel_width, image=image,
        segments=segments, hide_color=hide_color,
    )  # fmt: skip
    fits = {
        label: fit_label(
            samples,
            predictions[:, label],
            weights,
            surrogate=surrogate,
            num_features=num_features,
            label=label,
        )
        for label in labels
    }
    recorded = {
        **(params or {}),
        "num_samples": len(samples),
        "distance": distance,
        "kernel": kernel,
        "hide_color": hide_color,
        "kernel_width": kernel_width,
        "surrogate": surrogate,
        "num_features": num_features,
    }
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


def explain(
    image: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    *,
    segments: np.ndarray | None = None,
    segmentation: str = "quickshift",
    segmentation_params: dict[str, Any] | None = None,
    samples: np.ndarray | None = None,
    num_samples: int = 1000,
    recipe: str = "lime",
    design: str = UNSET,
    hide_color: Any = UNSET,
    distance: str = UNSET,
    kernel: str = UNSET,
    kernel_width: float = UNSET,
    labels: Sequence[int] | None = None,
    top_labels: int | None = 5,
    surrogate: str = UNSET,
    num_features: int | None = UNSET,
    batch_size: int = 32,
    random_state: int | np.random.Generator | None = None,
    progress: bool = True,
    cache: bool | None = None,
) -> Explanation:
    """Explain ``classifier_fn``'s prediction on ``image`` with LIME.

    Introduced in ``notebooks/04_kernel_weighting.ipynb`` (comparing sampling designs);
    ``notebooks/06_explaining_predictions.ipynb`` presents it. The steps: segment (unless
    ``segments`` are given), draw samples (unless given), predict every perturbed image
    (:func:`helpers.prediction.predict_samples`), weight the samples and fit one surrogate
    per label (:func:`fit_explanation`).

    Parameters
    ----------
    image
        ``(H, W, 3)`` uint8 or float in [0, 1]; ``(H, W)`` grayscale and RGBA are converted.
    classifier_fn
        Batch of images ``(B, H, W, 3)`` (same dtype as ``image``) to ``(B, K)`` scores, e.g.
        :func:`helpers.models.classifier_fn`.
    segments
        Your own superpixels ``(H, W)`` (any integer labels; made contiguous from 0); by
        default ``segment(image, segmentation, **segmentation_params)``.
    samples
        Your own ``(N, S)`` 0/1 samples (row 0 should be all ones, the original); by default
        ``num_samples`` samples drawn from ``random_state`` with ``design``.
    num_samples
        How many samples to draw (at least 2; lime's default is 1000).
    recipe
        A preset of the six settings below (:data:`RECIPES`): ``"lime"`` (the default, equal
        to the ``lime`` package), ``"paper"`` (the KDD'16 paper) or ``"matlab"`` (the MATLAB
        write-up). Any setting given explicitly overrides the recipe's.
    segmentation, segmentation_params
        The method of :func:`helpers.segmentation.segment` and its keyword arguments, used
        when ``segments`` is not given.
    design
        How the samples are drawn (:func:`helpers.perturbation.draw_samples`): lime's
        ``"bernoulli"``, ``"antithetic"``, ``"stratified"``, ``"sobol"``, the paper's
        ``"uniform_count"`` or the MATLAB ``"keep_rate"``.
    hide_color
        Fill of hidden superpixels: ``None`` (segment mean), a number/RGB triple in the image's
        scale, ``"gray"`` (the paper's) or ``"blur"``.
    distance, kernel, kernel_width
        Distance of each sample to the original (:data:`helpers.kernels.DISTANCES`:
        ``"cosine"``, ``"hidden_fraction"``, ``"pixel_l2"``) and the kernel on it
        (``"lime"`` or ``"paper"``, see :func:`helpers.kernels.exponential_kernel`).
    labels
        Labels to explain. When given, exactly these (``top_labels`` is ignored).
    top_labels
        Otherwise, explain the ``top_labels`` labels with the highest score on the original.
    surrogate, num_features
        See :func:`helpers.surrogates.fit_surrogate`.
    batch_size
        Images per classifier call; memory is bounded by one batch.
    random_state
        Seed (int) or Generator for segmentation and sampling. ``None`` draws a fresh seed and
        records it in ``Explanation.params["seed"]``, so every explanation can be repeated.
    progress
        Show a progress bar over the model calls.
    cache
        Reuse predictions stored by an earlier identical run (see :mod:`helpers.cache`);
        ``None`` follows ``LIME_TUTORIAL_PREDICTION_CACHE``.

    Returns
    -------
    Explanation
        Every intermediate and one surrogate fit per label; ``params`` records every setting
        and the seed, so the same call gives the same explanation, bit for bit.

    Raises
    ------
    ValueError, TypeError
        For an image, segments, samples, labels, setting or ``batch_size`` that the checks
        of :mod:`helpers.validation` (or :func:`resolve_recipe`) refuse, each with the fix;
        ``ValueError`` also when the segmentation finds a single superpixel, or the
        classifier's output is not ``(B, K)`` finite numbers.

    Warns
    -----
    ConstantPredictionWarning
        For a label whose score never changes: its weights are all zero.

    Examples
    --------
    A model that looks only at the bright square in the middle of the image; hiding a
    superpixel paints it black (``hide_color=0``):

    >>> from helpers import toy_models
    >>> image = np.zeros((32, 32, 3), np.uint8)
    >>> image[8:24, 8:24] = 200
    >>> model = toy_models.region_classifier(image, image[..., 0] > 0)
    >>> e = explain(image, model, segmentation="grid", segmentation_params={"n_rows": 4},
    ...             num_samples=200, labels=[1], hide_color=0, random_state=0, progress=False)
    >>> sorted(j for j, w in e.as_list(1)[:4])  # the four central cells of the 4 x 4 grid
    [5, 6, 9, 10]
    """
    image = check_image(image)
    settings = resolve_recipe(
        recipe, image.dtype, design=design, hide_color=hide_color, distance=distance,
        kernel=kernel, kernel_width=kernel_width, surrogate=surrogate, num_features=num_features,
    )  # fmt: skip
    batch_size = check_batch_size(batch_size)
    rng, seed = check_random_state(random_state)
    segmentation_params = dict(segmentation_params or {})
    if segments is None:
        segmentation_seed = int(rng.integers(2**31 - 1))
        segments = segment(
            image, segmentation, random_state=segmentation_seed, **segmentation_params
        )
    else:
        segmentation_seed = None
        segments = relabel(check_segments(segments, image.shape))
    S = num_superpixels(segments)
    if S < 2:
        raise ValueError(
            "The segmentation found a single superpixel. Fix: pass segmentation_params for a "
            "finer segmentation (e.g. a smaller kernel_size) or your own segments."
        )
    samples_drawn = samples is None
    if samples_drawn:
        samples = draw_samples(check_num_samples(num_samples), S, rng, design=settings["design"])
    else:
        samples = check_samples(samples, S, original_first=True)

    predictions = predict_samples(
        image, segments, samples, classifier_fn, hide_color=settings["hide_color"],
        batch_size=batch_size, progress=progress, cache=cache,
    )  # fmt: skip
    explained = check_labels(labels, top_labels, predictions[0])
    params = {
        "seed": seed,
        "segmentation": None if segmentation_seed is None else segmentation,
        "segmentation_params": segmentation_params,
        "segmentation_seed": segmentation_seed,
        "recipe": recipe,
        "design": settings["design"] if samples_drawn else None,
    }
    return fit_explanation(
        image, segments, samples, predictions, explained, params=params,
        **{k: v for k, v in settings.items() if k != "design"},
    )  # fmt: skip
