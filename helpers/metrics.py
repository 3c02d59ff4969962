"""Evaluating explanations: stability, fidelity, faithfulness, Kernel SHAP and theory.

Introduced in ``notebooks/04_kernel_weighting.ipynb`` (:func:`top_k`, to compare designs)
and ``notebooks/06_explaining_predictions.ipynb`` (:func:`deletion_test`);
``notebooks/09_evaluating_explanations.ipynb`` uses the rest. Every function works on plain
arrays (coefficient vectors, 0/1 samples, predictions) or on a ``classifier_fn``, so it applies to
any model; nothing here draws random numbers without a seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from math import comb

import numpy as np

from .explain import UNSET, sample_weights
from .perturbation import draw_samples, hidden_image
from .prediction import predict_samples
from .segmentation import num_superpixels
from .surrogates import weighted_r2, weighted_ridge

__all__ = [
    "auc",
    "deletion_insertion_curves",
    "deletion_test",
    "exact_shapley",
    "fidelity_on_fresh_samples",
    "first_stable_index",
    "jaccard",
    "kendalls_w",
    "kernel_shap",
    "linear_pixel_model_limit",
    "mean_pairwise_jaccard",
    "shapley_kernel_weights",
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
    """``|a ∩ b| / |a ∪ b|`` (1 for two empty sets).

    Introduced in ``notebooks/07_paper_figures.ipynb``.

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
    return 1.0 if union == 0 else len(a & b) / union


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
    p = explanation.params
    segments = explanation.segments
    samples = draw_samples(
        num_samples, num_superpixels(segments), random_state, keep_original=False
    )
    preds = predict_samples(
        explanation.image, segments, samples, classifier_fn,
        hide_color=p.get("hide_color"), batch_size=batch_size, progress=False,
    )[:, label]  # fmt: skip
    _, weights = sample_weights(
        samples, distance=p.get("distance", "cosine"), kernel=p.get("kernel", "lime"),
        kernel_width=p.get("kernel_width", 0.25), image=explanation.image, segments=segments,
        hide_color=p.get("hide_color"),
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
        The fill of removed superpixels (black by default).
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
    random_state: int = 0,
    hide_color=UNSET,
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
        What hidden superpixels become; by default the explanation's own.
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
    rng = np.random.default_rng(random_state)
    samples = np.ones((2 + int(num_random), S), np.uint8)
    samples[1, top] = 0
    for row in range(2, len(samples)):
        samples[row, rng.choice(S, size=size, replace=False)] = 0
    if hide_color is UNSET:
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


# ----- Kernel SHAP -------------------------------------------------------------------------
def shapley_kernel_weights(samples: np.ndarray, *, boundary_weight: float = 1e6) -> np.ndarray:
    """Kernel SHAP's weights ``(S - 1) / (C(S, k) k (S - k))`` for samples with ``k`` ones.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; no notebook calls it
    (:func:`kernel_shap` does). The empty and full samples have infinite weight in theory;
    they get ``boundary_weight`` (a standard approximation).

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows.
    boundary_weight
        The weight of the all-zeros and all-ones rows.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 weights.

    Examples
    --------
    >>> shapley_kernel_weights(np.array([[1, 1, 1], [1, 0, 0], [0, 1, 1]])).round(4).tolist()
    [1000000.0, 0.3333, 0.3333]
    """
    samples = np.asarray(samples)
    S = samples.shape[1]
    k = samples.sum(axis=1).astype(np.int64)
    w = np.full(len(samples), float(boundary_weight))
    inner = (k > 0) & (k < S)
    binom = np.array([comb(S, int(x)) for x in k[inner]], dtype=np.float64)
    w[inner] = (S - 1) / (binom * k[inner] * (S - k[inner]))
    return w


def kernel_shap(samples: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """Kernel SHAP on LIME's samples: the same samples, the Shapley kernel, no penalty.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. The samples should include
    the empty and the full sample (they anchor the intercept and the sum of the values).

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows, e.g. an explanation's ``samples``.
    targets
        ``(N,)`` the model's scores on them.

    Returns
    -------
    values, base
        The Shapley value estimates ``(S,)`` and the base value (the model on the empty
        sample).

    Examples
    --------
    With every sample of 3 superpixels the estimates are exact (compare :func:`exact_shapley`):

    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> y = z @ [0.5, 0.0, 0.25] + 0.1 * z[:, 0] * z[:, 2]
    >>> values, base = kernel_shap(z, y)
    >>> (values.round(4) + 0.0).tolist(), round(base, 4) + 0.0
    ([0.55, 0.0, 0.3], 0.0)
    """
    w = shapley_kernel_weights(samples)
    coef, intercept = weighted_ridge(samples, targets, w, alpha=0.0)
    return coef, float(intercept)


def exact_shapley(value: Callable[[np.ndarray], np.ndarray], num_players: int) -> np.ndarray:
    """Exact Shapley values by enumerating all ``2**S`` coalitions (``S <= 16``).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    value
        Maps a batch of 0/1 samples ``(B, S)`` to ``(B,)`` values; called once, on all
        ``2**S`` samples.
    num_players
        ``S``, from 1 to 16.

    Returns
    -------
    numpy.ndarray
        ``(S,)`` the Shapley values; they sum to ``value(all ones) - value(all zeros)``.

    Raises
    ------
    ValueError
        For ``S`` outside 1..16.

    Examples
    --------
    An interaction of players 0 and 2 is split evenly between them:

    >>> def value(z):
    ...     return z @ [0.5, 0.0, 0.25] + 0.1 * z[:, 0] * z[:, 2]
    >>> exact_shapley(value, 3).round(6).tolist()
    [0.55, 0.0, 0.3]
    """
    S = int(num_players)
    if not 1 <= S <= 16:
        raise ValueError(f"Exact enumeration is for 1..16 players, got {S}.")
    all_samples = ((np.arange(2**S)[:, None] >> np.arange(S)[None, :]) & 1).astype(np.uint8)
    v = np.asarray(value(all_samples), dtype=np.float64)
    sizes = all_samples.sum(axis=1)
    weight = np.array([1.0 / (S * comb(S - 1, int(s))) for s in range(S)])
    phi = np.zeros(S)
    index = np.arange(2**S)
    for j in range(S):
        without = all_samples[:, j] == 0
        with_j = index[without] | (1 << j)
        phi[j] = np.sum(weight[sizes[without]] * (v[with_j] - v[without]))
    return phi


# ----- theory ------------------------------------------------------------------------------
def linear_pixel_model_limit(
    image: np.ndarray, segments: np.ndarray, pixel_weights: np.ndarray, hide_color=None
) -> np.ndarray:
    """LIME's large-sample limit for a model linear in the pixels, ``f(x) = sum_u λ_u x_u``.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. As Garreau & Mardaoui
    (ICML 2021) show, for such a model the explanation of superpixel ``j`` tends to
    ``β_j = sum_{u in j} λ_u (x_u - fill_u)`` as the number of samples grows: hiding ``j``
    changes ``f`` by exactly that amount, whatever else is hidden, so ``f`` is linear in the
    samples and the weighted regression recovers it once the ridge penalty is negligible.

    Parameters
    ----------
    image
        ``(H, W, C)`` the image explained.
    segments
        ``(H, W)`` labels ``0..S-1``.
    pixel_weights
        ``λ``, the model's weight of every pixel value, shaped like ``image``.
    hide_color
        The fill (see :func:`helpers.perturbation.hidden_image`).

    Returns
    -------
    numpy.ndarray
        ``(S,)`` the limit ``β``.

    Examples
    --------
    >>> image = np.full((1, 4, 3), 100, np.uint8)
    >>> weights = np.zeros((1, 4, 3))
    >>> weights[0, 0, 0], weights[0, 3] = 0.01, 0.001  # one red value; a whole pixel
    >>> linear_pixel_model_limit(image, np.array([[0, 0, 1, 1]]), weights, 0).round(6).tolist()
    [1.0, 0.3]
    """
    x = np.asarray(image, dtype=np.float64)
    fill = hidden_image(np.asarray(image), segments, hide_color).astype(np.float64)
    contribution = (np.asarray(pixel_weights, dtype=np.float64) * (x - fill)).sum(axis=-1)
    labels = np.asarray(segments).ravel()
    return np.bincount(labels, weights=contribution.ravel(), minlength=num_superpixels(labels))
