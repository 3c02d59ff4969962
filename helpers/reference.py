"""The reference ``lime`` package, driven with our samples so the two can be compared.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. ``lime`` is a test dependency
(``pip install -e ".[test]"``, which ``make run`` and ``make test`` do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FixedMasks", "lime_explain_with_samples"]


class FixedMasks(np.random.RandomState):
    """A ``RandomState`` whose ``randint`` returns given masks (lime's only random draw).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.

    lime draws its samples with ``random_state.randint(0, 2, N * S)``; this hands it ours.
    Every other use of the generator behaves as ``RandomState(0)``.
    """

    def __init__(self, masks: np.ndarray):
        super().__init__(0)
        self._masks = np.asarray(masks, dtype=np.int64)

    def randint(self, low, high=None, size=None, dtype=int):
        if size is None:
            return super().randint(low, high)
        if int(np.prod(size)) != self._masks.size:
            raise ValueError(f"lime asked for {size} values, the masks have {self._masks.size}.")
        return self._masks.reshape(-1).copy()


def lime_explain_with_samples(
    image: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    segments: np.ndarray,
    samples: np.ndarray,
    **kwargs: Any,
):
    """Run ``lime``'s ``LimeImageExplainer.explain_instance`` on our segments and samples.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. ``segments`` must be
    labelled ``0..S-1`` (lime assumes it) and ``samples`` row 0 all ones. Other keyword
    arguments go to ``explain_instance`` (``hide_color``, ``top_labels``, ``batch_size``...).
    """
    try:
        from lime.lime_image import LimeImageExplainer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The reference package lime is not installed. Fix: pip install -e '.[test]' "
            "(make run and make test do this)."
        ) from exc
    explainer = LimeImageExplainer()
    fixed = FixedMasks(samples)
    explainer.random_state = fixed
    explainer.base.random_state = fixed
    return explainer.explain_instance(
        image,
        classifier_fn,
        num_samples=len(samples),
        segmentation_fn=lambda _: segments,
        random_seed=0,
        **kwargs,
    )
