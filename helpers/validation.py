"""Input checks shared by the LIME steps: clear errors that name the argument and the fix.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, whose :func:`explain` runs every
check; no notebook imports it. One rule per argument (image, segments, samples, labels, seeds,
sizes, the model's input and output); the settings' rules are in :mod:`helpers.setting_checks`.
Public functions check at their door and call private ``_...`` versions that trust their input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "LARGE_BATCH_BYTES",
    "LARGE_SEGMENTATION_PIXELS",
    "MIN_SIDE",
    "LargeImageWarning",
    "check_batch_size",
    "check_image",
    "check_image_batch",
    "check_labels",
    "check_num_samples",
    "check_predictions",
    "check_random_state",
    "check_samples",
    "check_segments",
]

MIN_SIDE = 8
#: Above this estimated peak (bytes) of the perturbed batches, explaining warns.
LARGE_BATCH_BYTES = 1 << 30
#: Above this many pixels, segmenting warns (quickshift on 12 MP took 102 s and 1.55 GB).
LARGE_SEGMENTATION_PIXELS = 2_000_000


class LargeImageWarning(UserWarning):
    """An image so large that LIME's memory or time will be high; the warning says the fix.

    Belongs with ``notebooks/02_perturbation.ipynb``, whose perturbed batches are what grows;
    no notebook names it.

    Parameters
    ----------
    message
        The expected cost and how to lower it.
    """


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """Validate an image and return it as ``(H, W, 3)``, uint8 or float in [0, 1].

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` and :func:`helpers.segmentation.segment` do).

    Conversions: 2-D ``(H, W)`` grayscale is repeated to three channels; RGBA ``(H, W, 4)`` is
    composited over white using its alpha channel.

    Parameters
    ----------
    image
        The image to check.
    name
        What the messages call it.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` of the input's dtype; an RGB input is returned as it is, not copied.

    Raises
    ------
    TypeError
        Not a numpy array; integer types other than uint8; booleans.
    ValueError
        ``(H, W, 1)``, channels-first ``(3, H, W)``, other channel counts, non-finite values,
        floats outside [0, 1], images smaller than 8 x 8.

    Examples
    --------
    >>> check_image(np.zeros((16, 16), np.uint8)).shape
    (16, 16, 3)
    >>> check_image(np.zeros((3, 16, 16), np.uint8))
    Traceback (most recent call last):
    ...
    ValueError: image has shape (3, 16, 16), which looks channels-first (C, H, W). Fix: ...
    """
    if isinstance(image, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array; LIME would ignore its mask and use the hidden values. "
            f"Fix: decide what the masked pixels are, e.g. {name}.filled(0), and pass that."
        )
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array (H, W, 3), got {type(image).__name__}. "
            "Fix: np.asarray(your_image), or helpers.data.load_image(...)."
        )
    a = image
    if a.dtype == bool or (np.issubdtype(a.dtype, np.integer) and a.dtype != np.uint8):
        raise TypeError(
            f"{name} has dtype {a.dtype}; integer images must be uint8 (0..255) and float "
            "images in [0, 1]. Fix: image.astype(np.uint8) if its values are 0..255, or divide "
            "by the maximum value to get floats in [0, 1]."
        )
    if not (a.dtype == np.uint8 or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} has unsupported dtype {a.dtype}; use uint8 or float.")
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{name} has shape {a.shape}, which looks channels-first (C, H, W). "
            f"Fix: np.moveaxis({name}, 0, -1) to get (H, W, C)."
        )
    if a.ndim == 3 and a.shape[2] == 1:
        raise ValueError(
            f"{name} has shape {a.shape}: one channel last. Fix: pass {name}[..., 0] (it is "
            "treated as grayscale) or np.repeat(image, 3, axis=-1)."
        )
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(
            f"{name} must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grayscale; "
            f"got shape {a.shape}."
        )
    if min(a.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"{name} is {a.shape[0]} x {a.shape[1]} pixels; LIME needs at least "
            f"{MIN_SIDE} x {MIN_SIDE}. Fix: use a larger image (or upsample it)."
        )
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinite values. Fix: clean or clip it.")
        if a.min() < 0.0 or a.max() > 1.0:
            raise ValueError(
                f"Float {name} has values in [{a.min():.4g}, {a.max():.4g}], outside [0, 1]. "
                "Fix: divide 0..255 images by 255, or pass them as uint8."
            )
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 4:
        if a.dtype == np.uint8:
            from .images import to_rgb_uint8

            return to_rgb_uint8(a)
        alpha = a[..., 3:]
        return (a[..., :3] * alpha + (1.0 - alpha)).astype(a.dtype)
    return a


def check_segments(segments: Any, image_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a segmentation: integer ``(H, W)`` matching the image, at least 2 superpixels.

    Belongs with ``notebooks/01_superpixels.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` checks the segments it is given).

    Parameters
    ----------
    segments
        The labels to check, any integer values.
    image_shape
        The shape of the image they segment; its first two entries must match.

    Returns
    -------
    numpy.ndarray
        ``segments`` itself, unchanged (not relabelled).

    Raises
    ------
    TypeError
        Not a numpy array, or not integer labels.
    ValueError
        Another shape than the image's, or a single superpixel.

    Examples
    --------
    >>> check_segments(np.zeros((8, 8), int), (8, 8, 3))
    Traceback (most recent call last):
    ...
    ValueError: segments has a single superpixel, so there is nothing to switch on and off. ...
    """
    if not isinstance(segments, np.ndarray):
        raise TypeError(
            f"segments must be a numpy integer array (H, W), got {type(segments).__name__}."
        )
    if not np.issubdtype(segments.dtype, np.integer):
        raise TypeError(
            f"segments must hold integer labels, got dtype {segments.dtype}. "
            "Fix: segments.astype(int) if the values are whole numbers."
        )
    if segments.shape != tuple(image_shape[:2]):
        raise ValueError(
            f"segments has shape {segments.shape} but the image is {tuple(image_shape[:2])}. "
            "Fix: segment the same image you explain (helpers.segmentation.segment(image))."
        )
    if np.unique(segments).size < 2:
        raise ValueError(
            "segments has a single superpixel, so there is nothing to switch on and off. "
            "Fix: use a finer segmentation (e.g. smaller kernel_size / more n_segments)."
        )
    return segments


def check_predictions(predictions: Any, batch_len: int, num_classes: int | None) -> np.ndarray:
    """Validate one batch of classifier output: ``(batch_len, K)`` finite numbers.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`helpers.prediction.predict_samples` checks every batch with it).

    Parameters
    ----------
    predictions
        What the classifier returned for one batch.
    batch_len
        The number of images in the batch.
    num_classes
        ``K`` of the earlier batches, or ``None`` for the first batch.

    Returns
    -------
    numpy.ndarray
        The output as an array, dtype unchanged.

    Raises
    ------
    ValueError
        Not 2-D, the wrong number of rows or columns, no column at all, complex numbers, or
        values that are not finite numbers; each message says how to fix the classifier.

    Examples
    --------
    >>> check_predictions([[0.2, 0.8], [0.9, 0.1]], 2, None).shape
    (2, 2)
    >>> check_predictions(np.ones(2), 2, None)
    Traceback (most recent call last):
    ...
    ValueError: classifier_fn must return a 2-D array (batch, classes); got shape (2,). ...
    """
    if isinstance(predictions, tuple):
        raise ValueError(
            f"classifier_fn returned a {type(predictions).__name__} of "
            f"{len(predictions)} items, not one array. Fix: return only the (B, K) "
            "probabilities, e.g. `lambda x: model(x)[0]` if the model returns several outputs."
        )
    p = np.asarray(predictions)
    if p.ndim != 2:
        raise ValueError(
            f"classifier_fn must return a 2-D array (batch, classes); got shape {p.shape}. "
            "Fix: return probabilities per class, e.g. model.predict(x) of shape (B, K); "
            "for a single score use np.stack([1 - s, s], axis=1)."
        )
    if p.shape[0] != batch_len:
        raise ValueError(
            f"classifier_fn returned {p.shape[0]} rows for a batch of {batch_len} images. "
            "Fix: return exactly one row of class scores per input image."
        )
    if p.shape[1] == 0:
        raise ValueError(
            "classifier_fn returned 0 classes (shape "
            f"{p.shape}): there is no score to explain. Fix: return one column per class."
        )
    if np.iscomplexobj(p):
        raise ValueError(
            f"classifier_fn returned complex numbers (dtype {p.dtype}); LIME explains real "
            "scores. Fix: return real probabilities, e.g. np.abs(z) or z.real if that is meant."
        )
    if num_classes is not None and p.shape[1] != num_classes:
        raise ValueError(
            f"classifier_fn returned {p.shape[1]} classes, earlier batches had {num_classes}."
        )
    if not np.issubdtype(p.dtype, np.number) or not np.isfinite(p).all():
        raise ValueError(
            "classifier_fn returned NaN, infinite or non-numeric values. Fix: check the model "
            "and its preprocessing on these images (e.g. a division by zero)."
        )
    return p


def check_batch_size(value: Any, name: str = "batch_size") -> int:
    """Validate a positive whole number of images (``batch_size``, ``num_workers``).

    Belongs with ``notebooks/03_inception_predictions.ipynb``, where batch sizes first matter;
    no notebook calls it. Booleans are refused (``True`` is not a size).

    Parameters
    ----------
    value
        The number to check.
    name
        The argument's name, for the message.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    ValueError
        For anything but an integer of at least 1.

    Examples
    --------
    >>> check_batch_size(np.int64(16))
    16
    >>> check_batch_size(True, "num_workers")
    Traceback (most recent call last):
    ...
    ValueError: num_workers must be a positive integer, got True.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_image_batch(images: Any) -> np.ndarray:
    """Validate a batch for a classifier: ``(B, H, W, 3)``, uint8 or finite float in [0, 1].

    Belongs with ``notebooks/03_inception_predictions.ipynb``; no notebook calls it, but
    every :class:`helpers.models.ImageClassifier` checks its input with it.

    Parameters
    ----------
    images
        The batch to check.

    Returns
    -------
    numpy.ndarray
        The batch as a numpy array, unconverted.

    Raises
    ------
    ValueError
        Wrong shape (with the fix for one image, RGBA and channels-first batches), floats
        outside [0, 1] or not finite.
    TypeError
        Other dtypes.

    Examples
    --------
    >>> check_image_batch(np.zeros((2, 8, 8, 3), np.uint8)).shape
    (2, 8, 8, 3)
    >>> check_image_batch(np.zeros((8, 8, 3), np.uint8))
    Traceback (most recent call last):
    ...
    ValueError: A classifier takes a batch ... Fix: this looks like one image: pass image[None].
    """
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        if x.ndim == 3 and x.shape[-1] == 3:
            fix = "this looks like one image: pass image[None]"
        elif x.ndim == 4 and x.shape[-1] == 4:
            fix = "drop the alpha channel (images[..., :3]) or composite it first"
        elif x.ndim == 4 and x.shape[1] == 3:
            fix = "the channels come first: np.moveaxis(images, 1, -1)"
        else:
            fix = "stack RGB images (H, W, 3) along a new first axis"
        raise ValueError(
            f"A classifier takes a batch of RGB images (B, H, W, 3), got shape {x.shape}. "
            f"Fix: {fix}."
        )
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating):
        if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
            raise ValueError(
                "Float images must be finite and in [0, 1]. "
                "Fix: divide uint8 images by 255, or pass them as uint8."
            )
        return x
    raise TypeError(f"Images must be uint8 or float in [0, 1], got dtype {x.dtype}.")


def check_random_state(random_state: Any) -> tuple[np.random.Generator, int | None]:
    """The one ``random_state`` normaliser: a Generator, and the int seed when there is one.

    Belongs with ``notebooks/02_perturbation.ipynb``, where the first random samples are
    drawn; no notebook calls it (every function with a ``random_state`` does).

    Parameters
    ----------
    random_state
        An int seed, a :class:`numpy.random.Generator` (used as it is, so its stream goes on),
        or ``None``: a fresh seed is drawn and returned, so the run can be repeated.

    Returns
    -------
    generator, seed
        ``seed`` is the int used, or ``None`` for a Generator passed in.

    Raises
    ------
    TypeError
        For anything else (a float, a bool, a legacy ``RandomState``...).

    Examples
    --------
    >>> rng, seed = check_random_state(7)
    >>> seed, int(rng.integers(100)) == int(np.random.default_rng(7).integers(100))
    (7, True)
    """
    if random_state is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        return np.random.default_rng(seed), seed
    if isinstance(random_state, np.random.Generator):
        return random_state, None
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(
                f"random_state must be a seed >= 0, got {random_state}. Fix: use any "
                "non-negative integer, e.g. random_state=0."
            )
        return np.random.default_rng(int(random_state)), int(random_state)
    raise TypeError(
        "random_state must be an int seed, a numpy Generator or None, "
        f"got {type(random_state).__name__}."
    )


def check_num_samples(num_samples: Any) -> int:
    """Validate the number of LIME samples: an integer of at least 2.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` checks ``num_samples`` with it).

    Parameters
    ----------
    num_samples
        The number to check.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        Not an integer (booleans included).
    ValueError
        Fewer than 2.

    Examples
    --------
    >>> check_num_samples(np.int32(1000))
    1000
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise TypeError(f"num_samples must be an integer, got {num_samples!r}.")
    if num_samples < 2:
        raise ValueError(
            f"num_samples must be at least 2 (the original and one perturbation), "
            f"got {num_samples}. lime's default is 1000."
        )
    return int(num_samples)


def check_samples(
    samples: Any, num_superpixels: int, *, min_rows: int = 2, original_first: bool = False
) -> np.ndarray:
    """Validate 0/1 samples ``(N >= min_rows, S)`` and return them as uint8.

    Belongs with ``notebooks/02_perturbation.ipynb``; no notebook calls it (every function
    that takes samples does). An explanation needs at least 2 rows (the original and one
    perturbation); building perturbed images needs 1.

    Parameters
    ----------
    samples
        The rows to check.
    num_superpixels
        S, the number of columns they must have.
    min_rows
        The fewest rows accepted.
    original_first
        Require row 0 to be all ones, the original image: LIME explains the prediction on
        row 0 (``labels`` are chosen from it and the surrogate's ``local_pred`` is read there).

    Returns
    -------
    numpy.ndarray
        ``(N, S)`` uint8.

    Raises
    ------
    ValueError
        Another shape, too few rows, or values other than 0 and 1.

    Examples
    --------
    >>> check_samples([[1, 1, 1], [0, 1, 0]], 3).dtype
    dtype('uint8')
    >>> check_samples([[1, 2, 1], [0, 1, 0]], 3)
    Traceback (most recent call last):
    ...
    ValueError: samples must contain only 0 and 1.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != num_superpixels or len(samples) < min_rows:
        raise ValueError(
            f"samples must be (N >= {min_rows}, {num_superpixels}) for {num_superpixels} "
            f"superpixels, got {samples.shape}."
        )
    if not np.isin(samples, (0, 1)).all():
        raise ValueError("samples must contain only 0 and 1.")
    if original_first and not (samples[0] == 1).all():
        raise ValueError(
            "samples row 0 must be all ones (the original image): LIME explains the prediction "
            "on row 0. Fix: np.vstack([np.ones(S, np.uint8), samples]), or draw samples with "
            "perturbation.draw_samples(..., keep_original=True)."
        )
    return samples.astype(np.uint8)


def check_labels(labels: Any, top_labels: Any, original_scores: np.ndarray) -> list[int]:
    """The labels to explain: ``labels`` as given, else the ``top_labels`` best scores.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` and :func:`helpers.fitting.fit_explanation` do). With
    ``labels=None`` the order is lime's: the arg-sort of the original image's scores, best
    first.

    Parameters
    ----------
    labels
        Class indices to explain, in the order wanted, or ``None``.
    top_labels
        How many of the best-scored classes to explain when ``labels`` is ``None``.
    original_scores
        ``(K,)`` the classifier's scores on the original image.

    Returns
    -------
    list of int

    Raises
    ------
    TypeError
        For labels that are not integers (``1.7``, ``"1"``, ``True``).
    ValueError
        For labels outside ``0..K-1``, repeated labels, an empty ``labels``, or neither
        argument usable.

    Examples
    --------
    >>> scores = np.array([0.1, 0.6, 0.3])
    >>> check_labels(None, 2, scores), check_labels([0], 2, scores)
    ([1, 2], [0])
    """
    num_classes = len(original_scores)
    if num_classes == 0:
        raise ValueError(
            "The classifier returned no class scores (0 classes), so there is no label to "
            "explain. Fix: make classifier_fn return one column per class."
        )
    if labels is not None:
        given = list(np.atleast_1d(np.asarray(labels, dtype=object)))
        wrong = [lab for lab in given if isinstance(lab, bool | np.bool_)
                 or not isinstance(lab, int | np.integer)]  # fmt: skip
        if wrong:
            raise TypeError(
                f"labels must be class indices (integers), got {wrong[0]!r} "
                f"({type(wrong[0]).__name__}). Fix: pass ints, e.g. labels=[31]; a class name "
                "becomes its index with model.class_names.index(name)."
            )
        explained = [int(lab) for lab in given]
        if len(set(explained)) != len(explained):
            raise ValueError(f"labels {explained} name a class twice. Fix: list each class once.")
        bad = [lab for lab in explained if not 0 <= lab < num_classes]
        if bad or not explained:
            raise ValueError(
                f"labels {bad or list(labels)} are outside the classifier's outputs "
                f"0..{num_classes - 1}. Fix: pass class indices the classifier returns."
            )
        return explained
    if top_labels is None or int(top_labels) < 1:
        raise ValueError("Give labels=[...] or top_labels >= 1.")
    return [int(j) for j in np.argsort(original_scores)[-int(top_labels) :][::-1]]
