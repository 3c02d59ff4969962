"""Opt-in prediction cache: re-running an explanation skips the model entirely.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, whose :func:`explain` reads and
writes it through :func:`helpers.prediction.predict_samples`; no notebook imports it.
Predictions are stored as ``.npz`` (no pickle) under ``<data cache>/predictions/``, keyed by a
SHA-256 of everything they depend on: the model's identity, the image, the segments, the 0/1
samples, the hide color (``hide_color``) and the batch size. Any change of any of these is a
different key, so a stale entry is never read.

Turn it on with ``explain(..., cache=True)`` or ``LIME_TUTORIAL_PREDICTION_CACHE=1``.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .data import cache_dir
from .files import atomic_path
from .settings import PREDICTION_CACHE_ENV, env_flag

__all__ = [
    "UncachedPredictionWarning",
    "cache_enabled",
    "classifier_identity",
    "load",
    "prediction_key",
    "store",
]


class UncachedPredictionWarning(UserWarning):
    """The prediction cache was asked for but could not be used; nothing is lost.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook names it. An
    entry that fails its checks is discarded and recomputed, a model without a stable identity
    is not cached, and a cache that cannot be written leaves the predictions uncached.

    Parameters
    ----------
    message
        Which of these happened, and why.
    """


def cache_enabled(argument: bool | None) -> bool:
    """``argument`` if given, else whether ``LIME_TUTORIAL_PREDICTION_CACHE`` is on.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    argument
        The ``cache`` argument of :func:`helpers.explain.explain`: ``True`` or ``False``
        decides, ``None`` leaves it to the environment variable.

    Returns
    -------
    bool

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {PREDICTION_CACHE_ENV: "yes"}):
    ...     cache_enabled(None), cache_enabled(False)
    (True, False)
    """
    if argument is not None:
        return bool(argument)
    return env_flag(PREDICTION_CACHE_ENV)


def classifier_identity(classifier_fn: Callable[..., Any]) -> str | None:
    """The classifier's ``fingerprint`` (attribute or zero-argument method), else ``None``.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    classifier_fn
        Any callable; every :class:`helpers.models.ImageClassifier` has a ``fingerprint``
        method.

    Returns
    -------
    str or None
        The fingerprint as text; ``None`` means the model cannot be identified, so its
        predictions are not cached.

    Examples
    --------
    >>> def model(images):
    ...     return images.mean(axis=(1, 2))
    >>> classifier_identity(model) is None
    True
    >>> model.fingerprint = "mean-colour-v1"
    >>> classifier_identity(model)
    'mean-colour-v1'
    """
    fingerprint = getattr(classifier_fn, "fingerprint", None)
    if callable(fingerprint):
        fingerprint = fingerprint()
    return None if fingerprint is None else str(fingerprint)


def _update(h: Any, array: np.ndarray) -> None:
    a = np.ascontiguousarray(array)
    h.update(repr((a.shape, a.dtype.str)).encode())
    h.update(a.tobytes())


def prediction_key(
    identity: str,
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    hide_color: Any,
    batch_size: int,
) -> str:
    """SHA-256 over model identity, image, segments, samples, hide color and batch size.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    identity
        The model's identity (:func:`classifier_identity`).
    image, segments
        The image explained and its superpixel labels.
    samples
        The ``(N, S)`` 0/1 samples whose perturbed images are predicted.
    hide_color
        The hide color of hidden superpixels; it enters the key through its ``repr``.
    batch_size
        Images per model call (outputs may differ in the last bits between batch sizes).

    Returns
    -------
    str
        64 hexadecimal digits. Arrays count with their shape and dtype, so equal values in
        another dtype give another key.

    Examples
    --------
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> segments = np.repeat([[0, 0, 0, 0, 1, 1, 1, 1]], 8, axis=0)
    >>> samples = np.array([[1, 1], [0, 1]], np.uint8)
    >>> key = prediction_key("model-v1", image, segments, samples, None, 32)
    >>> len(key), key == prediction_key("model-v1", image, segments, samples, 0, 32)
    (64, False)
    """
    h = hashlib.sha256()
    h.update(
        json.dumps({"model": identity, "hide": repr(hide_color), "batch": batch_size}).encode()
    )
    for array in (image, segments, samples):
        _update(h, array)
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / "predictions" / f"{key}.npz"


def load(key: str) -> np.ndarray | None:
    """Cached predictions for ``key``, or ``None``. An unreadable entry is ignored (warned).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    key
        A :func:`prediction_key`.

    Returns
    -------
    numpy.ndarray or None
        The predictions stored under ``key``, or ``None`` when there are none (or they cannot
        be read).

    Warns
    -----
    UserWarning
        When the entry exists but is damaged or belongs to another key; it is not used.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with mock.patch.dict(os.environ, {"LIME_TUTORIAL_CACHE": folder}):
    ...         print(load("0" * 64))
    None
    """
    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                raise ValueError("it belongs to another key")
            predictions = f["predictions"]
            if "digest" not in f.files or str(f["digest"]) != str(_digest(predictions)):
                raise ValueError("its contents changed after it was written")
            return predictions
    except Exception as exc:  # a damaged entry is recomputed, never trusted
        warnings.warn(
            f"Discarded the damaged prediction cache entry {path} ({exc}); the predictions are "
            "computed again and the entry replaced.",
            UncachedPredictionWarning,
            stacklevel=2,
        )
        return None


def store(key: str, predictions: np.ndarray) -> Path:
    """Write predictions atomically (a temporary file renamed into place).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it.

    Parameters
    ----------
    key
        A :func:`prediction_key`; it names the file and is stored inside it.
    predictions
        The ``(N, K)`` model outputs to keep.

    Returns
    -------
    pathlib.Path
        The entry written, ``<cache dir>/predictions/<key>.npz``.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with mock.patch.dict(os.environ, {"LIME_TUTORIAL_CACHE": folder}):
    ...         path = store("0" * 64, np.eye(2))
    ...         print(path.parent.name, path.suffix, load("0" * 64).tolist())
    predictions .npz [[1.0, 0.0], [0.0, 1.0]]
    """
    path = _path(key)
    predictions = np.asarray(predictions)
    with atomic_path(path) as tmp:
        np.savez(tmp, key=np.array(key), predictions=predictions, digest=_digest(predictions))
    return path


def _digest(predictions: np.ndarray) -> np.ndarray:
    """SHA-256 of the predictions' shape, dtype and bytes: a changed entry is recognised."""
    h = hashlib.sha256()
    _update(h, predictions)
    return np.array(h.hexdigest())
