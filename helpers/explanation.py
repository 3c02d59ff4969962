"""The result of LIME: the :class:`Explanation` record, reading it, saving and loading it.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. An explanation keeps every
intermediate (samples, predictions, distances, weights) and one
:class:`~helpers.surrogates.SurrogateFit` per label, so it can be read the way ``lime``'s is
(``as_list``, ``image_and_mask``), saved byte-reproducibly (the file format is
:mod:`helpers.explanation_file`), and refitted without model calls
(:func:`helpers.fitting.refit`). :mod:`helpers.fitting` and :mod:`helpers.explain` build the
record; it imports neither (only its file format, the settings and the fit's type).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .explanation_file import MAX_BYTES, ExplanationFileError, read_explanation, write_explanation
from .recipes import Settings
from .surrogates import SurrogateFit
from .uncertainty import normal_intervals, standard_errors
from .uncertainty import top_k_stability as _top_k_stability

__all__ = ["Explanation", "ExplanationFileError"]


@dataclass
class Explanation:
    """A LIME explanation of one image (see :func:`helpers.explain.explain`).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. Superpixel ``j`` is
    ``segments == j``; ``fits[label]`` is the surrogate fitted for ``label`` and
    ``coef[label][j]`` its weight for superpixel ``j``.

    Attributes
    ----------
    image
        ``(H, W, 3)`` the image explained (a copy, never the caller's array).
    segments
        ``(H, W)`` int64 superpixel labels ``0..S-1``.
    samples
        ``(N, S)`` uint8 0/1 rows; row 0 is the original (all ones).
    predictions
        ``(N, K)`` the model's scores on the perturbed images.
    distances, kernel_weights
        ``(N,)`` each sample's distance to the original and its weight.
    labels
        The labels explained, in order.
    fits
        One :class:`~helpers.surrogates.SurrogateFit` per label.
    params
        Every setting used (random_state, recipe, design, hide_color, distance, kernel, width,
        surrogate...), JSON-compatible, so that the explanation can be repeated;
        :attr:`settings` reads them back as a :class:`~helpers.recipes.Settings`.

    Examples
    --------
    Three superpixels (stripes of a 6 x 6 image), all 8 samples, and a model whose score for
    label 1 is ``0.5 z_0 + 0.25 z_2``:

    >>> from helpers.fitting import fit_explanation
    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
    >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
    >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z, scores, labels=[1])
    >>> [(j, round(w, 3)) for j, w in e.as_list(1)]  # lime's ridge shrinks the weights
    [(0, 0.216), (2, 0.09), (1, -0.035)]
    >>> e.mask(1, num_features=1)[0].tolist()
    [1, 1, 0, 0, 0, 0]
    >>> e.heatmap(1)[0].round(3).tolist()
    [0.216, 0.216, -0.035, -0.035, 0.09, 0.09]
    """

    image: np.ndarray
    segments: np.ndarray
    samples: np.ndarray
    predictions: np.ndarray
    distances: np.ndarray
    kernel_weights: np.ndarray
    labels: tuple[int, ...]
    fits: dict[int, SurrogateFit]
    params: dict[str, Any] = field(default_factory=dict)

    # ----- lime-style views of the fits (read-only) ----------------------------------------
    @property
    def coef(self) -> Mapping[int, np.ndarray]:
        """``coef[label]``: the ``(S,)`` weights of each label's fit (lime's ``local_exp``)."""
        return MappingProxyType({label: fit.coef for label, fit in self.fits.items()})

    @property
    def intercept(self) -> Mapping[int, float]:
        """``intercept[label]`` of each label's fit."""
        return MappingProxyType({label: fit.intercept for label, fit in self.fits.items()})

    @property
    def score(self) -> Mapping[int, float]:
        """``score[label]``: the weighted R² of each label's fit on its samples."""
        return MappingProxyType({label: fit.score for label, fit in self.fits.items()})

    @property
    def local_pred(self) -> Mapping[int, float]:
        """``local_pred[label]``: each fit's prediction at the original image."""
        return MappingProxyType({label: fit.local_pred for label, fit in self.fits.items()})

    @property
    def settings(self) -> Settings:
        """The :class:`~helpers.recipes.Settings` it was made with, read from :attr:`params`.

        Settings missing from :attr:`params` (an explanation fitted from given samples) are
        lime's; the ``design`` of given samples is recorded as ``None`` and shown as lime's.
        """
        return Settings.from_params(self.params)

    # ----- reading the explanation -------------------------------------------------------
    def _check_label(self, label: int) -> int:
        label = int(label)
        if label not in self.fits:
            raise KeyError(f"Label {label} is not explained here; explained: {self.labels}.")
        return label

    def as_list(self, label: int) -> list[tuple[int, float]]:
        """``(superpixel, weight)`` pairs, largest ``|weight|`` first (lime's ``local_exp``).

        Only superpixels the surrogate used are listed (all of them for ``"ridge"``).

        Parameters
        ----------
        label
            One of :attr:`labels`.

        Returns
        -------
        list of (int, float)
            Ties keep the order of the superpixels.

        Raises
        ------
        KeyError
            If ``label`` was not explained.
        """
        fit = self.fits[self._check_label(label)]
        coef = fit.coef
        order = sorted(fit.selected.tolist(), key=lambda j: abs(coef[j]), reverse=True)
        return [(j, float(coef[j])) for j in order]

    def intervals(self, label: int, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)``: where each weight would lie with unlimited samples, at ``level``.

        Belongs with ``notebooks/09_evaluating_explanations.ipynb``. Normal intervals around
        the weights with the standard errors the fit carries (the HC3 sandwich,
        :mod:`helpers.uncertainty`, which says how well they cover, measured); computed from
        the stored samples when the fit has none.

        Parameters
        ----------
        label
            One of :attr:`labels`.
        level
            The probability each interval holds its large-sample weight, in (0, 1).

        Returns
        -------
        low, high
            Two ``(S,)`` float64 arrays; ``nan`` for superpixels the surrogate did not
            select (``num_features``), and everywhere when there are no more samples than
            weights.

        Raises
        ------
        KeyError
            If ``label`` was not explained.
        ValueError
            If ``level`` is not strictly between 0 and 1.

        Examples
        --------
        >>> from helpers.fitting import fit_explanation
        >>> z = np.random.default_rng(0).integers(0, 2, (200, 3))
        >>> score = z @ [0.5, 0.0, 0.25] + 0.1 * z[:, 0] * z[:, 2]
        >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
        >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z,
        ...                     np.stack([1 - score, score], axis=1), labels=[1])
        >>> low, high = e.intervals(1, level=0.9)
        >>> bool(((low < e.coef[1]) & (e.coef[1] < high)).all()), bool(low[1] < 0 < high[1])
        (True, True)
        """
        fit = self.fits[self._check_label(label)]
        se = fit.coef_se
        if se is None:
            se, _ = standard_errors(
                self.samples, self.predictions[:, label], self.kernel_weights, fit,
                surrogate=self.settings.surrogate,
            )  # fmt: skip
        return normal_intervals(fit.coef, se, level)

    def top_k_stability(self, label: int, k: int) -> float:
        """The probability that the top ``k`` superpixels stay the same with more samples.

        Belongs with ``notebooks/09_evaluating_explanations.ipynb``;
        :func:`helpers.uncertainty.top_k_stability` on this label's samples and fit (the k
        largest signed weights, as :func:`helpers.metrics.top_k`; fixed normal draws, so the
        same explanation always gives the same number).

        Parameters
        ----------
        label
            One of :attr:`labels`.
        k
            The size of the top set, ``1 <= k <= S``.

        Returns
        -------
        float
            In ``[0, 1]`` (``nan`` with no more samples than weights).

        Raises
        ------
        KeyError
            If ``label`` was not explained.
        ValueError
            For ``k`` outside ``1..S``.

        Examples
        --------
        >>> from helpers.fitting import fit_explanation
        >>> z = np.random.default_rng(0).integers(0, 2, (200, 3))
        >>> score = z @ [0.5, 0.0, 0.25] + 0.1 * z[:, 0] * z[:, 2]
        >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
        >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z,
        ...                     np.stack([1 - score, score], axis=1), labels=[1])
        >>> e.top_k_stability(1, k=2)
        1.0
        """
        label = self._check_label(label)
        return _top_k_stability(
            self.samples, self.predictions[:, label], self.kernel_weights, self.fits[label], k,
            surrogate=self.settings.surrogate,
        )  # fmt: skip

    def heatmap(
        self, label: int, *, positive_only: bool = False, smooth_sigma: float = 0.0
    ) -> np.ndarray:
        """``(H, W)`` float map: each pixel carries its superpixel's weight for ``label``.

        Parameters
        ----------
        label
            One of :attr:`labels`.
        positive_only
            Keep only positive weights (the others become 0).
        smooth_sigma
            When positive, blur the map with a Gaussian of that many pixels, as the MATLAB
            write-up's heatmap does (lime and the paper do not smooth).

        Returns
        -------
        numpy.ndarray
            ``(H, W)`` float64, e.g. for :func:`helpers.plotting.weight_map`.

        Raises
        ------
        KeyError
            If ``label`` was not explained.
        """
        label = self._check_label(label)
        coef = self.coef[label]
        if positive_only:
            coef = np.clip(coef, 0.0, None)
        heat = coef[self.segments]
        if smooth_sigma > 0:
            from scipy.ndimage import gaussian_filter

            heat = gaussian_filter(heat, sigma=float(smooth_sigma))
        return heat

    def _chosen(self, label, num_features, positive_only, negative_only, min_weight):
        if positive_only and negative_only:
            raise ValueError("positive_only and negative_only cannot both be True.")
        exp = self.as_list(label)
        if positive_only:
            return [(j, w) for j, w in exp if w > 0 and w > min_weight][:num_features]
        if negative_only:
            return [(j, w) for j, w in exp if w < 0 and abs(w) > min_weight][:num_features]
        return [(j, w) for j, w in exp[:num_features] if abs(w) >= min_weight]

    def mask(
        self,
        label: int,
        num_features: int = 5,
        positive_only: bool = True,
        negative_only: bool = False,
        min_weight: float = 0.0,
    ) -> np.ndarray:
        """``(H, W)`` int mask of the top superpixels: 1 (for), -1 (against), 0 elsewhere.

        Same selection as lime's ``get_image_and_mask``: the ``num_features`` largest
        ``|weight|``, restricted to positive (or negative) weights above ``min_weight``.

        Parameters
        ----------
        label
            One of :attr:`labels`.
        num_features
            At most this many superpixels are marked.
        positive_only, negative_only
            Choose among the positive (or the negative) weights only; at most one may be
            true. With both false, the largest ``|weight|`` of either sign.
        min_weight
            A chosen weight's size must exceed it when one sign is asked for, and reach it
            otherwise (lime's rule).

        Returns
        -------
        numpy.ndarray
            ``(H, W)`` with the dtype of :attr:`segments`: 1 on chosen superpixels (every
            chosen one when a sign is asked for), -1 on chosen negative ones otherwise.

        Raises
        ------
        ValueError
            If ``positive_only`` and ``negative_only`` are both true.
        KeyError
            If ``label`` was not explained.
        """
        out = np.zeros(self.segments.shape, dtype=self.segments.dtype)
        sign = np.zeros(len(self.coef[self._check_label(label)]), dtype=out.dtype)
        for j, w in self._chosen(label, num_features, positive_only, negative_only, min_weight):
            sign[j] = 1 if (positive_only or negative_only or w >= 0) else -1
        out[:] = sign[self.segments]
        return out

    def image_and_mask(
        self,
        label: int,
        positive_only: bool = True,
        negative_only: bool = False,
        hide_rest: bool = False,
        num_features: int = 5,
        min_weight: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """lime's ``get_image_and_mask``: (image to show, mask), same arguments, same values.

        With ``hide_rest`` everything but the chosen superpixels is black (a float64 array,
        as lime returns). Showing both signs paints the first channel (against) or the
        second (for) at the image's maximum.

        Parameters
        ----------
        label, positive_only, negative_only, num_features, min_weight
            As for :meth:`mask` (lime's order of arguments).
        hide_rest
            Black out the superpixels not chosen.

        Returns
        -------
        image, mask
            The image to show, ``(H, W, 3)`` (a copy; float64 with ``hide_rest``), and the
            :meth:`mask`.
        """
        mask = self.mask(label, num_features, positive_only, negative_only, min_weight)
        shown = mask != 0
        if hide_rest:
            temp = np.zeros(self.image.shape)
            temp[shown] = self.image[shown]
        else:
            temp = self.image.copy()
        if not (positive_only or negative_only):
            top = np.max(self.image)
            temp[mask < 0, 0] = top
            temp[mask > 0, 1] = top
        return temp, mask

    # ----- saving --------------------------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        labels = np.asarray(self.labels, dtype=np.int64)
        return {
            "image": self.image,
            "segments": self.segments,
            "samples": self.samples,
            "predictions": self.predictions,
            "distances": self.distances,
            "kernel_weights": self.kernel_weights,
            "labels": labels,
            "coef": np.stack([self.coef[int(lab)] for lab in labels]),
            "intercept": np.array([self.intercept[int(lab)] for lab in labels]),
            "score": np.array([self.score[int(lab)] for lab in labels]),
            "local_pred": np.array([self.local_pred[int(lab)] for lab in labels]),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the explanation to ``path`` (``.npz``, no pickle), atomically.

        The file is byte-identical for identical explanations (fixed zip timestamps), and an
        existing file is replaced only once the new one is complete.

        Parameters
        ----------
        path
            Where to write; the name must end in ``.npz``. Folders are created as needed.

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ValueError
            If ``path`` does not end in ``.npz``.

        Examples
        --------
        >>> import tempfile
        >>> from helpers.fitting import fit_explanation
        >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
        >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
        >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
        >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z, scores, labels=[1])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     again = Explanation.load(e.save(Path(folder) / "stripes.npz"))
        >>> again.as_list(1) == e.as_list(1), again.params == e.params
        (True, True)
        """
        selected = {str(lab): self.fits[lab].selected.tolist() for lab in self.labels}
        return write_explanation(Path(path), self._arrays(), {**self.params, "selected": selected})

    @classmethod
    def load(cls, path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> Explanation:
        """Read an explanation written by :meth:`save` (no pickle is ever loaded).

        The example of :meth:`save` reads back what it wrote.

        Parameters
        ----------
        path
            A ``.npz`` file written by :meth:`save`.
        max_bytes
            Refuse, unread, a file whose members declare more bytes than this in all
            (:data:`helpers.explanation_file.MAX_BYTES`, 256 MiB, by default).

        Returns
        -------
        Explanation
            Equal to the one saved, fits (with their selected superpixels) included. Params
            saved under an older name are renamed
            (:data:`helpers.explanation_file.RENAMED_PARAMS`: ``seed`` is ``random_state``).

        Raises
        ------
        ExplanationFileError
            If the file is not a saved explanation, or any member is missing, unknown, of the
            wrong shape or dtype, too large, holds values no explanation holds, or is
            inconsistent with the others; the message names the member. Everything is checked
            before an explanation is returned; unknown members are never decompressed.
        FileNotFoundError
            If there is no file at ``path``.
        """
        arrays, params = read_explanation(path, max_bytes=max_bytes)
        labels = tuple(int(x) for x in arrays["labels"])
        selected = params.pop("selected", {})
        num = arrays["coef"].shape[1]
        surrogate = Settings.from_params(params).surrogate
        fits = {}
        for i, lab in enumerate(labels):
            fit = SurrogateFit(
                coef=arrays["coef"][i],
                intercept=float(arrays["intercept"][i]),
                score=float(arrays["score"][i]),
                local_pred=float(arrays["local_pred"][i]),
                selected=np.asarray(selected.get(str(lab), range(num)), dtype=np.int64),
            )
            # not saved: computed again from the samples, as the fit computed them
            coef_se, intercept_se = standard_errors(
                arrays["samples"], arrays["predictions"][:, lab], arrays["kernel_weights"], fit,
                surrogate=surrogate,
            )  # fmt: skip
            fits[lab] = replace(fit, coef_se=coef_se, intercept_se=intercept_se)
        return cls(
            image=arrays["image"],
            segments=arrays["segments"],
            samples=arrays["samples"],
            predictions=arrays["predictions"],
            distances=arrays["distances"],
            kernel_weights=arrays["kernel_weights"],
            labels=labels,
            fits=fits,
            params=params,
        )
