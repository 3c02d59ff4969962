"""Step 5 of LIME: fit a weighted linear model on (sample, prediction) pairs.

Introduced in ``notebooks/05_surrogate_fitting.ipynb``. Every method fits an intercept and
solves weighted (ridge-)regression in closed form on weight-centred data, which is what
scikit-learn's ``Ridge(alpha, fit_intercept=True).fit(X, y, sample_weight=w)`` computes:

    beta = (Xc' W Xc + alpha I)^-1 Xc' W yc,   intercept = mean_w(y) - mean_w(X) . beta

Methods
-------
``"ridge"``
    lime's default path: all superpixels, ``Ridge(alpha=1)``. With ``num_features=K`` smaller
    than S, the K superpixels with the largest ``|coef|`` of a ``Ridge(alpha=0.01)`` fit are
    kept first (lime's ``"highest_weights"``).
``"lasso_path"``
    lime's version of K-LASSO: the LARS-lasso path on weighted, centred data picks the largest
    set of at most K superpixels; then ``Ridge(alpha=1)`` on those, as lime refits.
``"k_lasso"``
    the paper's K-LASSO (Algorithm 1): the same selection along the lasso path, then weighted
    least squares on the selected superpixels (no penalty in the final fit).
``"forward_selection"``
    greedy: add the superpixel that most raises the weighted R² of a least-squares fit, K times;
    then ridge on those.
``"ols"``
    weighted least squares on all superpixels, no penalty (minimum-norm if rank-deficient).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .setting_checks import check_choice, check_num_features

__all__ = ["SURROGATES", "SurrogateFit", "fit_surrogate", "weighted_r2", "weighted_ridge"]

SURROGATES = ("ridge", "lasso_path", "k_lasso", "forward_selection", "ols")


@dataclass(frozen=True)
class SurrogateFit:
    """Result of :func:`fit_surrogate` for one label.

    Belongs with ``notebooks/05_surrogate_fitting.ipynb``, which reads the fields of the fits
    it makes without naming the class. An explanation keeps one per label
    (:attr:`helpers.explanation.Explanation.fits`).

    Attributes
    ----------
    coef
        ``(S,)`` weight per superpixel, 0 for the superpixels the model does not use.
    intercept
        The surrogate's value with every superpixel hidden.
    score
        Weighted R² on the fitting samples (as lime reports it).
    local_pred
        The surrogate's prediction at the original (all superpixels on, row 0).
    selected
        int64 indices of the superpixels the model uses (all of them for ``"ridge"``
        without ``num_features``).
    coef_se, intercept_se
        ``(S,)`` and scalar: the standard errors of ``coef`` and ``intercept`` over random
        samples (the HC3 sandwich of :func:`helpers.uncertainty.coef_covariance`), given the
        selection: ``nan`` for the superpixels not selected, ``nan`` everywhere when there are
        no more samples than weights. Not saved; :meth:`helpers.explanation.Explanation.load`
        computes them again. ``None`` for a fit made by hand.
    """

    coef: np.ndarray  #: (S,) weight per superpixel, 0 for unselected ones
    intercept: float
    score: float  #: weighted R² on the fitting samples (as lime reports it)
    local_pred: float  #: surrogate's prediction at the original (all superpixels on)
    selected: np.ndarray  #: indices of the superpixels the model uses
    coef_se: np.ndarray | None = None  #: (S,) standard errors, nan for unselected ones
    intercept_se: float | None = None  #: standard error of the intercept


def weighted_ridge(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge with intercept in closed form, for one or several targets.

    Belongs with ``notebooks/05_surrogate_fitting.ipynb``; no notebook calls it
    (:func:`fit_surrogate` and :func:`helpers.shapley.kernel_shap` do). The intercept is not
    penalised.

    Parameters
    ----------
    X
        ``(N, p)`` design, e.g. 0/1 samples.
    y
        ``(N,)`` or ``(N, T)`` targets.
    w
        ``(N,)`` non-negative sample weights, not all zero.
    alpha
        Penalty; ``0`` gives weighted least squares (solved with ``lstsq``, minimum norm).

    Returns
    -------
    coef, intercept
        ``(p,)`` and scalar for 1-D ``y``; ``(p, T)`` and ``(T,)`` otherwise.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> coef, intercept = weighted_ridge(X, 2 * X[:, 0] + 1, np.ones(4), alpha=0.0)
    >>> coef.round(6).tolist(), round(float(intercept), 6)
    ([2.0], 1.0)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    x_mean = np.average(X, axis=0, weights=w)
    y_mean = np.average(y, axis=0, weights=w)
    sw = np.sqrt(w)
    Xs = (X - x_mean) * sw[:, None]
    ys = (y - y_mean) * (sw if y.ndim == 1 else sw[:, None])
    if X.shape[1] == 0:
        coef = np.zeros((0, *y.shape[1:]))
    elif alpha > 0:
        gram = Xs.T @ Xs
        gram[np.diag_indices_from(gram)] += alpha
        coef = np.linalg.solve(gram, Xs.T @ ys)
    else:
        coef = np.linalg.lstsq(Xs, ys, rcond=None)[0]
    intercept = y_mean - x_mean @ coef
    return coef, intercept


def weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    """Weighted coefficient of determination (scikit-learn's ``r2_score`` with weights).

    Belongs with ``notebooks/05_surrogate_fitting.ipynb``, whose fits report it as ``score``
    and whose exercise has learners write their own ``weighted_r2``; no notebook calls this
    one. A constant target gives 1.0 when it is predicted exactly and 0.0 otherwise, as
    scikit-learn does.

    Parameters
    ----------
    y
        ``(N,)`` the targets.
    pred
        ``(N,)`` the predictions.
    w
        ``(N,)`` sample weights.

    Returns
    -------
    float
        1 for a perfect fit, 0 for no better than the weighted mean, negative for worse.

    Examples
    --------
    >>> y = np.array([0.0, 1.0, 2.0])
    >>> weighted_r2(y, y, np.ones(3)), weighted_r2(y, np.ones(3), np.ones(3))
    (1.0, 0.0)
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    residual = np.sum(w * (y - pred) ** 2)
    total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return float(1.0 - residual / total)


def _highest_weights(X, y, w, k):
    coef, _ = weighted_ridge(X, y, w, alpha=0.01)
    contribution = coef * X[0]  # lime: weight times the original's (all-ones) features
    order = sorted(range(X.shape[1]), key=lambda j: abs(contribution[j]), reverse=True)
    return np.array(order[:k])


def _lasso_path(X, y, w, k):
    from sklearn.linear_model import lars_path

    Xw = (X - np.average(X, axis=0, weights=w)) * np.sqrt(w[:, None])
    yw = (y - np.average(y, weights=w)) * np.sqrt(w)
    _, _, coefs = lars_path(Xw, yw, method="lasso", verbose=False)
    nonzero = np.arange(X.shape[1])
    # lime's rule: walk the path from its least-penalised end to the first set of <= k.
    for i in range(coefs.shape[1] - 1, 0, -1):
        nonzero = coefs[:, i].nonzero()[0]
        if len(nonzero) <= k:
            break
    return nonzero


def _forward_selection(X, y, w, k):
    used: list[int] = []
    for _ in range(min(k, X.shape[1])):
        best, best_score = 0, -np.inf
        for j in range(X.shape[1]):
            if j in used:
                continue
            cols = [*used, j]
            coef, intercept = weighted_ridge(X[:, cols], y, w, alpha=0.0)
            score = weighted_r2(y, X[:, cols] @ coef + intercept, w)
            if score > best_score:
                best, best_score = j, score
        used.append(best)
    return np.array(used)


def fit_surrogate(
    samples: np.ndarray,
    targets: np.ndarray,
    kernel_weights: np.ndarray,
    *,
    surrogate: str = "ridge",
    num_features: int | None = None,
    alpha: float = 1.0,
) -> SurrogateFit:
    """Fit LIME's interpretable model for one label.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``.

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 samples; row 0 is the original (all ones).
    targets
        ``(N,)`` the model's probability of the label for each sample.
    kernel_weights
        ``(N,)`` the samples' kernel weights (scikit-learn's ``sample_weight``).
    surrogate
        ``"ridge"``, ``"lasso_path"``, ``"k_lasso"``, ``"forward_selection"`` or ``"ols"``
        (module docstring); the same name as :func:`helpers.explain.explain`'s argument.
    num_features
        K, the number of superpixels to keep; ``None`` keeps all (``lasso_path`` and
        ``forward_selection`` then use all too).
    alpha
        Ridge penalty of the final fit (lime: 1). Ignored by ``"ols"`` and ``"k_lasso"``.

    Returns
    -------
    SurrogateFit
        ``coef`` ``(S,)`` with zeros for unselected superpixels, ``intercept``, ``score``
        (weighted R² on these samples) and ``local_pred`` (prediction at row 0).

    Raises
    ------
    ValueError
        For an unknown ``surrogate``, mismatched shapes, weights that are negative, not finite
        or all zero, or ``num_features < 1``.

    Examples
    --------
    Every sample of 3 superpixels, original first, and a target linear in them:

    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> y = 0.5 * z[:, 0] - 0.25 * z[:, 2] + 0.1
    >>> fit = fit_surrogate(z, y, np.ones(8), surrogate="ols")
    >>> (fit.coef.round(6) + 0.0).tolist(), round(fit.intercept, 6), round(fit.score, 6)
    ([0.5, 0.0, -0.25], 0.1, 1.0)
    >>> fit_surrogate(z, y, np.ones(8), surrogate="k_lasso", num_features=2).selected.tolist()
    [0, 2]
    """
    X, y, w = _checked_fit_input(samples, targets, kernel_weights)
    check_choice(surrogate, SURROGATES, "surrogate")
    return _fit_surrogate(X, y, w, surrogate, check_num_features(num_features), alpha)


def _checked_fit_input(
    samples: np.ndarray, targets: np.ndarray, kernel_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, S)``, ``(N,)`` and ``(N,)`` float64 arrays, weights usable (the door of a fit)."""
    X = np.asarray(samples, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    w = np.asarray(kernel_weights, dtype=np.float64)
    if X.ndim != 2 or y.shape != (len(X),) or w.shape != (len(X),):
        raise ValueError(
            f"samples must be (N, S), targets and kernel_weights (N,); got {X.shape}, "
            f"{y.shape}, {w.shape}."
        )
    if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise ValueError("kernel_weights must be finite, non-negative and not all zero.")
    return X, y, w


def _fit_surrogate(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, surrogate: str, num_features: int | None,
    alpha: float = 1.0,
) -> SurrogateFit:  # fmt: skip
    """:func:`fit_surrogate` for checked float64 input."""
    n_features = X.shape[1]
    k = n_features if num_features is None else num_features
    if surrogate == "ridge":
        selected = np.arange(n_features) if k >= n_features else _highest_weights(X, y, w, k)
    elif surrogate in ("lasso_path", "k_lasso"):
        selected = _lasso_path(X, y, w, k)
    elif surrogate == "forward_selection":
        selected = _forward_selection(X, y, w, k)
    else:
        selected = np.arange(n_features)
    penalty = _penalty(surrogate, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        coef_sel, intercept = weighted_ridge(X[:, selected], y, w, penalty)
        pred = X[:, selected] @ coef_sel + intercept
        coef_se, intercept_se = _standard_errors(X, y - pred, w, penalty, selected)
    coef = np.zeros(n_features)
    coef[selected] = coef_sel
    return SurrogateFit(
        coef=coef,
        intercept=float(intercept),
        score=weighted_r2(y, pred, w),
        local_pred=float(X[0, selected] @ coef_sel + intercept),
        selected=np.asarray(selected, dtype=np.int64),
        coef_se=coef_se,
        intercept_se=intercept_se,
    )


def _penalty(surrogate: str, alpha: float = 1.0) -> float:
    """The ridge penalty of ``surrogate``'s final fit: none for ``"ols"`` and ``"k_lasso"``."""
    return 0.0 if surrogate in ("ols", "k_lasso") else float(alpha)


#: The sandwich variants :func:`_sandwich` computes; the fits carry ``"hc3"``.
_SANDWICHES = ("hc0", "hc1", "hc3")


def _standard_errors(
    X: np.ndarray, residuals: np.ndarray, w: np.ndarray, penalty: float, selected: np.ndarray
) -> tuple[np.ndarray, float]:
    """``coef_se`` ``(S,)`` (nan where not selected) and ``intercept_se`` of a fit (HC3)."""
    se = np.sqrt(np.diag(_sandwich(X[:, selected], residuals, w, penalty)))
    coef_se = np.full(X.shape[1], np.nan)
    coef_se[selected] = se[1:]
    return coef_se, float(se[0])


def _sandwich(
    X: np.ndarray,
    residuals: np.ndarray,
    w: np.ndarray,
    penalty: float,
    kind: str = "hc3",
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """``(p+1, p+1)`` sandwich covariance of (intercept, coef) of :func:`weighted_ridge`.

    With ``Z = [1, X]``, ``P = diag(0, penalty, ..., penalty)`` (the intercept is not
    penalised, as in :func:`weighted_ridge`, whose solution is ``(Z'WZ + P)^-1 Z'Wy``),
    ``A = Z'WZ + P``, the leverages ``h_i = w_i z_i' A^-1 z_i`` and the residuals ``e_i``:

        cov = A^-1 (sum_i w_i^2 u_i^2 z_i z_i') A^-1

    with ``u_i = e_i`` (``"hc0"``; ``"hc1"`` multiplies by ``N / (N - p - 1)``) or
    ``u_i = e_i / (1 - h_i)`` (``"hc3"``, the default). Samples drawn at random and a model
    the line does not fit make the residuals random, not noise around a true line: this is
    the covariance of the fit over new draws of the samples (White 1980; MacKinnon and White
    1985 for HC3). Why HC3: :mod:`helpers.uncertainty`. All ``nan`` when ``N <= p + 1``.
    With ``clusters`` (one integer per row), the terms ``w_i u_i z_i`` are summed within each
    cluster before the outer products: rows of one cluster may be correlated (an antithetic
    pair), different clusters are independent (cluster-robust, Liang and Zeger 1986).
    """
    n, p = X.shape
    if n <= p + 1:
        return np.full((p + 1, p + 1), np.nan)
    Z = np.empty((n, p + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    gram = (Z * w[:, None]).T @ Z
    gram[np.arange(1, p + 1), np.arange(1, p + 1)] += penalty
    inverse = np.linalg.pinv(gram, hermitian=True)
    u = w * residuals
    if kind == "hc3":
        leverage = w * np.einsum("ij,ij->i", Z @ inverse, Z)
        room = 1.0 - leverage
        u = np.divide(u, room, out=np.zeros(n), where=room > 1e-10)  # h = 1: a point fitted alone
    scores = Z * u[:, None]
    if clusters is not None:
        ids, clusters = np.unique(clusters, return_inverse=True)
        summed = np.zeros((len(ids), p + 1))
        np.add.at(summed, clusters, scores)
        scores = summed
    cov = inverse @ (scores.T @ scores) @ inverse
    return cov * (n / (n - p - 1)) if kind == "hc1" else cov
