"""Evaluating explanations: stability, fidelity, faithfulness, Kernel SHAP and theory.

Introduced in ``notebooks/09_evaluating_explanations.ipynb``. Every function works on plain
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

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    order = np.lexsort((np.arange(coef.size), -coef))
    return frozenset(order[:k].tolist())


def jaccard(a: frozenset[int] | set[int], b: frozenset[int] | set[int]) -> float:
    """``|a ∩ b| / |a ∪ b|`` (1 for two empty sets).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.
    """
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def mean_pairwise_jaccard(coefs: np.ndarray, k: int) -> float:
    """Mean top-``k`` Jaccard index over all pairs of the ``(R, S)`` explanations.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. 1 means every run picks
    the same top-k superpixels.
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
    """
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    return float(np.corrcoef(ra, rb)[0, 1])


def stability_summary(coefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-superpixel mean and standard deviation over ``(R, S)`` repeated explanations.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``.
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    return coefs.mean(axis=0), coefs.std(axis=0, ddof=1)


def first_stable_index(top_sets: Sequence[frozenset[int]], m: int) -> int | None:
    """Stopping rule: the first index ``i`` whose top-k set stays unchanged for ``m`` more.

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. With explanations at
    growing sample sizes, ``i`` is where one could have stopped; ``None`` if never.
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

    Returns
    -------
    dict
        ``r2_fresh`` (kernel-weighted R² on the new samples), ``r2_fit`` (the explanation's
        own score), ``surrogate_at_original`` and ``model_at_original``.
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

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. The top
    ``ceil(fraction * S)`` superpixels by weight for ``label`` are hidden at once and the
    drop of the model's score is recorded; the same is done for ``num_random`` random sets of
    the same size, drawn from ``random_state``. A faithful explanation's drop is well above
    the random sets' median.

    Parameters
    ----------
    explanation
        An :class:`helpers.explain.Explanation` of ``classifier_fn``.
    hide_color
        What hidden superpixels become; by default the explanation's own.

    Returns
    -------
    dict
        ``size`` (superpixels hidden), ``top`` (their indices), ``drop`` (score of the image
        minus score with them hidden), ``random_drops`` (``(num_random,)`` array) and
        ``random_median``.
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

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. The empty and full samples
    have infinite weight in theory; they get ``boundary_weight`` (a standard approximation).
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
    the empty and the full mask (they anchor the intercept and the sum of the values).
    Returns the Shapley value estimates ``(S,)`` and the base value (model on the empty mask).
    """
    w = shapley_kernel_weights(samples)
    coef, intercept = weighted_ridge(samples, targets, w, alpha=0.0)
    return coef, float(intercept)


def exact_shapley(value: Callable[[np.ndarray], np.ndarray], num_players: int) -> np.ndarray:
    """Exact Shapley values by enumerating all ``2**S`` coalitions (``S <= 16``).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. ``value`` maps a batch of
    0/1 samples ``(B, S)`` to ``(B,)`` values.
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
    """
    x = np.asarray(image, dtype=np.float64)
    fill = hidden_image(np.asarray(image), segments, hide_color).astype(np.float64)
    contribution = (np.asarray(pixel_weights, dtype=np.float64) * (x - fill)).sum(axis=-1)
    labels = np.asarray(segments).ravel()
    return np.bincount(labels, weights=contribution.ravel(), minlength=num_superpixels(labels))
