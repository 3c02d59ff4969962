"""How far a LIME weight can be trusted: standard errors, intervals, top-k stability.

Belongs with ``notebooks/09_evaluating_explanations.ipynb`` (its section on how many samples
an explanation needs). Everything is computed from what an explanation already holds (the
samples, the model's scores, the kernel weights and the fit): no model calls, nothing saved.

What varies. A fixed model and image give each sample a fixed score, so the surrogate's
weights vary only because the samples are drawn at random; and the line does not fit the
model exactly (misfit), so the residuals are not noise around a true line. The weights
LIME would give with unlimited samples (the target: in practice a 10,000-sample reference)
differ from those of N samples by the error of an M-estimator over random rows, whose
covariance the sandwich estimates (:func:`coef_covariance`). The intercept is unpenalised, as
in :func:`helpers.surrogates.weighted_ridge`; the ridge penalty (lime: 1) stays in the
bread, so its shrinkage, which fades as N grows, is the one bias left out.

Which sandwich, measured (``benchmarks/calibration.py``; ``benchmarks/README.md``,
2026-12-04): HC3 (each residual divided by one minus its leverage) is the default. On three
registry photos with MobileNetV2 (S = 29-32, 8 seeds, lime's settings), its 90 % intervals
held a 10,000-sample reference's weights for 0.90-0.94 of the (superpixel, seed) pairs at
N = 300 and 0.84-0.88 at N = 1000 (pooled 0.917 and 0.866; the reference's own noise caps
perfect errors at 0.895 and 0.883). HC0 covered 0.027 less on average, HC1 0.015 less, and a
pairs bootstrap of 200 resamples (:func:`bootstrap_covariance`) 0.013 less at a few hundred
times the cost: nothing to gain by switching. On a model whose large-sample weights are known
exactly (``tests/test_uncertainty.py``, 12 superpixels, N = 300, 1000 seeds) HC3 covers
0.903, HC0 0.888. The one miss of the 85 % target with 8 seeds, the dogs photo at N = 1000
(0.840), was noise: with 20 seeds HC3 covers 0.912 and 0.866 there. On antithetic pairs the
same HC3 errs wide (it treats a pair's two samples as independent: coverage 0.90-0.99); a
sandwich over pairs (``clusters``) fits their spread but does not move the stop of
``num_samples="auto"`` on the median photo, and on notebook 09's husky it misses the fair-coin
reference, so the fits keep HC3.

Selection surrogates (``num_features`` with ``"ridge"``, ``"lasso_path"``, ``"k_lasso"``,
``"forward_selection"``): the errors are those of the final fit *given* the superpixels
selected; the superpixels not selected get ``nan`` (no interval: the selection is not
modelled, and a zero-width interval would claim a certainty nobody measured).
"""

from __future__ import annotations

import functools
from statistics import NormalDist
from typing import Any

import numpy as np

from .setting_checks import check_choice
from .surrogates import (
    _SANDWICHES,
    SURROGATES,
    _checked_fit_input,
    _penalty,
    _sandwich,
    _standard_errors,
)
from .validation import check_random_state

__all__ = [
    "DRAWS",
    "MEASURES",
    "bootstrap_covariance",
    "coef_covariance",
    "normal_intervals",
    "standard_errors",
    "top_k_stability",
]

#: What :func:`top_k_stability` measures: the whole set stays, or the expected Jaccard index.
MEASURES = ("set", "jaccard")

#: Normal draws behind :func:`top_k_stability`: always the same ones (seed 0), so the same
#: fit always gives the same stability; its Monte Carlo error is below 0.004 at 0.95.
DRAWS = 4096


def _checked(samples, targets, kernel_weights, fit, surrogate):
    X, y, w = _checked_fit_input(samples, targets, kernel_weights)
    check_choice(surrogate, SURROGATES, "surrogate")
    coef = np.asarray(fit.coef, dtype=np.float64)
    if coef.shape != (X.shape[1],):
        raise ValueError(
            f"The fit has {coef.size} weights but the samples have {X.shape[1]} superpixels. "
            "Fix: pass the fit made from these samples (explanation.fits[label])."
        )
    selected = np.asarray(fit.selected, dtype=np.int64)
    residuals = y - (X[:, selected] @ coef[selected] + float(fit.intercept))
    return X, residuals, w, selected


def coef_covariance(
    samples: np.ndarray,
    targets: np.ndarray,
    kernel_weights: np.ndarray,
    fit: Any,
    *,
    surrogate: str = "ridge",
    alpha: float = 1.0,
    estimator: str = "hc3",
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """The covariance of a surrogate's intercept and weights over random samples (sandwich).

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; the fits carry its diagonal
    (:attr:`helpers.surrogates.SurrogateFit.coef_se`). The formula is in the module
    docstring of :mod:`helpers.uncertainty` and in ``helpers.surrogates._sandwich``.

    Parameters
    ----------
    samples, targets, kernel_weights
        What the fit was made from: ``(N, S)`` 0/1 rows, ``(N,)`` the model's score for the
        label, ``(N,)`` kernel weights.
    fit
        The :class:`~helpers.surrogates.SurrogateFit` made from them (its ``coef``,
        ``intercept`` and ``selected`` are read).
    surrogate, alpha
        The surrogate's name and ridge penalty, as given to
        :func:`helpers.surrogates.fit_surrogate` (``"ols"`` and ``"k_lasso"`` have none).
    estimator
        ``"hc3"`` (the default, calibrated), ``"hc1"`` or ``"hc0"``.
    clusters
        ``None`` (the rows are independent draws), or one integer per row: rows that share
        one were drawn together and may be correlated, e.g. ``np.arange(N) // 2`` for the
        antithetic pairs of ``design="antithetic"``. Measured, not used by the fits or the
        stop of ``num_samples="auto"``: ``benchmarks/README.md``, 'On antithetic pairs' and
        'A design-aware error'.

    Returns
    -------
    numpy.ndarray
        ``(S + 1, S + 1)``: the intercept first, then superpixel ``j`` at ``j + 1``; ``nan``
        in the rows and columns of superpixels not selected, and everywhere when there are no
        more samples than weights.

    Raises
    ------
    ValueError
        For mismatched shapes, unusable weights, an unknown ``surrogate`` or ``estimator``,
        or a fit with another number of superpixels.

    Examples
    --------
    A model that is not linear (the product of two superpixels), every sample of 3:

    >>> from helpers.surrogates import fit_surrogate
    >>> z = ((np.arange(8)[::-1, None] >> np.arange(3)) & 1).astype(float)
    >>> y = z[:, 0] * z[:, 1]
    >>> fit = fit_surrogate(z, y, np.ones(8), surrogate="ols")
    >>> (fit.coef.round(3) + 0.0).tolist()
    [0.5, 0.5, 0.0]
    >>> cov = coef_covariance(z, y, np.ones(8), fit, surrogate="ols")
    >>> np.sqrt(np.diag(cov)).round(3).tolist()  # intercept, then the three weights
    [0.354, 0.354, 0.354, 0.354]

    Every row drawn twice, the copies one cluster: the two copies carry no more information
    than one, and the cluster-robust covariance is twice the one that trusts them as two:

    >>> twice, y2 = np.repeat(z, 2, axis=0), np.repeat(y, 2)
    >>> fit2 = fit_surrogate(twice, y2, np.ones(16), surrogate="ols")
    >>> naive = coef_covariance(twice, y2, np.ones(16), fit2, surrogate="ols", estimator="hc0")
    >>> paired = coef_covariance(twice, y2, np.ones(16), fit2, surrogate="ols",
    ...                          estimator="hc0", clusters=np.arange(16) // 2)
    >>> bool(np.allclose(paired, 2 * naive))
    True
    """
    X, residuals, w, selected = _checked(samples, targets, kernel_weights, fit, surrogate)
    check_choice(estimator, _SANDWICHES, "estimator")
    clusters = _checked_clusters(clusters, X.shape[0])
    inner = _sandwich(X[:, selected], residuals, w, _penalty(surrogate, alpha), estimator, clusters)
    return _embed(inner, selected, X.shape[1])


def _checked_clusters(clusters: Any, n: int) -> np.ndarray | None:
    """``None``, or one integer per sample (refused otherwise, naming the fix)."""
    if clusters is None:
        return None
    clusters = np.asarray(clusters)
    if clusters.shape != (n,) or clusters.dtype.kind not in "iu":
        raise ValueError(
            f"clusters must be one integer per sample, shape ({n},); got {clusters.dtype} of "
            f"shape {clusters.shape}. Fix: e.g. np.arange(N) // 2 for antithetic pairs."
        )
    return clusters


def _embed(inner: np.ndarray, selected: np.ndarray, n_features: int) -> np.ndarray:
    """``(S+1, S+1)`` from the ``(p+1, p+1)`` covariance of (intercept, selected weights)."""
    cov = np.full((n_features + 1, n_features + 1), np.nan)
    at = np.concatenate([[0], selected + 1])
    cov[np.ix_(at, at)] = inner
    return cov


def standard_errors(
    samples: np.ndarray,
    targets: np.ndarray,
    kernel_weights: np.ndarray,
    fit: Any,
    *,
    surrogate: str = "ridge",
    alpha: float = 1.0,
) -> tuple[np.ndarray, float]:
    """The standard errors of a surrogate's weights and intercept (HC3 sandwich).

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``: what
    :func:`helpers.surrogates.fit_surrogate` stores as ``coef_se`` and ``intercept_se``,
    computed again for a fit that lacks them.

    Parameters
    ----------
    samples, targets, kernel_weights, fit, surrogate, alpha
        As for :func:`coef_covariance`.

    Returns
    -------
    coef_se, intercept_se
        ``(S,)`` (``nan`` for superpixels not selected) and a float.

    Raises
    ------
    ValueError
        As :func:`coef_covariance`.

    Examples
    --------
    >>> from helpers.surrogates import fit_surrogate
    >>> z = ((np.arange(8)[::-1, None] >> np.arange(3)) & 1).astype(float)
    >>> fit = fit_surrogate(z, z[:, 0] * z[:, 1], np.ones(8), surrogate="k_lasso",
    ...                     num_features=2)
    >>> se, _ = standard_errors(z, z[:, 0] * z[:, 1], np.ones(8), fit, surrogate="k_lasso")
    >>> se.round(3).tolist(), fit.coef_se.round(3).tolist()
    ([0.283, 0.283, nan], [0.283, 0.283, nan])
    """
    X, residuals, w, selected = _checked(samples, targets, kernel_weights, fit, surrogate)
    return _standard_errors(X, residuals, w, _penalty(surrogate, alpha), selected)


def bootstrap_covariance(
    samples: np.ndarray,
    targets: np.ndarray,
    kernel_weights: np.ndarray,
    fit: Any,
    *,
    surrogate: str = "ridge",
    alpha: float = 1.0,
    reps: int = 200,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """The covariance of the weights over a pairs bootstrap of the samples (for comparison).

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; ``benchmarks/calibration.py``
    measures it against the sandwich of :func:`coef_covariance`. Rows (sample, score, weight)
    are drawn with replacement and the final fit (the same superpixels, the same penalty) is
    made again ``reps`` times; the selection is not redone.

    Parameters
    ----------
    samples, targets, kernel_weights, fit, surrogate, alpha
        As for :func:`coef_covariance`.
    reps
        How many resamples.
    random_state
        Seed or Generator of the resampling.

    Returns
    -------
    numpy.ndarray
        ``(S + 1, S + 1)`` laid out as :func:`coef_covariance`'s.

    Raises
    ------
    ValueError
        As :func:`coef_covariance`, or for ``reps < 2``.

    Examples
    --------
    >>> from helpers.surrogates import fit_surrogate
    >>> z = np.random.default_rng(0).integers(0, 2, (300, 3)).astype(float)
    >>> y = z[:, 0] * z[:, 1]
    >>> fit = fit_surrogate(z, y, np.ones(300), surrogate="ols")
    >>> boot = bootstrap_covariance(z, y, np.ones(300), fit, surrogate="ols")
    >>> hc3 = coef_covariance(z, y, np.ones(300), fit, surrogate="ols")
    >>> bool(np.allclose(np.diag(boot), np.diag(hc3), rtol=0.3))
    True
    """
    X, _, w, selected = _checked(samples, targets, kernel_weights, fit, surrogate)
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise ValueError(f"reps must be an integer >= 2, got {reps!r}.")
    rng, _ = check_random_state(random_state)
    y = np.asarray(targets, dtype=np.float64)
    n, p = len(X), len(selected)
    Z = np.empty((n, p + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X[:, selected]
    penalty = np.full(p + 1, _penalty(surrogate, alpha))
    penalty[0] = 0.0
    thetas = np.empty((reps, p + 1))
    for b in range(reps):
        counts = np.bincount(rng.integers(0, n, n), minlength=n) * w
        gram = (Z * counts[:, None]).T @ Z + np.diag(penalty)
        thetas[b] = np.linalg.lstsq(gram, Z.T @ (counts * y), rcond=None)[0]
    return _embed(np.cov(thetas, rowvar=False), selected, X.shape[1])


def normal_intervals(
    coef: np.ndarray, coef_se: np.ndarray, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """``coef -/+ z * se``: two-sided normal intervals at ``level``.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``;
    :meth:`helpers.explanation.Explanation.intervals` returns them for a label.

    Parameters
    ----------
    coef, coef_se
        ``(S,)`` weights and their standard errors (``nan`` gives ``nan`` bounds).
    level
        The probability the interval holds the large-sample weight, strictly between 0
        and 1.

    Returns
    -------
    low, high
        Two ``(S,)`` float64 arrays.

    Raises
    ------
    ValueError
        If ``level`` is not strictly between 0 and 1, or the shapes differ.

    Examples
    --------
    >>> low, high = normal_intervals(np.array([0.2, -0.1]), np.array([0.05, 0.1]), 0.9)
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.1178, -0.2645], [0.2822, 0.0645])
    """
    z = NormalDist().inv_cdf(0.5 + _checked_level(level) / 2)
    coef = np.asarray(coef, dtype=np.float64)
    coef_se = np.asarray(coef_se, dtype=np.float64)
    if coef.shape != coef_se.shape:
        raise ValueError(f"coef {coef.shape} and coef_se {coef_se.shape} differ in shape.")
    return coef - z * coef_se, coef + z * coef_se


def _checked_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float | np.number):
        raise TypeError(f"level must be a number between 0 and 1, got {level!r}.")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"level must lie strictly between 0 and 1 (the probability the interval holds "
            f"the weight), got {level!r}. Fix: e.g. level=0.9."
        )
    return float(level)


@functools.lru_cache(maxsize=16)
def _normal_draws(n_features: int) -> np.ndarray:
    """``(DRAWS, S)`` standard normal draws, seed 0, read-only: the same at every call."""
    draws = np.random.default_rng(0).standard_normal((DRAWS, n_features))
    draws.flags.writeable = False
    return draws


def top_k_stability(
    samples: np.ndarray,
    targets: np.ndarray,
    kernel_weights: np.ndarray,
    fit: Any,
    k: int,
    *,
    surrogate: str = "ridge",
    alpha: float = 1.0,
    measure: str = "set",
    clusters: np.ndarray | None = None,
) -> float:
    """The probability that the top-k superpixels stay the same with unlimited samples.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``;
    :func:`helpers.explain.explain` with ``num_samples="auto"`` stops once it reaches the
    confidence asked. The large-sample weights are taken as normal around the fit's, with
    the HC3 covariance of :func:`coef_covariance` (weights not selected stay at 0), and the
    share of :data:`DRAWS` fixed draws whose top k is the fit's is returned. The top k is
    the k largest *signed* weights, ties to the lower index
    (:func:`helpers.metrics.top_k`). The same input always gives the same number.

    Parameters
    ----------
    samples, targets, kernel_weights, fit, surrogate, alpha, clusters
        As for :func:`coef_covariance`.
    k
        The size of the top set, ``1 <= k <= S`` (``k = S`` gives 1: the set is everything).
    measure
        ``"set"``: the probability that the whole top k stays (the default);
        ``"jaccard"``: the expected Jaccard index between the fit's top k and the top k of
        the large-sample weights (the agreement the benchmarks score), from the same draws.

    Returns
    -------
    float
        In ``[0, 1]``; 1 for a constant score (nothing varies); ``nan`` when there are no
        more samples than weights (nothing can be estimated).

    Raises
    ------
    ValueError
        For ``k`` outside ``1..S``, an unknown ``measure``, and as :func:`coef_covariance`.
    TypeError
        For a ``k`` that is not an integer.

    Examples
    --------
    Superpixel 0 clearly first, 1 and 2 almost tied:

    >>> from helpers.surrogates import fit_surrogate
    >>> z = np.random.default_rng(0).integers(0, 2, (400, 3)).astype(float)
    >>> y = z @ [0.5, 0.11, 0.1] + 0.2 * z[:, 1] * z[:, 2]
    >>> fit = fit_surrogate(z, y, np.ones(400), surrogate="ols")
    >>> top_k_stability(z, y, np.ones(400), fit, 1, surrogate="ols")
    1.0
    >>> 0.0 < top_k_stability(z, y, np.ones(400), fit, 2, surrogate="ols") < 0.9
    True
    >>> 0.5 < top_k_stability(z, y, np.ones(400), fit, 2, surrogate="ols", measure="jaccard")
    True
    """
    X, residuals, w, selected = _checked(samples, targets, kernel_weights, fit, surrogate)
    check_choice(measure, MEASURES, "measure")
    n_features = X.shape[1]
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {k!r}.")
    if not 1 <= k <= n_features:
        raise ValueError(
            f"k={k} must be between 1 and the {n_features} superpixels. Fix: a smaller k."
        )
    clusters = _checked_clusters(clusters, X.shape[0])
    penalty = _penalty(surrogate, alpha)
    inner = _sandwich(X[:, selected], residuals, w, penalty, clusters=clusters)[1:, 1:]
    if np.isnan(inner).any():
        return float("nan")
    cov = np.zeros((n_features, n_features))
    cov[np.ix_(selected, selected)] = inner
    return _stability(np.asarray(fit.coef, dtype=np.float64), cov, int(k), measure)


def _stability(coef: np.ndarray, cov: np.ndarray, k: int, measure: str = "set") -> float:
    """Share of the fixed draws of ``N(coef, cov)`` whose top k is ``coef``'s top k (or the
    mean Jaccard index of the two sets)."""
    n_features = len(coef)
    if k >= n_features:
        return 1.0
    order = np.lexsort((np.arange(n_features), -coef))
    top, rest = np.sort(order[:k]), np.sort(order[k:])
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    draws = coef + _normal_draws(n_features) @ root.T
    if measure == "jaccard":  # a stable sort puts the lower index first among equal weights
        drawn_top = np.argsort(-draws, axis=1, kind="stable")[:, :k]
        in_top = np.zeros(n_features, dtype=bool)
        in_top[top] = True
        shared = in_top[drawn_top].sum(axis=1)
        return float(np.mean(shared / (2 * k - shared)))
    # The top set stays iff its weakest member beats the strongest other, in the order of
    # metrics.top_k: larger weight first, the lower index first among equal weights.
    inside, outside = draws[:, top], draws[:, rest]
    low, high = inside.min(axis=1), outside.max(axis=1)
    weakest = np.where(inside == low[:, None], top, -1).max(axis=1)
    strongest = np.where(outside == high[:, None], rest, n_features).min(axis=1)
    stays = (low > high) | ((low == high) & (weakest < strongest))
    return float(stays.mean())
