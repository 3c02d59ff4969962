"""Evaluating explanations: stability, fidelity and faithfulness.

Introduced in ``notebooks/04_kernel_weighting.ipynb`` (:func:`top_k`, to compare designs)
and ``notebooks/06_explaining_predictions.ipynb`` (:func:`deletion_test`);
``notebooks/09_evaluating_explanations.ipynb`` uses the rest. Every function works on plain
arrays (coefficient vectors, 0/1 samples, predictions) or on a ``classifier_fn``, so it applies to
any model; nothing here draws random numbers without a seed. Kernel SHAP, exact Shapley
values and LIME's large-sample limit, which are other explanations rather than measures of
one, are in :mod:`helpers.shapley`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .classifiers import KerasClassifier, reinitialize_weights
from .fitting import sample_weights
from .perturbation import draw_samples
from .prediction import predict_samples
from .recipes import FROM_RECIPE, Settings
from .segmentation import num_superpixels
from .surrogates import weighted_r2
from .validation import check_random_state

__all__ = [
    "auc",
    "deletion_insertion_curves",
    "deletion_test",
    "fidelity_on_fresh_samples",
    "first_stable_index",
    "jaccard",
    "kendalls_w",
    "mean_pairwise_jaccard",
    "randomized_copy",
    "spearman",
    "stability_summary",
    "top_k",
]


# ----- stability ---------------------------------------------------------------------------
def top_k(coef: np.ndarray, k: int) -> frozenset[int]:
    """The ``k`` superpixels with the largest (signed) weight; ties broken by lower index.

    Introduced in ``notebooks/04_kernel_weighting.ipynb``.

    Parameters
    ----------
    coef
        ``(S,)`` weights, e.g. ``explanation.coef[label]``.
    k
        How many superpixels.

    Returns
    -------
    frozenset of int

    Examples
    --------
    >>> sorted(top_k(np.array([0.1, 0.5, -0.9, 0.5]), 2))
    [1, 3]
    """
    coef = np.asarray(coef, dtype=np.float64)
    order = np.lexsort((np.arange(coef.size), -coef))
    return frozenset(order[:k].tolist())


def jaccard(a: frozenset[int] | set[int], b: frozenset[int] | set[int]) -> float:
    """``|a ∩ b| / |a ∪ b|`` (0 for two empty sets).

    Introduced in ``notebooks/07_paper_figures.ipynb``. For two empty sets the ratio is 0/0;
    it counts as 0, as in scikit-learn's ``jaccard_score`` and :func:`helpers.paper.mask_iou`
    (the same rule on pixels): no overlap was found, so no agreement is claimed. The top-k
    sets compared in the notebooks are never empty.

    Parameters
    ----------
    a, b
        Two sets, e.g. of :func:`top_k`.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> jaccard({1, 2}, {2, 3})
    0.3333333333333333
    """
    union = len(a | b)
    return 0.0 if union == 0 else len(a & b) / union


def mean_pairwise_jaccard(coefs: np.ndarray, k: int) -> float:
    """Mean top-``k`` Jaccard index over all pairs of the ``(R, S)`` explanations.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. 1 means every run picks
    the same top-k superpixels.

    Parameters
    ----------
    coefs
        ``(R, S)``: one row of weights per repeated explanation, ``R >= 2``.
    k
        Size of the top sets compared (:func:`top_k`).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        For fewer than two rows.

    Examples
    --------
    >>> coefs = np.array([[0.3, 0.1, -0.2, 0.0], [0.2, 0.0, -0.1, 0.1], [0.4, 0.2, 0.0, 0.1]])
    >>> round(mean_pairwise_jaccard(coefs, 2), 4)  # pairs: {0, 1} / {0, 3} / {0, 1}
    0.5556
    """
    sets = [top_k(c, k) for c in np.asarray(coefs)]
    if len(sets) < 2:
        raise ValueError("Need at least two explanations to compare.")
    return float(np.mean([jaccard(a, b) for a, b in itertools.combinations(sets, 2)]))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 = smallest) of each row, ties sharing their mean rank."""
    from scipy.stats import rankdata

    return rankdata(values, axis=-1, method="average")


def kendalls_w(scores: np.ndarray) -> float:
    """Kendall's coefficient of concordance of ``(R, S)`` scores (R raters, S items).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. 1: all raters rank the
    items identically; 0: no agreement. Ties get average ranks, with the usual correction.

    Parameters
    ----------
    scores
        ``(R, S)``: each row one rater's scores of the same ``S`` items (here: one
        explanation's weights of the superpixels).

    Returns
    -------
    float
        In [0, 1] (1 also when every rater ties every item).

    Raises
    ------
    ValueError
        For fewer than 2 raters or 2 items.

    Examples
    --------
    >>> kendalls_w(np.array([[0.3, 0.1, -0.2], [0.9, 0.5, 0.0]]))  # the same order
    1.0
    >>> kendalls_w(np.array([[0.3, 0.1, -0.2], [-0.2, 0.1, 0.3]]))  # opposite orders
    0.0
    """
    scores = np.asarray(scores, dtype=np.float64)
    m, n = scores.shape
    if m < 2 or n < 2:
        raise ValueError("Kendall's W needs at least 2 raters and 2 items.")
    ranks = _ranks(scores)
    totals = ranks.sum(axis=0)
    s = np.sum((totals - totals.mean()) ** 2)
    ties = 0.0
    for row in scores:
        _, counts = np.unique(row, return_counts=True)
        ties += np.sum(counts**3 - counts)
    denominator = m**2 * (n**3 - n) - m * ties
    return float(12.0 * s / denominator) if denominator > 0 else 1.0


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two weight vectors.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    a, b
        ``(S,)`` weights of the same superpixels; ties get average ranks.

    Returns
    -------
    float
        In [-1, 1]; ``nan`` when either vector is constant.

    Examples
    --------
    >>> spearman(np.array([0.1, 0.4, 0.2]), np.array([1.0, 9.0, 5.0]))
    1.0
    """
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    return float(np.corrcoef(ra, rb)[0, 1])


def stability_summary(coefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-superpixel mean and standard deviation over ``(R, S)`` repeated explanations.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    coefs
        ``(R, S)``: one row of weights per explanation.

    Returns
    -------
    mean, std
        Two ``(S,)`` arrays; the standard deviation is the sample one (``ddof=1``).

    Examples
    --------
    >>> mean, std = stability_summary(np.array([[0.2, 0.0], [0.4, 0.0]]))
    >>> mean.tolist(), std.round(4).tolist()
    ([0.30000000000000004, 0.0], [0.1414, 0.0])
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    return coefs.mean(axis=0), coefs.std(axis=0, ddof=1)


def first_stable_index(top_sets: Sequence[frozenset[int]], m: int) -> int | None:
    """Stopping rule: the first index ``i`` whose top-k set stays unchanged for ``m`` more.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. With explanations at
    growing sample sizes, ``i`` is where one could have stopped; ``None`` if never.

    Parameters
    ----------
    top_sets
        The top-k sets (:func:`top_k`) of explanations with more and more samples.
    m
        How many following sets must equal set ``i``.

    Returns
    -------
    int or None

    Examples
    --------
    >>> sets = [frozenset({1, 2}), frozenset({1, 3}), frozenset({1, 3}), frozenset({1, 3})]
    >>> first_stable_index(sets, 2), first_stable_index(sets, 3)
    (1, None)
    """
    for i in range(len(top_sets) - m):
        if all(top_sets[i + j] == top_sets[i] for j in range(1, m + 1)):
            return i
    return None


# ----- fidelity ----------------------------------------------------------------------------
def fidelity_on_fresh_samples(
    explanation,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    label: int,
    *,
    num_samples: int = 200,
    random_state: int = 0,
    batch_size: int = 32,
) -> dict[str, float]:
    """How well the surrogate predicts the model on perturbations it was *not* fitted on.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. Fresh samples are drawn
    (Bernoulli, from ``random_state``) and weighted exactly as the explanation's were: its
    ``hide_color``, distance, kernel and width.

    Parameters
    ----------
    explanation
        An :class:`~helpers.explanation.Explanation` of ``classifier_fn``.
    classifier_fn
        The model explained.
    label
        One of the explanation's labels.
    num_samples
        Fresh samples to draw (the original is not among them); each costs a model call.
    random_state
        Seed of the fresh samples.
    batch_size
        Images per model call.

    Returns
    -------
    dict
        ``r2_fresh`` (kernel-weighted R² on the new samples), ``r2_fit`` (the explanation's
        own score), ``surrogate_at_original`` and ``model_at_original``.

    Examples
    --------
    A model exactly linear in four superpixels of a 4 x 4 grid, so the surrogate can be
    right everywhere:

    >>> from helpers.explain import explain
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(4)
    >>> e = explain(image, model, segments=segments, num_samples=300, labels=[1], hide_color=0,
    ...             random_state=0, progress=False)
    >>> fidelity = fidelity_on_fresh_samples(e, model, 1, num_samples=100)
    >>> round(fidelity["r2_fresh"], 3), round(fidelity["model_at_original"], 3)
    (0.999, 1.0)
    """
    settings = Settings.from_params(explanation.params)
    segments = explanation.segments
    samples = draw_samples(
        num_samples, num_superpixels(segments), random_state, keep_original=False
    )
    preds = predict_samples(
        explanation.image, segments, samples, classifier_fn,
        hide_color=settings.hide_color, batch_size=batch_size, progress=False,
    )[:, label]  # fmt: skip
    _, weights = sample_weights(
        samples, distance=settings.distance, kernel=settings.kernel,
        kernel_width=settings.kernel_width, image=explanation.image, segments=segments,
        hide_color=settings.hide_color,
    )  # fmt: skip
    surrogate = explanation.intercept[label] + samples @ explanation.coef[label]
    return {
        "r2_fresh": weighted_r2(preds, surrogate, weights),
        "r2_fit": float(explanation.score[label]),
        "surrogate_at_original": float(explanation.local_pred[label]),
        "model_at_original": float(explanation.predictions[0, label]),
    }


# ----- faithfulness ------------------------------------------------------------------------
def auc(curve: np.ndarray) -> float:
    """Area under a curve sampled at equal steps over [0, 1] (trapezoid rule).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    curve
        At least two values, e.g. one of :func:`deletion_insertion_curves`.

    Returns
    -------
    float

    Examples
    --------
    >>> auc([1.0, 0.5, 0.0]), auc([1.0, 0.0, 0.0])
    (0.5, 0.25)
    """
    y = np.asarray(curve, dtype=np.float64)
    return float(np.trapezoid(y, dx=1.0 / (len(y) - 1)))


def deletion_insertion_curves(
    image: np.ndarray,
    segments: np.ndarray,
    order: Sequence[int],
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    label: int,
    *,
    hide_color=0,
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion and insertion curves at superpixel granularity.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. Deletion removes the
    superpixels in ``order`` one by one (hiding them with ``hide_color``: a colour, ``None``
    for segment means, or ``"blur"``) and records the model's score for ``label`` after each
    step (S + 1 points, starting at the original). Insertion starts from the hidden image and
    puts them back in the same order. A faithful ranking gives a low deletion AUC and a high
    insertion AUC.

    Parameters
    ----------
    image, segments
        The image and its superpixel labels ``0..S-1``.
    order
        A permutation of the ``S`` superpixels, most important first (e.g.
        ``np.argsort(-explanation.coef[label])``).
    classifier_fn, label
        The model and the class whose score is followed.
    hide_color
        The hide color of removed superpixels (black by default).
    batch_size
        Images per model call (``2 S + 2`` images in all).

    Returns
    -------
    deletion, insertion
        Two ``(S + 1,)`` arrays of scores.

    Raises
    ------
    ValueError
        If ``order`` is not a permutation of the superpixels.

    Examples
    --------
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(4)
    >>> order = [5, 6, 9, 10, 0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 14, 15]
    >>> deletion, insertion = deletion_insertion_curves(image, segments, order, model, 1)
    >>> deletion[:6].round(3).tolist(), round(auc(deletion), 3), round(auc(insertion), 3)
    ([1.0, 0.6, 0.3, 0.1, 0.0, 0.0], 0.094, 0.906)
    """
    S = num_superpixels(segments)
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(S)):
        raise ValueError(f"order must be a permutation of the {S} superpixels.")
    steps = np.arange(S + 1)
    rank = np.empty(S, dtype=np.int64)
    rank[order] = np.arange(S)
    deleted = (rank[None, :] >= steps[:, None]).astype(np.uint8)  # row t: first t removed
    inserted = 1 - deleted
    samples = np.concatenate([deleted, inserted])
    scores = predict_samples(
        image, segments, samples, classifier_fn,
        hide_color=hide_color, batch_size=batch_size, progress=False,
    )[:, label]  # fmt: skip
    return scores[: S + 1], scores[S + 1 :]


def deletion_test(
    explanation,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    label: int,
    *,
    fraction: float = 0.1,
    num_random: int = 20,
    random_state: int | np.random.Generator = 0,
    hide_color: Any = FROM_RECIPE,
    batch_size: int = 32,
) -> dict[str, object]:
    """How much hiding the explanation's top superpixels lowers the score, against random ones.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. The top
    ``ceil(fraction * S)`` superpixels by weight for ``label`` are hidden at once and the
    drop of the model's score is recorded; the same is done for ``num_random`` random sets of
    the same size, drawn from ``random_state``. A faithful explanation's drop is well above
    the random sets' median.

    Parameters
    ----------
    explanation
        An :class:`helpers.explanation.Explanation` of ``classifier_fn``.
    classifier_fn, label
        The model explained and the class whose score is followed.
    fraction
        Share of the superpixels hidden, in (0, 1].
    num_random
        How many random sets of the same size to compare with.
    random_state
        Seed of the random sets.
    hide_color
        What hidden superpixels become; :data:`helpers.recipes.FROM_RECIPE` (the default)
        is the explanation's own hide color.
    batch_size
        Images per model call (``num_random + 2`` images in all).

    Returns
    -------
    dict
        ``size`` (superpixels hidden), ``top`` (their indices), ``drop`` (score of the image
        minus score with them hidden), ``random_drops`` (``(num_random,)`` array) and
        ``random_median``.

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1].

    Examples
    --------
    >>> from helpers.explain import explain
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(4)
    >>> e = explain(image, model, segments=segments, num_samples=300, labels=[1], hide_color=0,
    ...             random_state=0, progress=False)
    >>> test = deletion_test(e, model, 1, fraction=0.25, num_random=10)
    >>> test["top"], round(test["drop"], 3), round(test["random_median"], 3)
    ([5, 6, 9, 10], 1.0, 0.3)
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    coef = np.asarray(explanation.coef[int(label)])
    S = coef.size
    size = int(np.ceil(float(fraction) * S))
    top = np.argsort(-coef, kind="stable")[:size]
    rng, _ = check_random_state(random_state)
    samples = np.ones((2 + int(num_random), S), np.uint8)
    samples[1, top] = 0
    for row in range(2, len(samples)):
        samples[row, rng.choice(S, size=size, replace=False)] = 0
    if hide_color is FROM_RECIPE:
        hide_color = explanation.params.get("hide_color")
    scores = predict_samples(
        explanation.image, explanation.segments, samples, classifier_fn,
        hide_color=hide_color, batch_size=batch_size, progress=False,
    )[:, int(label)]  # fmt: skip
    random_drops = scores[0] - scores[2:]
    return {
        "size": size,
        "top": top.tolist(),
        "drop": float(scores[0] - scores[1]),
        "random_drops": random_drops,
        "random_median": float(np.median(random_drops)) if len(random_drops) else float("nan"),
    }


# ----- the model-randomization check -------------------------------------------------------
def randomized_copy(model: KerasClassifier, *, random_state: int = 0) -> KerasClassifier:
    """The same architecture with seeded random weights (the sanity check of Adebayo et al.).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``: an explanation that looks the
    same for the trained network and for this copy does not depend on what the network
    learned. The copy keeps the classifier's input size, preprocessing, names and batch size,
    and is marked ``untrained``.

    Parameters
    ----------
    model
        The trained classifier, a :class:`helpers.classifiers.KerasClassifier` (for example
        from :func:`helpers.models.classifier_fn`).
    random_state
        Seed of the new weights (:func:`helpers.classifiers.reinitialize_weights`: He-uniform
        kernels, zero biases; independent of Keras' global seed).

    Returns
    -------
    helpers.classifiers.KerasClassifier
        Named ``<name>_randomized``; the original is not changed.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`~helpers.classifiers.KerasClassifier`.

    Examples
    --------
    >>> random = randomized_copy(classifier_fn(cnn), random_state=1)  # doctest: +SKIP
    >>> random.untrained, random.name  # doctest: +SKIP
    (True, 'husky_wolf_cnn_randomized')
    """
    import keras

    if not isinstance(model, KerasClassifier):
        raise TypeError(
            f"randomized_copy takes a KerasClassifier, got {type(model).__name__}. "
            "Fix: wrap a Keras model first, randomized_copy(classifier_fn(model))."
        )
    clone = keras.models.clone_model(model.model)
    reinitialize_weights(clone, random_state=random_state)
    return KerasClassifier(
        clone,
        name=f"{model.name}_randomized",
        display_name=f"{model.display_name}, randomized",
        input_size=model.input_size,
        preprocess=model.preprocess,
        class_names=model.class_names,
        untrained=True,
        weights_source=f"seeded random weights (random_state={random_state})",
        batch_size=model.batch_size,
    )
