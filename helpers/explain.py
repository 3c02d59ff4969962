"""The whole of LIME in one call, and the :class:`Explanation` it returns.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. :func:`explain` chains the steps
of the earlier notebooks: :mod:`~helpers.segmentation`, :mod:`~helpers.perturbation`,
the classifier, :mod:`~helpers.kernels` and :mod:`~helpers.surrogates`.

Differences from ``lime.lime_image`` (each deliberate): every random choice comes from
``random_state`` (the seed drawn when it is ``None`` is recorded); ``labels``, when given, is
what gets explained (lime ignores it when ``top_labels`` is set); segment labels need not
start at 0 or be contiguous; perturbed images are built per batch without a Python loop.
For the same segments, samples and fill the numbers equal lime's.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_path
from .kernels import DISTANCES, exponential_kernel, mask_distances
from .perturbation import hidden_image, perturb_batches, sample_masks
from .segmentation import relabel, segment
from .surrogates import SURROGATES, SurrogateFit, fit_surrogate
from .validation import check_batch_size, check_image, check_predictions, check_segments

__all__ = ["RECIPES", "ConstantPredictionWarning", "Explanation", "explain", "resolve_recipe"]

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

PAPER_GRAY = 154  # the gray of the hidden parts in the paper's Figure 4 (0..255)


class _Unset:
    """Marks an :func:`explain` argument left to the recipe."""

    def __repr__(self) -> str:
        return "<from recipe>"


UNSET: Any = _Unset()


def resolve_recipe(recipe: str, image_dtype: np.dtype, **given: Any) -> dict[str, Any]:
    """The settings of ``recipe`` with every explicitly given (not ``UNSET``) value on top.

    Introduced in ``notebooks/07_paper_figures.ipynb``. ``hide_color="gray"`` becomes the
    paper's gray in the image's scale (154 for uint8, 154/255 for floats).
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
        gray = PAPER_GRAY if np.dtype(image_dtype) == np.uint8 else PAPER_GRAY / 255.0
        settings["hide_color"] = gray
    return settings


_FORMAT = "lime-tutorial-explanation/1"


class ConstantPredictionWarning(UserWarning):
    """The model gave the same score to every sample, so the explanation is all zeros.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """


@dataclass
class Explanation:
    """A LIME explanation of one image (see :func:`explain`).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. Superpixel ``j`` is
    ``segments == j``; ``coef[label][j]`` is its weight for ``label``.
    """

    image: np.ndarray
    segments: np.ndarray
    samples: np.ndarray
    predictions: np.ndarray
    distances: np.ndarray
    kernel_weights: np.ndarray
    labels: tuple[int, ...]
    coef: dict[int, np.ndarray]
    intercept: dict[int, float]
    score: dict[int, float]
    local_pred: dict[int, float]
    params: dict[str, Any] = field(default_factory=dict)

    # ----- reading the explanation -------------------------------------------------------
    def _check_label(self, label: int) -> int:
        label = int(label)
        if label not in self.coef:
            raise KeyError(f"Label {label} is not explained here; explained: {self.labels}.")
        return label

    def as_list(self, label: int) -> list[tuple[int, float]]:
        """``(superpixel, weight)`` pairs, largest ``|weight|`` first (lime's ``local_exp``).

        Only superpixels the surrogate used are listed (all of them for ``"ridge"``).
        """
        label = self._check_label(label)
        coef = self.coef[label]
        used = self.params.get("selected", {}).get(str(label))
        idx = np.arange(coef.size) if used is None else np.asarray(used, dtype=np.int64)
        order = sorted(idx.tolist(), key=lambda j: abs(coef[j]), reverse=True)
        return [(j, float(coef[j])) for j in order]

    def heatmap(
        self, label: int, *, positive_only: bool = False, smooth_sigma: float = 0.0
    ) -> np.ndarray:
        """``(H, W)`` float map: each pixel carries its superpixel's weight for ``label``.

        ``positive_only`` keeps only positive weights (others 0); ``smooth_sigma > 0`` then
        blurs the map with a Gaussian of that many pixels, as the MATLAB write-up's heatmap
        does (lime and the paper do not smooth).
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
        meta = {"format": _FORMAT, "params": self.params}
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
        """Read an explanation written by :meth:`save` (no pickle is ever loaded)."""
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a saved Explanation ({_FORMAT}).")
        labels = tuple(int(x) for x in arrays["labels"])
        return cls(
            image=arrays["image"],
            segments=arrays["segments"],
            samples=arrays["samples"],
            predictions=arrays["predictions"],
            distances=arrays["distances"],
            kernel_weights=arrays["kernel_weights"],
            labels=labels,
            coef={lab: arrays["coef"][i] for i, lab in enumerate(labels)},
            intercept={lab: float(arrays["intercept"][i]) for i, lab in enumerate(labels)},
            score={lab: float(arrays["score"][i]) for i, lab in enumerate(labels)},
            local_pred={lab: float(arrays["local_pred"][i]) for i, lab in enumerate(labels)},
            params=meta["params"],
        )


def _seed_from(random_state: Any) -> tuple[np.random.Generator, int | None]:
    if random_state is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        return np.random.default_rng(seed), seed
    if isinstance(random_state, np.random.Generator):
        return random_state, None
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state)), int(random_state)
    raise TypeError(
        "random_state must be an int seed, a numpy Generator or None, "
        f"got {type(random_state).__name__}."
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _prefetched(batches: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Build the next batch in a worker thread while the caller runs the model on this one.

    numpy and TensorFlow release the GIL for their heavy work, so perturbing and inference
    overlap; at most two batches exist at a time.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="perturb") as pool:
        future = pool.submit(next, batches, None)
        while (batch := future.result()) is not None:
            future = pool.submit(next, batches, None)
            yield batch


def predict_samples(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    *,
    hide_color: Any = None,
    batch_size: int = 32,
    progress: bool = True,
    cache: bool | None = None,
) -> np.ndarray:
    """The classifier's output on every perturbed image, streamed batch by batch.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. The next batch is perturbed
    while the model works on the current one. With ``cache`` (or
    ``LIME_TUTORIAL_PREDICTION_CACHE=1``) and a classifier that has a ``fingerprint`` (as
    :func:`helpers.models.classifier_fn` gives), predictions are reused across runs.

    Returns
    -------
    numpy.ndarray
        ``(N, K)`` float64 predictions; only the masks and this array grow with ``N``.
    """
    from tqdm.auto import tqdm

    from . import cache as prediction_cache

    key = None
    if prediction_cache.cache_enabled(cache):
        identity = prediction_cache.classifier_identity(classifier_fn)
        if identity is None:
            message = (
                "The prediction cache needs to identify the model: give classifier_fn a "
                "'fingerprint' attribute (helpers.models.classifier_fn does)."
            )
            if cache:
                raise ValueError(message)
            warnings.warn(message + " Predictions are not cached.", stacklevel=2)
        else:
            key = prediction_cache.prediction_key(
                identity, image, segments, samples, hide_color, batch_size
            )
            cached = prediction_cache.load(key)
            if cached is not None and cached.shape[0] == len(samples):
                return cached

    n = len(samples)
    predictions = None
    batches = perturb_batches(
        image, segments, samples, hide_color=hide_color, batch_size=batch_size
    )
    with tqdm(total=n, disable=not progress, desc="model calls", unit="img") as bar:
        start = 0
        for batch in _prefetched(batches):
            out = check_predictions(
                classifier_fn(batch),
                len(batch),
                None if predictions is None else predictions.shape[1],
            )
            if predictions is None:
                predictions = np.empty((n, out.shape[1]), dtype=np.float64)
            predictions[start : start + len(batch)] = out
            start += len(batch)
            bar.update(len(batch))
    assert predictions is not None and start == n
    if key is not None:
        prediction_cache.store(key, predictions)
    return predictions


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

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.

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
        Your own ``(N, S)`` 0/1 masks (row 0 should be all ones, the original); by default
        ``num_samples`` masks drawn from ``random_state`` with ``design``.
    recipe
        A preset of the six settings below (:data:`RECIPES`): ``"lime"`` (the default, equal
        to the ``lime`` package), ``"paper"`` (the KDD'16 paper) or ``"matlab"`` (the MATLAB
        write-up). Any setting given explicitly overrides the recipe's.
    design
        How the masks are drawn (:func:`helpers.perturbation.sample_masks`): lime's
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
    """
    image = check_image(image)
    settings = resolve_recipe(
        recipe, image.dtype, design=design, hide_color=hide_color, distance=distance,
        kernel=kernel, kernel_width=kernel_width, surrogate=surrogate, num_features=num_features,
    )  # fmt: skip
    design, hide_color = settings["design"], settings["hide_color"]
    surrogate, num_features = settings["surrogate"], settings["num_features"]
    kernel_width = settings["kernel_width"]
    rng, seed = _seed_from(random_state)
    segmentation_params = dict(segmentation_params or {})
    if segments is None:
        segmentation_seed = int(rng.integers(2**31 - 1))
        segments = segment(image, segmentation, seed=segmentation_seed, **segmentation_params)
    else:
        segmentation_seed = None
        segments = relabel(check_segments(segments, image.shape))
    num_segments = int(segments.max()) + 1
    if num_segments < 2:
        raise ValueError(
            "The segmentation found a single superpixel. Fix: pass segmentation_params for a "
            "finer segmentation (e.g. a smaller kernel_size) or your own segments."
        )
    samples_drawn = samples is None
    if samples_drawn:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
            raise TypeError(f"num_samples must be an integer, got {num_samples!r}.")
        if num_samples < 2:
            raise ValueError(
                f"num_samples must be at least 2 (the original and one perturbation), "
                f"got {num_samples}. lime's default is 1000."
            )
        samples = sample_masks(int(num_samples), num_segments, rng, design=design)
    else:
        samples = np.asarray(samples)
        if samples.ndim != 2 or samples.shape[1] != num_segments or len(samples) < 2:
            raise ValueError(
                f"samples must be (N >= 2, {num_segments}) for {num_segments} superpixels, "
                f"got {samples.shape}."
            )
        if not np.isin(samples, (0, 1)).all():
            raise ValueError("samples must contain only 0 and 1.")
        samples = samples.astype(np.uint8)
    batch_size = check_batch_size(batch_size)

    predictions = predict_samples(
        image, segments, samples, classifier_fn,
        hide_color=hide_color, batch_size=batch_size, progress=progress, cache=cache,
    )  # fmt: skip
    num_classes = predictions.shape[1]
    if labels is not None:
        explained = [int(lab) for lab in np.atleast_1d(labels)]
        bad = [lab for lab in explained if not 0 <= lab < num_classes]
        if bad or not explained:
            raise ValueError(
                f"labels {bad or list(labels)} are outside the classifier's outputs "
                f"0..{num_classes - 1}. Fix: pass class indices the classifier returns."
            )
    else:
        if top_labels is None or int(top_labels) < 1:
            raise ValueError("Give labels=[...] or top_labels >= 1.")
        # lime's ordering: argsort of the original's scores, best first.
        explained = [int(j) for j in np.argsort(predictions[0])[-int(top_labels) :][::-1]]

    fill = hidden_image(image, segments, hide_color) if settings["distance"] == "pixel_l2" else None
    distances = mask_distances(
        samples, settings["distance"], image=image, fill=fill, segments=segments
    )
    weights = exponential_kernel(distances, kernel_width, kernel=settings["kernel"])
    coef, intercept, score, local_pred, selected = {}, {}, {}, {}, {}
    for label in explained:
        target = predictions[:, label]
        if np.ptp(target) == 0.0:
            warnings.warn(
                f"The model's score for label {label} is the same ({target[0]:.6g}) for every "
                "sample, so no superpixel matters to it: all weights are zero. Check that the "
                "model responds to the image (and that hide_color differs from the image).",
                ConstantPredictionWarning,
                stacklevel=2,
            )
            # Exactly zero weights, a surrogate that predicts the constant (R² = 1 as sklearn).
            fit = SurrogateFit(
                coef=np.zeros(num_segments),
                intercept=float(target[0]),
                score=1.0,
                local_pred=float(target[0]),
                selected=np.arange(num_segments),
            )
        else:
            fit = fit_surrogate(
                samples, target, weights, method=surrogate, num_features=num_features
            )
        coef[label], intercept[label] = fit.coef, fit.intercept
        score[label], local_pred[label] = fit.score, fit.local_pred
        selected[str(label)] = fit.selected.tolist()

    params = _jsonable(
        {
            "seed": seed,
            "segmentation": None if segmentation_seed is None else segmentation,
            "segmentation_params": segmentation_params,
            "segmentation_seed": segmentation_seed,
            "num_samples": len(samples),
            "recipe": recipe,
            "design": design if samples_drawn else None,
            "distance": settings["distance"],
            "kernel": settings["kernel"],
            "hide_color": hide_color,
            "kernel_width": kernel_width,
            "surrogate": surrogate,
            "num_features": num_features,
            "selected": selected,
        }
    )
    return Explanation(
        image=image,
        segments=segments,
        samples=samples,
        predictions=predictions,
        distances=distances,
        kernel_weights=weights,
        labels=tuple(explained),
        coef=coef,
        intercept=intercept,
        score=score,
        local_pred=local_pred,
        params=params,
    )
