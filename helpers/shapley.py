"""Kernel SHAP, exact Shapley values and LIME's large-sample limit: explanations to compare with.

Introduced in ``notebooks/09_evaluating_explanations.ipynb``, which sets LIME's weights beside
Shapley values (exact, and estimated by Kernel SHAP on LIME's own samples) and beside the
closed form LIME tends to for a model linear in the pixels. These are other explanations, or
their theory, not measures of one (those are in :mod:`helpers.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb

import numpy as np

from .perturbation import hidden_image
from .segmentation import num_superpixels
from .surrogates import weighted_ridge

__all__ = ["exact_shapley", "kernel_shap", "linear_pixel_model_limit", "shapley_kernel_weights"]


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
    ``β_j = sum_{u in j} λ_u (x_u - h_u)`` (``h``: the hidden image) as the number of samples
    grows: hiding ``j`` changes ``f`` by exactly that amount, whatever else is hidden, so ``f``
    is linear in the samples and the weighted regression recovers it once the ridge penalty is
    negligible.

    Parameters
    ----------
    image
        ``(H, W, C)`` the image explained.
    segments
        ``(H, W)`` labels ``0..S-1``.
    pixel_weights
        ``λ``, the model's weight of every pixel value, shaped like ``image``.
    hide_color
        The hide color (see :func:`helpers.perturbation.hidden_image`).

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
    hidden = hidden_image(np.asarray(image), segments, hide_color).astype(np.float64)
    contribution = (np.asarray(pixel_weights, dtype=np.float64) * (x - hidden)).sum(axis=-1)
    labels = np.asarray(segments).ravel()
    return np.bincount(labels, weights=contribution.ravel(), minlength=num_superpixels(labels))
