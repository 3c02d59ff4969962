"""The reference ``lime`` package, driven with our samples so the two can be compared.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. ``lime`` is a test dependency
(``pip install -e ".[test]"``, which ``make run`` and ``make test`` do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np

__all__ = ["FixedSamples", "lime_explain_with_samples"]


class FixedSamples(np.random.RandomState):
    """A ``RandomState`` whose ``randint`` returns given 0/1 samples (lime's only random draw).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook names it
    (:func:`lime_explain_with_samples` hands it to lime).

    lime draws its samples with ``random_state.randint(0, 2, N * S)``; this hands it ours.
    Every other use of the generator behaves as ``RandomState(0)``.

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 samples, row 0 all ones, in the order lime should use them.

    Examples
    --------
    >>> fixed = FixedSamples(np.array([[1, 1], [0, 1]]))
    >>> fixed.randint(0, 2, 4).tolist()
    [1, 1, 0, 1]
    """

    def __init__(self, samples: np.ndarray):
        super().__init__(0)
        self._samples = np.asarray(samples, dtype=np.int64)

    def randint(self, low, high=None, size=None, dtype=int):
        """The samples, flattened, when ``size`` is given; else one draw of ``RandomState(0)``.

        Parameters
        ----------
        low, high
            Passed on when ``size`` is ``None``; ignored otherwise (lime asks for 0 and 2).
        size
            The number (or shape) of values lime asks for; it must equal ``N * S``.
        dtype
            Ignored; the samples are returned as int64.

        Returns
        -------
        numpy.ndarray or int
            ``(N * S,)`` int64, a fresh copy of the samples row after row.

        Raises
        ------
        ValueError
            If lime asks for another number of values.
        """
        if size is None:
            return super().randint(low, high)
        if int(np.prod(size)) != self._samples.size:
            raise ValueError(
                f"lime asked for {size} values, the samples have {self._samples.size}."
            )
        return self._samples.reshape(-1).copy()


def lime_explain_with_samples(
    image: np.ndarray,
    classifier_fn: Callable[[np.ndarray], np.ndarray],
    segments: np.ndarray,
    samples: np.ndarray,
    *,
    progress: bool = False,
    **kwargs: Any,
):
    """Run ``lime``'s ``LimeImageExplainer.explain_instance`` on our segments and samples.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.

    Parameters
    ----------
    image
        ``(H, W, 3)`` the image explained.
    classifier_fn
        Batch of images to ``(B, K)`` scores.
    segments
        ``(H, W)`` labels ``0..S-1`` (lime assumes it).
    samples
        ``(N, S)`` 0/1 rows, row 0 all ones; lime predicts exactly these.
    progress
        Show lime's progress bar (its ``tqdm`` over the batches); off by default, as
        ``explain(..., progress=False)`` in the notebooks.
    **kwargs
        Passed to ``explain_instance`` (``hide_color``, ``labels``, ``top_labels``,
        ``batch_size``...).

    Returns
    -------
    lime.lime_image.ImageExplanation
        lime's own explanation (``local_exp``, ``intercept``, ``score``...).

    Raises
    ------
    ImportError
        If ``lime`` is not installed.

    Examples
    --------
    lime's explanation and ours, for the same samples, agree (the lines that call lime are
    skipped as doctests: importing lime and scikit-learn takes about a second;
    ``tests/test_pipeline_vs_lime.py`` runs this comparison on many more cases):

    >>> from helpers.explain import explain
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(2)
    >>> z = (np.arange(16)[::-1, None] >> np.arange(4)) & 1  # every sample of 4 superpixels
    >>> ours = explain(image, model, segments=segments, samples=z, labels=[1], hide_color=0,
    ...                progress=False)
    >>> theirs = lime_explain_with_samples(image, model, segments, z, labels=[1],
    ...                                    top_labels=None, hide_color=0)  # doctest: +SKIP
    >>> bool(np.allclose(sorted(theirs.local_exp[1]), sorted(ours.as_list(1))))  # doctest: +SKIP
    True
    """
    try:
        from lime import lime_image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The reference package lime is not installed. Fix: pip install -e '.[test]' "
            "(make run and make test do this)."
        ) from exc
    explainer = lime_image.LimeImageExplainer()
    fixed = FixedSamples(samples)
    explainer.random_state = fixed
    explainer.base.random_state = fixed
    # lime 0.2.0.1 has no switch for its bar: its module's tqdm is swapped for the call
    with mock.patch.object(lime_image, "tqdm", lime_image.tqdm if progress else _no_bar):
        return explainer.explain_instance(
            image,
            classifier_fn,
            num_samples=len(samples),
            segmentation_fn=lambda _: segments,
            random_seed=0,
            **kwargs,
        )


def _no_bar(iterable: Any, *args: Any, **kwargs: Any) -> Any:
    """``tqdm`` without the bar: the iterable itself."""
    return iterable
