"""Step 3 of LIME: the model's predictions on every perturbed image, in batches.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, whose :func:`explain` calls it;
no notebook imports it (``notebooks/03_inception_predictions.ipynb`` calls the model on
perturbed images by hand). Perturbed images are built one batch at a time
(:func:`helpers.perturbation.perturb_batches`) in a worker thread while the model runs on the
previous batch, every output is validated, and predictions can be cached across runs
(:mod:`helpers.cache`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .perturbation import _hidden_image, _perturb_batches
from .segmentation import num_superpixels, relabel
from .setting_checks import check_hide_color
from .validation import (
    LARGE_BATCH_BYTES,
    LargeImageWarning,
    check_batch_size,
    check_predictions,
    check_samples,
)

__all__ = ["check_batch_memory", "predict_samples"]


def check_batch_memory(image_shape: tuple[int, ...], itemsize: int, batch_size: int) -> int:
    """Estimate the peak bytes of the perturbed batches and warn when it is large.

    Belongs with ``notebooks/02_perturbation.ipynb``; no notebook calls it
    (:func:`predict_samples` does). Two batches exist at a time (one being
    built while the model runs on the other), and the classifier converts one to float32, so
    the estimate is ``batch_size * H * W * C * (2 * itemsize + 4)``.

    Parameters
    ----------
    image_shape
        ``(H, W, C)`` of the image explained.
    itemsize
        Bytes per value of the image (1 for uint8).
    batch_size
        Images per classifier call.

    Returns
    -------
    int
        The estimated peak in bytes.

    Warns
    -----
    LargeImageWarning
        When the estimate exceeds :data:`LARGE_BATCH_BYTES` (1 GiB), with the fix.

    Examples
    --------
    >>> check_batch_memory((224, 224, 3), 1, 32) / 2**20  # MiB
    27.5625
    """
    values = int(np.prod(image_shape[:3]))
    peak = int(batch_size) * values * (2 * int(itemsize) + 4)
    if peak > LARGE_BATCH_BYTES:
        per_image = values * (2 * int(itemsize) + 4)
        fits = max(1, LARGE_BATCH_BYTES // per_image)
        warnings.warn(
            f"The image is {image_shape[1]} x {image_shape[0]} pixels: batches of {batch_size} "
            f"perturbed copies will take about {peak / 2**30:.1f} GiB. Fix: resize the image "
            f"to the model's input size first (helpers.images.resize_image), or pass "
            f"batch_size={fits} or less.",
            LargeImageWarning,
            stacklevel=4,
        )
    return peak


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

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` and :mod:`helpers.metrics` do). The next batch is perturbed
    while the model works on the current one. With ``cache`` (or
    ``LIME_TUTORIAL_PREDICTION_CACHE=1``) and a classifier that has a ``fingerprint`` (every
    :class:`helpers.models.ImageClassifier` has one), predictions are reused across runs.

    Parameters
    ----------
    image
        ``(H, W, 3)`` the image explained.
    segments
        ``(H, W)`` superpixel labels (made contiguous here).
    samples
        ``(N, S)`` 0/1 rows, one perturbed image each.
    classifier_fn
        Batch ``(B, H, W, 3)`` to ``(B, K)`` scores; every batch's output is validated.
    hide_color
        What hidden superpixels become (see :func:`helpers.perturbation.hidden_image`).
    batch_size
        Images per call; memory is bounded by one batch.
    progress
        Show a progress bar over the model calls.
    cache
        Reuse stored predictions (see :mod:`helpers.cache`); ``None`` follows
        ``LIME_TUTORIAL_PREDICTION_CACHE``.

    Returns
    -------
    numpy.ndarray
        ``(N, K)`` float64 predictions; only the samples and this array grow with ``N``.

    Raises
    ------
    ValueError
        If a batch's output is not ``(B, K)`` finite numbers with the same ``K`` throughout
        (:func:`helpers.validation.check_predictions`), or ``cache=True`` for a classifier
        without a ``fingerprint``.

    Warns
    -----
    UserWarning
        When ``LIME_TUTORIAL_PREDICTION_CACHE`` asks for the cache but the classifier has no
        ``fingerprint``: the predictions are made, not cached.

    Examples
    --------
    >>> image = np.full((8, 8, 3), 255, np.uint8)
    >>> segments = np.repeat([[0, 0, 0, 0, 1, 1, 1, 1]], 8, axis=0)
    >>> def brightness(images):
    ...     b = images.mean(axis=(1, 2, 3)) / 255
    ...     return np.stack([1 - b, b], axis=1)
    >>> samples = np.array([[1, 1], [1, 0], [0, 0]])
    >>> p = predict_samples(image, segments, samples, brightness, hide_color=0, progress=False,
    ...                     cache=False)
    >>> p[:, 1].tolist()
    [1.0, 0.5, 0.0]
    """
    image = np.asarray(image)
    segments = relabel(segments)
    samples = check_samples(samples, num_superpixels(segments), min_rows=1)
    hide_color = check_hide_color(hide_color, image)
    hidden = _hidden_image(image, segments, hide_color)
    return _predict_samples(
        image, segments, samples, classifier_fn, hidden=hidden, hide_color=hide_color,
        batch_size=check_batch_size(batch_size), progress=progress, cache=cache,
    )  # fmt: skip


def _predict_samples(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    *,
    hidden: np.ndarray,
    hide_color: Any,
    batch_size: int,
    progress: bool,
    cache: bool | None,
) -> np.ndarray:
    """:func:`predict_samples` for checked input and the hidden image made from ``hide_color``.

    ``hide_color`` only keys the cache entry; the perturbed images are made from ``hidden``.
    """
    check_batch_memory(image.shape, image.itemsize, batch_size)
    from tqdm.auto import tqdm

    from . import cache as prediction_cache

    key = None
    if prediction_cache.cache_enabled(cache):
        identity = prediction_cache.classifier_identity(classifier_fn)
        if identity is None and getattr(classifier_fn, "fingerprint", None) is None and cache:
            raise ValueError(
                "The prediction cache needs to identify the model: give classifier_fn a "
                "'fingerprint' attribute (every helpers.models classifier has one)."
            )
        if identity is None:
            warnings.warn(
                "Predictions are not cached: the model has no stable identity (no "
                "'fingerprint', or a preprocessing function such as a lambda or a "
                "functools.partial that cannot be told apart from another). Fix: give the "
                "classifier a fingerprint, or a module-level preprocessing function.",
                prediction_cache.UncachedPredictionWarning,
                stacklevel=3,
            )
        else:
            key = prediction_cache.prediction_key(
                identity, image, segments, samples, hide_color, batch_size
            )
            cached = prediction_cache.load(key)
            if cached is not None:
                try:
                    return check_predictions(cached, len(samples), None).astype(np.float64)
                except ValueError as exc:  # validated like fresh outputs; never trusted
                    warnings.warn(
                        f"Discarded a prediction cache entry that fails the output checks "
                        f"({exc}); the predictions are computed again and the entry replaced.",
                        prediction_cache.UncachedPredictionWarning,
                        stacklevel=3,
                    )

    n = len(samples)
    predictions = None
    batches = _perturb_batches(image, segments, samples, hidden, batch_size)
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
        try:
            prediction_cache.store(key, predictions)
        except OSError as exc:  # the cache is optional: never lose the finished work
            warnings.warn(
                f"The predictions could not be written to the prediction cache "
                f"({type(exc).__name__}: {exc}); they are returned but not cached. Fix: make "
                "the cache directory writable, or point LIME_TUTORIAL_CACHE at a writable "
                "directory (or turn the cache off).",
                prediction_cache.UncachedPredictionWarning,
                stacklevel=3,
            )
    return predictions
