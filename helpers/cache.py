"""Opt-in prediction cache: re-running an explanation skips the model entirely.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. Predictions are stored as
``.npz`` (no pickle) under ``<data cache>/predictions/``, keyed by a SHA-256 of everything
they depend on: the model's identity, the image, the segments, the masks, the fill and the
batch size. Any change of any of these is a different key, so a stale entry is never read.

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

__all__ = ["cache_enabled", "classifier_identity", "load", "prediction_key", "store"]


def cache_enabled(argument: bool | None) -> bool:
    """``argument`` if given, else whether ``LIME_TUTORIAL_PREDICTION_CACHE`` is on.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """
    if argument is not None:
        return bool(argument)
    return env_flag(PREDICTION_CACHE_ENV)


def classifier_identity(classifier_fn: Callable[..., Any]) -> str | None:
    """The classifier's ``fingerprint`` (attribute or zero-argument method), else ``None``.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
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
    masks: np.ndarray,
    hide_color: Any,
    batch_size: int,
) -> str:
    """SHA-256 over model identity, image, segments, masks, fill and batch size.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """
    h = hashlib.sha256()
    h.update(
        json.dumps({"model": identity, "hide": repr(hide_color), "batch": batch_size}).encode()
    )
    for array in (image, segments, masks):
        _update(h, array)
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / "predictions" / f"{key}.npz"


def load(key: str) -> np.ndarray | None:
    """Cached predictions for ``key``, or ``None``. An unreadable entry is ignored (warned).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """
    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                raise ValueError("key mismatch")
            return f["predictions"]
    except Exception as exc:  # a damaged entry is recomputed, never trusted
        warnings.warn(f"Ignoring damaged prediction cache entry {path}: {exc}", stacklevel=2)
        return None


def store(key: str, predictions: np.ndarray) -> Path:
    """Write predictions atomically (a temporary file renamed into place).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """
    path = _path(key)
    with atomic_path(path) as tmp:
        np.savez(tmp, key=np.array(key), predictions=predictions)
    return path
