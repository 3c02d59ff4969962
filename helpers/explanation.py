"""The result of LIME: the :class:`Explanation` record, reading it, saving and loading it.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. An explanation keeps every
intermediate (samples, predictions, distances, weights) and one
:class:`~helpers.surrogates.SurrogateFit` per label, so it can be read the way ``lime``'s is
(``as_list``, ``image_and_mask``), saved byte-reproducibly, and refitted without model calls.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .files import atomic_path
from .surrogates import SurrogateFit

__all__ = ["Explanation", "ExplanationFileError", "jsonable"]

_FORMAT = "lime-tutorial-explanation/1"
_MEMBERS = (
    "image", "segments", "samples", "predictions", "distances", "kernel_weights", "labels",
    "coef", "intercept", "score", "local_pred", "meta",
)  # fmt: skip


class ExplanationFileError(ValueError):
    """A file that :meth:`Explanation.load` refuses: not a complete, consistent explanation.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``, which saves and loads an
    explanation; no notebook names it. A ``ValueError``, so ``except ValueError`` catches it.

    Parameters
    ----------
    message
        The file and what is wrong with it.
    """


def _read_checked(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every member of a saved explanation, checked for presence, shape, dtype and consistency.

    The ``.npy`` headers are read and checked first, so an unknown or oversized member is
    refused without decompressing it.
    """

    def bad(problem: str) -> ExplanationFileError:
        return ExplanationFileError(
            f"{path} is not a valid saved explanation: {problem}. Fix: load a file written by "
            "Explanation.save (or save the explanation again)."
        )

    if path.suffix != ".npz":
        raise ExplanationFileError(
            f"{path}: explanations are saved as .npz files by Explanation.save; got a "
            f"{path.suffix or 'suffix-less'} file. Fix: pass the .npz file."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No saved explanation at {path}.")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise bad(f"not an .npz archive ({exc})") from None
    with archive:
        names = {name.removesuffix(".npy"): name for name in archive.namelist()}
        unknown = sorted(set(names) - set(_MEMBERS))
        missing = sorted(set(_MEMBERS) - set(names))
        if unknown:
            raise bad(f"unknown members {unknown} (not read)")
        if missing:
            raise bad(f"missing members {missing}")
        headers = {}
        for member, name in names.items():
            with archive.open(name) as f:
                try:
                    version = np.lib.format.read_magic(f)
                    reader = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = reader(f)
                except ValueError as exc:
                    raise bad(f"member {member!r} is not a .npy array ({exc})") from None
            if dtype.hasobject:
                raise bad(f"member {member!r} holds Python objects")
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if archive.getinfo(name).file_size > size + 4096:
                raise bad(f"member {member!r} is larger than its header says")
            headers[member] = (tuple(shape), dtype)
        _check_headers(headers, bad)
        arrays = {}
        for member, name in names.items():
            with archive.open(name) as f:
                arrays[member] = np.lib.format.read_array(f, allow_pickle=False)
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"its metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise bad(f"its format is not {_FORMAT!r}")
    if not isinstance(meta.get("params"), dict):
        raise bad("its metadata has no params")
    _check_values(arrays, meta["params"], bad)
    return arrays, meta


def _check_headers(headers: dict[str, tuple[tuple[int, ...], np.dtype]], bad) -> None:
    """Shapes and dtypes of the members agree with each other (checked before reading)."""
    shape = {member: h[0] for member, h in headers.items()}
    dtype = {member: h[1] for member, h in headers.items()}
    image, segments, samples = shape["image"], shape["segments"], shape["samples"]
    if len(image) != 3 or image[2] != 3 or image[:2] != segments:
        raise bad(f"image {image} and segments {segments} do not match")
    if dtype["image"] != np.uint8 and dtype["image"].kind != "f":
        raise bad(f"image has dtype {dtype['image']}")
    if dtype["segments"].kind not in "iu" or dtype["samples"].kind not in "iub":
        raise bad("segments and samples must hold integers")
    if len(samples) != 2 or samples[0] < 2:
        raise bad(f"samples has shape {samples}; expected (N >= 2, S)")
    n, s = samples
    predictions = shape["predictions"]
    if len(predictions) != 2 or predictions[0] != n:
        raise bad(f"predictions {predictions} do not match {n} samples")
    for member in ("distances", "kernel_weights"):
        if shape[member] != (n,):
            raise bad(f"{member} {shape[member]} do not match {n} samples")
    labels = shape["labels"]
    if len(labels) != 1 or labels[0] < 1 or dtype["labels"].kind not in "iu":
        raise bad(f"labels {labels} must be a non-empty list of class indices")
    if shape["coef"] != (labels[0], s):
        raise bad(f"coef {shape['coef']} does not match {labels[0]} labels and {s} superpixels")
    for member in ("intercept", "score", "local_pred"):
        if shape[member] != labels:
            raise bad(f"{member} {shape[member]} does not match {labels[0]} labels")
    if len(shape["meta"]) != 1 or dtype["meta"] != np.uint8:
        raise bad("meta must be JSON text")


def _check_values(arrays: dict[str, np.ndarray], params: dict[str, Any], bad) -> None:
    """Values: contiguous segments, 0/1 samples, labels in range, finite numbers."""
    s = arrays["samples"].shape[1]
    segments = arrays["segments"]
    if segments.min() != 0 or segments.max() != s - 1 or not np.bincount(segments.ravel()).all():
        raise bad(f"segments are not the labels 0..{s - 1} of the {s} sample columns")
    if not np.isin(arrays["samples"], (0, 1)).all():
        raise bad("samples hold values other than 0 and 1")
    labels = arrays["labels"]
    num_classes = arrays["predictions"].shape[1]
    if labels.min() < 0 or labels.max() >= num_classes or len(set(labels.tolist())) != len(labels):
        raise bad(f"labels {labels.tolist()} are not distinct classes 0..{num_classes - 1}")
    for member in ("predictions", "distances", "kernel_weights", "coef", "intercept", "score",
                   "local_pred"):  # fmt: skip
        if not np.isfinite(arrays[member]).all():
            raise bad(f"{member} holds NaN or infinite values")
    image = arrays["image"]
    if image.dtype.kind == "f" and not (
        np.isfinite(image).all() and 0 <= image.min() <= image.max() <= 1
    ):
        raise bad("a float image must hold values in [0, 1]")
    for label, chosen in dict(params.get("selected", {})).items():
        if not all(isinstance(j, int) and 0 <= j < s for j in chosen):
            raise bad(f"the superpixels selected for label {label} are not in 0..{s - 1}")


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
        Every setting used (seed, recipe, design, hide_color, distance, kernel, width,
        surrogate...), JSON-compatible, so that the explanation can be repeated.

    Examples
    --------
    Three superpixels (stripes of a 6 x 6 image), all 8 samples, and a model whose score for
    label 1 is ``0.5 z_0 + 0.25 z_2``:

    >>> from helpers.explain import fit_explanation
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
        selected = {str(lab): self.fits[int(lab)].selected.tolist() for lab in labels}
        meta = {"format": _FORMAT, "params": {**self.params, "selected": selected}}
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
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
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
        >>> from helpers.explain import fit_explanation
        >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
        >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
        >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
        >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z, scores, labels=[1])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     again = Explanation.load(e.save(Path(folder) / "stripes.npz"))
        >>> again.as_list(1) == e.as_list(1), again.params == e.params
        (True, True)
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"Explanations are saved as .npz; got {path.name!r}.")
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, array in self._arrays().items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Explanation:
        """Read an explanation written by :meth:`save` (no pickle is ever loaded).

        The example of :meth:`save` reads back what it wrote.

        Parameters
        ----------
        path
            A ``.npz`` file written by :meth:`save`.

        Returns
        -------
        Explanation
            Equal to the one saved, fits (with their selected superpixels) included.

        Raises
        ------
        ExplanationFileError
            If the file is not a saved explanation, or any member is missing, unknown, of the
            wrong shape or dtype, or inconsistent with the others. Everything is checked before
            an explanation is returned; unknown members are never decompressed.
        FileNotFoundError
            If there is no file at ``path``.
        """
        arrays, meta = _read_checked(Path(path))
        labels = tuple(int(x) for x in arrays["labels"])
        params = dict(meta["params"])
        selected = params.pop("selected", {})
        num = arrays["coef"].shape[1]
        fits = {
            lab: SurrogateFit(
                coef=arrays["coef"][i],
                intercept=float(arrays["intercept"][i]),
                score=float(arrays["score"][i]),
                local_pred=float(arrays["local_pred"][i]),
                selected=np.asarray(selected.get(str(lab), range(num)), dtype=np.int64),
            )
            for i, lab in enumerate(labels)
        }
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

    # ----- refitting without model calls ---------------------------------------------------
    def refit(self, **settings: Any) -> Explanation:
        """The same samples and predictions fitted again with other settings: no model calls.

        Introduced in ``notebooks/04_kernel_weighting.ipynb`` (the paper's kernel on lime's
        samples); notebooks 05 and 09 refit too.

        Parameters
        ----------
        **settings
            Any of ``surrogate``, ``num_features``, ``kernel``, ``kernel_width``,
            ``distance`` and ``labels``; the rest is taken from :attr:`params`. The fill
            (``hide_color``) cannot change: the predictions were made with it.

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
        >>> from helpers.explain import fit_explanation
        >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
        >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
        >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
        >>> e = fit_explanation(np.zeros((6, 6, 3), np.uint8), segments, z, scores, labels=[1])
        >>> ols = e.refit(surrogate="ols")  # no penalty: the model's own weights come back
        >>> (ols.coef[1].round(6) + 0.0).tolist(), ols.params["surrogate"]
        ([0.5, 0.0, 0.25], 'ols')
        """
        from .explain import fit_explanation

        allowed = {"surrogate", "num_features", "kernel", "kernel_width", "distance", "labels"}
        unknown = set(settings) - allowed
        if unknown:
            raise TypeError(
                f"refit cannot change {sorted(unknown)}: only {sorted(allowed)} can change "
                "without new model calls. Fix: call explain(...) again for the others."
            )
        p = self.params
        options = {
            name: settings.get(name, p.get(name, default))
            for name, default in (
                ("surrogate", "ridge"), ("num_features", None), ("kernel", "lime"),
                ("kernel_width", 0.25), ("distance", "cosine"),
            )
        }  # fmt: skip
        return fit_explanation(
            self.image, self.segments, self.samples, self.predictions,
            settings.get("labels", self.labels), hide_color=p.get("hide_color"),
            params=p, **options,
        )  # fmt: skip


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays, numpy scalars and tuples turned into JSON types.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``, where the ``params`` of an
    explanation are saved as JSON; no notebook calls it.

    Parameters
    ----------
    value
        Any value; dicts, lists and tuples are converted recursively.

    Returns
    -------
    object
        The same data made of dicts (with ``str`` keys), lists, Python numbers, strings,
        booleans and ``None``; other objects are returned as they are.

    Examples
    --------
    >>> jsonable({"a": np.arange(2), 3: (np.float64(0.5),)})
    {'a': [0, 1], '3': [0.5]}
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
