"""The whole of LIME in one call: :func:`explain`.

Introduced in ``notebooks/04_kernel_weighting.ipynb``, which compares sampling designs with
:func:`explain`; ``notebooks/06_explaining_predictions.ipynb`` presents it. :func:`explain`
checks its input once (:mod:`~helpers.validation`), resolves the settings
(:mod:`~helpers.recipes`), then chains the steps of the earlier notebooks, which trust what it
hands them: :mod:`~helpers.segmentation`, :mod:`~helpers.perturbation`,
:mod:`~helpers.prediction`, then :mod:`~helpers.fitting` (the kernel weights and one surrogate
per label), which returns an :class:`~helpers.explanation.Explanation`.

Differences from ``lime.lime_image`` (each deliberate): every random choice comes from
``random_state`` (the seed drawn when it is ``None`` is recorded); ``labels``, when given, is
what gets explained (lime ignores it when ``top_labels`` is set); segment labels need not
start at 0 or be contiguous; perturbed images are built per batch without a Python loop.
For the same segments, samples and hide color the numbers equal lime's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .auto_samples import AUTO_DESIGN, FIRST_ROUND, _explain_until_stable
from .explanation import Explanation
from .fitting import _fit_explanation
from .perturbation import _draw_samples, _hidden_image
from .prediction import _predict_samples
from .recipes import FROM_RECIPE, RECIPES, FromRecipe, Settings, resolve
from .segmentation import METHODS, _segment, num_superpixels, relabel
from .setting_checks import check_choice, check_stopping
from .uncertainty import MEASURES
from .validation import (
    check_batch_size,
    check_image,
    check_labels,
    check_num_samples,
    check_random_state,
    check_samples,
    check_segments,
)

__all__ = ["explain"]


def explain(
    image: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    *,
    segments: np.ndarray | None = None,
    segmentation: str = "quickshift",
    segmentation_params: dict[str, Any] | None = None,
    samples: np.ndarray | None = None,
    num_samples: int | str = 1000,
    max_samples: int = 5000,
    confidence: float = 0.95,
    k: int = 5,
    measure: str = "set",
    recipe: str | Settings = "lime",
    design: str | FromRecipe = FROM_RECIPE,
    hide_color: Any = FROM_RECIPE,
    distance: str | FromRecipe = FROM_RECIPE,
    kernel: str | FromRecipe = FROM_RECIPE,
    kernel_width: float | FromRecipe = FROM_RECIPE,
    labels: Sequence[int] | None = None,
    top_labels: int | None = 5,
    surrogate: str | FromRecipe = FROM_RECIPE,
    num_features: int | FromRecipe | None = FROM_RECIPE,
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
    per label (:func:`helpers.fitting.fit_explanation`).

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
        How many samples to draw (at least 2; lime's default is 1000), or ``"auto"``: draw
        in rounds (:mod:`helpers.auto_samples`: 128, then doubling) until the top ``k``
        superpixels of every label explained are stable with probability ``confidence``
        (:func:`helpers.uncertainty.top_k_stability`), or ``max_samples`` are used. Each
        round's samples are new (row 0 stays the original) and only they go to the model;
        the surrogates are fitted again after each round. Unless ``design`` is given, lime's
        fair coins become :data:`helpers.auto_samples.AUTO_DESIGN` (antithetic pairs: each
        row is still fair coins). ``params["num_samples"]`` is then the number used and
        ``params["auto_samples"]`` records the rounds, the stability after each and why
        sampling stopped (``"stable"`` or ``"max_samples"``). On real photos a top 5 that
        is stable at 0.95 often takes thousands of samples, or is never reached when two
        weights tie (``benchmarks/README.md``): read the record.
    max_samples, confidence, k, measure
        The stopping rule of ``num_samples="auto"`` (ignored otherwise): at most
        ``max_samples`` samples (at least 128), a probability in (0, 1), the size of the
        top set that must be stable (below the number of superpixels), and what must reach
        ``confidence`` (:data:`helpers.uncertainty.MEASURES`): ``"set"``, the probability
        that the whole top ``k`` stays, or ``"jaccard"``, the top ``k``'s expected Jaccard
        index with the top ``k`` of unlimited samples (never stricter; the benchmark
        measures what each costs and agrees).
    recipe
        A preset of the seven settings below (:data:`helpers.recipes.RECIPES`): ``"lime"``
        (the default, equal to the ``lime`` package), ``"paper"`` (the KDD'16 paper) or
        ``"matlab"`` (the MATLAB write-up), or a :class:`helpers.recipes.Settings`. Any
        setting given explicitly overrides the recipe's; those left at
        :data:`helpers.recipes.FROM_RECIPE` are the recipe's.
    segmentation, segmentation_params
        The method of :func:`helpers.segmentation.segment` and its keyword arguments, used
        when ``segments`` is not given.
    design
        How the samples are drawn (:func:`helpers.perturbation.draw_samples`): lime's
        ``"bernoulli"``, ``"antithetic"``, ``"stratified"``, ``"sobol"``, the paper's
        ``"uniform_count"`` or the MATLAB ``"keep_rate"``.
    hide_color
        What hidden superpixels become: ``None`` (segment mean), a number/RGB triple in the image's
        scale, ``"gray"`` (the paper's, :data:`helpers.paper.GRAY`) or ``"blur"``.
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
        records it in ``Explanation.params["random_state"]``, so every explanation can be
        repeated.
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
        of :mod:`helpers.validation` (or :func:`helpers.recipes.resolve`) refuse, each with the
        fix;
        ``ValueError`` also when the segmentation finds a single superpixel, or the
        classifier's output is not ``(B, K)`` finite numbers.

    Warns
    -----
    helpers.fitting.ConstantPredictionWarning
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

    With ``num_samples="auto"`` the samples come in rounds until the top ``k`` is stable. The
    four central cells are found after three rounds; a top 5 would need a fifth cell, and the
    twelve others tie, so no number of samples makes it stable:

    >>> four = explain(image, model, segmentation="grid", segmentation_params={"n_rows": 4},
    ...                num_samples="auto", k=4, max_samples=512, labels=[1], hide_color=0,
    ...                random_state=0, progress=False)
    >>> four.params["num_samples"], four.params["auto_samples"]["stopped"]
    (512, 'stable')
    >>> five = explain(image, model, segmentation="grid", segmentation_params={"n_rows": 4},
    ...                num_samples="auto", k=5, max_samples=512, labels=[1], hide_color=0,
    ...                random_state=0, progress=False)
    >>> five.params["auto_samples"]["stopped"], five.params["auto_samples"]["rounds"]
    ('max_samples', [128, 256, 512])
    """
    image = check_image(image)
    auto = isinstance(num_samples, str)
    if auto:
        max_samples, confidence, k = check_stopping(
            num_samples, max_samples, confidence, k, first_round=FIRST_ROUND,
            samples_given=samples is not None,
        )  # fmt: skip
        check_choice(measure, MEASURES, "measure")
        if design is FROM_RECIPE and _recipe_design(recipe) == "bernoulli":
            design = AUTO_DESIGN  # the same fair marginals, fewer calls for the same agreement
    settings = resolve(
        recipe, image, design=design, hide_color=hide_color, distance=distance, kernel=kernel,
        kernel_width=kernel_width, surrogate=surrogate, num_features=num_features,
    )  # fmt: skip
    batch_size = check_batch_size(batch_size)
    rng, seed = check_random_state(random_state)
    segmentation_params = dict(segmentation_params or {})
    if segments is None:
        check_choice(segmentation, METHODS, "segmentation method")
        segmentation_random_state = int(rng.integers(2**31 - 1))
        segments = _segment(image, segmentation, segmentation_random_state, segmentation_params)
    else:
        segmentation_random_state = None
        segments = relabel(check_segments(segments, image.shape))
    S = num_superpixels(segments)
    if S < 2:
        raise ValueError(
            "The segmentation found a single superpixel. Fix: pass segmentation_params for a "
            "finer segmentation (e.g. a smaller kernel_size) or your own segments."
        )
    samples_drawn = samples is None
    params = {
        "random_state": seed,
        "segmentation": None if segmentation_random_state is None else segmentation,
        "segmentation_params": segmentation_params,
        "segmentation_random_state": segmentation_random_state,
        "recipe": settings.recipe,
        "design": settings.design if samples_drawn else None,
    }
    hidden = _hidden_image(image, segments, settings.hide_color)  # made once, used twice

    def predict(rows: np.ndarray) -> np.ndarray:
        return _predict_samples(
            image, segments, rows, classifier_fn, hidden=hidden,
            hide_color=settings.hide_color, batch_size=batch_size, progress=progress,
            cache=cache,
        )  # fmt: skip

    if auto:
        return _explain_until_stable(
            image, segments, rng, settings, predict,
            lambda scores: check_labels(labels, top_labels, scores), params, hidden,
            max_samples=max_samples, confidence=confidence, k=k, measure=measure,
        )  # fmt: skip
    if samples_drawn:
        samples = _draw_samples(check_num_samples(num_samples), S, rng, settings.design)
    else:
        samples = check_samples(samples, S, original_first=True)
    predictions = predict(samples)
    explained = check_labels(labels, top_labels, predictions[0])
    return _fit_explanation(
        image, segments, samples, predictions, explained, settings, params, hidden
    )


def _recipe_design(recipe: str | Settings) -> str | None:
    """The design of ``recipe`` (``None`` for an unknown name, which :func:`resolve` refuses)."""
    if isinstance(recipe, Settings):
        return recipe.design
    base = RECIPES.get(recipe) if isinstance(recipe, str) else None
    return None if base is None else base.design
