"""ImageNet's 1000 classes: their names in Keras' order, reading outputs, the background row.

Belongs with ``notebooks/00_setup.ipynb``, which lists the class names; the ImageNet models of
:mod:`helpers.models` name their outputs with them. The names come from Keras' class index
in the data registry (``keras/models/imagenet_class_index.json``), read once.

The int8 LiteRT models have 1001 outputs, a "background" class first: output ``i + 1`` is
Keras' class ``i``. :func:`check_background_offset` checks that against the models' own label
file before one is loaded.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from .data import fetch

__all__ = [
    "IMAGENET_LABELS",
    "check_background_offset",
    "decode_predictions",
    "imagenet_class_names",
]

IMAGENET_LABELS = "models/imagenet_labels.txt"


@lru_cache(maxsize=4)
def _class_names_from(path: str) -> tuple[str, ...]:
    with open(path) as f:
        index = json.load(f)
    return tuple(index[str(i)][1] for i in range(len(index)))


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names in Keras' index order (from the registry's class index).

    Introduced in ``notebooks/00_setup.ipynb``.

    Returns
    -------
    list of str
        A new list on every call (the file is read once).

    Raises
    ------
    helpers.data.DataFileError
        If ``keras/models/imagenet_class_index.json`` cannot be had.

    Examples
    --------
    >>> imagenet_class_names()[:3]  # doctest: +SKIP
    ['tench', 'goldfish', 'great_white_shark']
    """
    path = fetch("keras/models/imagenet_class_index.json", progress=False)
    return list(_class_names_from(str(path)))


def decode_predictions(
    probabilities: np.ndarray, top: int = 5
) -> list[list[tuple[int, str, float]]]:
    """Top classes of each row of ``(B, 1000)`` probabilities as ``(index, name, p)``.

    Belongs with ``notebooks/03_inception_predictions.ipynb``; no notebook calls it (they use
    :meth:`helpers.classifiers.ImageClassifier.top`).

    Parameters
    ----------
    probabilities
        ``(B, 1000)`` in Keras' ImageNet order.
    top
        Classes per row.

    Returns
    -------
    list of list of (int, str, float)
        One list per row, most probable first.

    Raises
    ------
    ValueError
        For another shape.

    Examples
    --------
    >>> decode_predictions(np.ones((1, 10)))
    Traceback (most recent call last):
    ...
    ValueError: decode_predictions expects (B, 1000) probabilities, got (1, 10).
    >>> p = np.zeros((1, 1000))
    >>> p[0, 31] = 0.9
    >>> decode_predictions(p, top=1)  # doctest: +SKIP
    [[(31, 'tree_frog', 0.9)]]
    """
    p = np.asarray(probabilities)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError(f"decode_predictions expects (B, 1000) probabilities, got {p.shape}.")
    names = imagenet_class_names()
    order = np.argsort(-p, axis=1, kind="stable")[:, :top]
    rows = zip(p, order, strict=True)
    return [[(int(i), names[i], float(row[i])) for i in idx] for row, idx in rows]


def check_background_offset() -> None:
    """Check that the int8 models' label file is Keras' class index shifted by one.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose MobileNetV2 has the
    background output; no notebook calls it (:func:`helpers.models.load_litert` does, before it
    drops output 0). Names are compared without case, ``_``, ``-`` and ``'``; a label line may
    list synonyms separated by commas.

    Raises
    ------
    ValueError
        If :data:`IMAGENET_LABELS` does not have 1001 lines starting with ``background``, or
        line ``i + 2`` does not name Keras' class ``i``.
    helpers.data.DataFileError
        If the label file or the class index cannot be had.
    """
    with open(fetch(IMAGENET_LABELS, progress=False)) as f:
        labels = f.read().splitlines()
    names = imagenet_class_names()
    if len(labels) != 1001 or labels[0] != "background":
        raise ValueError(f"{IMAGENET_LABELS} should have 1001 lines starting with 'background'.")

    def norm(text: str) -> str:
        return text.lower().replace("_", " ").replace("-", " ").replace("'", "")

    wrong = [
        i
        for i, name in enumerate(names)
        if norm(name) not in {norm(part.strip()) for part in labels[i + 1].split(",")}
    ]
    if wrong:
        raise ValueError(
            f"{IMAGENET_LABELS} line {wrong[0] + 2} ({labels[wrong[0] + 1]!r}) does not name "
            f"Keras class {wrong[0]} ({names[wrong[0]]!r}): the output order is not Keras'."
        )
