"""Models: Keras InceptionV3 (real or explicitly untrained) and the batch classifier function.

Introduced in ``notebooks/00_setup.ipynb`` (loading) and
``notebooks/03_inception_predictions.ipynb`` (predicting). TensorFlow/Keras are imported
inside the functions, never at import time.

The real ImageNet weights are loaded the way Keras loads them (``weights="imagenet"``, from its
cache ``$KERAS_HOME/models`` or by download). When they cannot be had, the default is a clear
:class:`WeightsUnavailableError`. The opt-in ``LIME_TUTORIAL_UNTRAINED=1`` (or
``weights="untrained"``) builds the same network with seeded random weights, marks the model
``untrained = True`` and warns with :class:`UntrainedWeightsWarning`: its predictions mean nothing.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .data import DATA_ENV, env_flag, fetch, install_keras_files, keras_home

__all__ = [
    "UNTRAINED_ENV",
    "UntrainedWeightsWarning",
    "WeightsUnavailableError",
    "classifier_fn",
    "decode_predictions",
    "display_untrained_banner",
    "imagenet_class_names",
    "load_inception_v3",
    "model_fingerprint",
    "randomized_copy",
    "untrained_banner",
    "untrained_opt_in",
]

UNTRAINED_ENV = "LIME_TUTORIAL_UNTRAINED"
INCEPTION_WEIGHTS = "keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels.h5"

UNTRAINED_MESSAGE = (
    "UNTRAINED InceptionV3: the real ImageNet weights are not available, so this network has "
    "seeded RANDOM weights. Its predictions and class names are MEANINGLESS; explanations of it "
    "show only how LIME works, not what Inception sees."
)


class WeightsUnavailableError(RuntimeError):
    """The real InceptionV3 ImageNet weights could not be loaded.

    Introduced in ``notebooks/00_setup.ipynb``.
    """


class UntrainedWeightsWarning(UserWarning):
    """A model with untrained (random) weights was built on request.

    Introduced in ``notebooks/00_setup.ipynb``.
    """


def untrained_opt_in() -> bool:
    """Whether ``LIME_TUTORIAL_UNTRAINED`` asks for the untrained fallback (1/true/yes/on).

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    return env_flag(UNTRAINED_ENV)


def untrained_banner(model: Any) -> str:
    """A large-text warning for notebooks to print above predictions ('' for real weights).

    Introduced in ``notebooks/03_inception_predictions.ipynb``.
    """
    if not getattr(model, "untrained", False):
        return ""
    bar = "!" * 78
    return f"{bar}\n!!  {UNTRAINED_MESSAGE}\n{bar}"


def display_untrained_banner(model: Any) -> bool:
    """In a notebook, show the untrained warning in large red text; ``True`` if shown.

    Introduced in ``notebooks/07_paper_figures.ipynb``. Does nothing for real weights.
    """
    if not getattr(model, "untrained", False):
        return False
    from IPython.display import HTML, display

    display(
        HTML(f'<h2 style="color:#c00; border:3px solid #c00; padding:8px">{UNTRAINED_MESSAGE}</h2>')
    )
    return True


def _seeded_reinitialize(model: Any, seed: int) -> None:
    """Overwrite every weight with values drawn from ``numpy.random.default_rng(seed)``.

    Kernels get He-uniform values (so that signals keep their scale through the ReLUs and the
    outputs are not all equal), biases and BatchNorm offsets zeros, BatchNorm scales and
    variances ones. This is independent of Keras' global seed, so nothing global is changed.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        name = variable.path.rsplit("/", 1)[-1]
        if name in ("kernel", "depthwise_kernel"):
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            limit = np.sqrt(6.0 / (shape[-2] * receptive))
            value = rng.uniform(-limit, limit, size=shape)
        elif name in ("gamma", "moving_variance"):
            value = np.ones(shape)
        else:  # bias, beta, moving_mean
            value = np.zeros(shape)
        variable.assign(value.astype(variable.dtype))


def randomized_copy(model: Any, *, seed: int = 0) -> Any:
    """The same architecture with seeded random weights (the sanity check of Adebayo et al.).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. The copy keeps the
    model's ``input_size`` and ``preprocess_input`` and is marked ``untrained``.
    """
    import keras

    clone = keras.models.clone_model(model)
    _seeded_reinitialize(clone, seed)
    for attribute in ("input_size", "preprocess_input"):
        if hasattr(model, attribute):
            setattr(clone, attribute, getattr(model, attribute))
    clone.untrained = True
    return clone


def load_inception_v3(
    weights: Literal["auto", "imagenet", "untrained"] = "auto", *, seed: int = 0
) -> Any:
    """Keras InceptionV3 with ImageNet weights, or, only on request, the untrained network.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    weights
        ``"imagenet"``: the real weights or :class:`WeightsUnavailableError`.
        ``"untrained"``: always the seeded untrained network (benchmarks, tests).
        ``"auto"`` (default): the real weights; if they cannot be had, the untrained network
        when ``LIME_TUTORIAL_UNTRAINED=1`` is set, otherwise the error.
    seed
        Seed of the untrained weights (same seed, same network, bit for bit).

    Returns
    -------
    keras.Model
        The model, with extra attributes: ``preprocess_input`` (RGB in 0..255 to the network's
        [-1, 1] input), ``input_size`` ``(299, 299)``, ``untrained`` (bool) and
        ``weights_source`` (text).

    Warns
    -----
    UntrainedWeightsWarning
        Whenever untrained weights are returned.
    """
    if weights not in ("auto", "imagenet", "untrained"):
        raise ValueError(f"weights must be 'auto', 'imagenet' or 'untrained', got {weights!r}.")
    from keras.applications import inception_v3

    model = None
    error: Exception | None = None
    if weights != "untrained":
        install_keras_files(download=False)  # class index / weights from LIME_TUTORIAL_DATA
        try:
            model = inception_v3.InceptionV3(weights="imagenet")
            source = "imagenet"
        except Exception as exc:  # Keras raises a bare Exception on a failed download
            error = exc
    if model is None:
        if weights == "imagenet" or (weights == "auto" and not untrained_opt_in()):
            cache = keras_home() / "models"
            raise WeightsUnavailableError(
                "The InceptionV3 ImageNet weights could not be loaded "
                f"({type(error).__name__}: {error}). Keras looks for "
                f"'{INCEPTION_WEIGHTS.rsplit('/', 1)[-1]}' in {cache} and otherwise downloads it. "
                "Fix, one of: (1) connect to the internet once, so Keras downloads and caches it; "
                f"(2) put the file under $KERAS_HOME/models or under "
                f"${DATA_ENV}/keras/models/; (3) to continue with a network that has RANDOM "
                f"weights and meaningless predictions, set {UNTRAINED_ENV}=1 "
                "(or pass weights='untrained')."
            ) from error
        model = inception_v3.InceptionV3(weights=None)
        _seeded_reinitialize(model, seed)
        source = f"untrained (seeded random weights, seed={seed})"
        warnings.warn(UNTRAINED_MESSAGE, UntrainedWeightsWarning, stacklevel=2)
    model.preprocess_input = inception_v3.preprocess_input
    model.input_size = (299, 299)
    model.untrained = source != "imagenet"
    model.weights_source = source
    return model


def model_fingerprint(model: Any) -> str:
    """A hash of a model's architecture and weight values (identifies it for caching).

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.
    """
    h = hashlib.sha256()
    h.update(type(model).__name__.encode())
    h.update(repr((model.input_shape, model.output_shape)).encode())
    for variable in model.weights:  # layer names are auto-numbered, so hash shapes and values
        value = np.ascontiguousarray(np.asarray(variable))
        h.update(repr((value.shape, value.dtype.str)).encode())
        h.update(value.tobytes())
    return h.hexdigest()


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names in index order (from the registry's class index).

    Introduced in ``notebooks/03_inception_predictions.ipynb``.
    """
    with open(fetch("keras/models/imagenet_class_index.json", progress=False)) as f:
        index = json.load(f)
    return [index[str(i)][1] for i in range(len(index))]


def decode_predictions(
    probabilities: np.ndarray, top: int = 5
) -> list[list[tuple[int, str, float]]]:
    """Top classes of each row of ``(B, 1000)`` probabilities as ``(index, name, p)``.

    Introduced in ``notebooks/03_inception_predictions.ipynb``.
    """
    p = np.asarray(probabilities)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError(f"decode_predictions expects (B, 1000) probabilities, got {p.shape}.")
    names = imagenet_class_names()
    order = np.argsort(-p, axis=1, kind="stable")[:, :top]
    rows = zip(p, order, strict=True)
    return [[(int(i), names[i], float(row[i])) for i in idx] for row, idx in rows]


def _as_float_pixels(images: np.ndarray) -> np.ndarray:
    """Validate a batch and return float32 pixels in 0..255."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(
            f"The classifier expects a batch of RGB images (B, H, W, 3), got shape {x.shape}. "
            "Fix: stack images along a new first axis (image[None] for one image)."
        )
    if x.dtype == np.uint8:
        return x.astype(np.float32)
    if np.issubdtype(x.dtype, np.floating):
        x32 = x.astype(np.float32, copy=False)
        if not np.isfinite(x32).all() or x32.min() < 0.0 or x32.max() > 1.0:
            raise ValueError(
                "Float images must be finite and in [0, 1]. "
                "Fix: divide uint8 images by 255, or pass them as uint8."
            )
        return x32 * np.float32(255.0)
    raise TypeError(f"Images must be uint8 or float in [0, 1], got dtype {x.dtype}.")


def classifier_fn(model: Any, *, batch_size: int = 32) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a Keras model as LIME's ``classifier_fn``: RGB batch in, probabilities out.

    Introduced in ``notebooks/03_inception_predictions.ipynb``.

    Images ``(B, H, W, 3)`` (uint8, or float in [0, 1]) are resized to the model's input size
    and passed through ``model.preprocess_input`` (if the model has one) inside one compiled
    TensorFlow function. Every call runs on batches of exactly ``batch_size`` (the last batch
    is padded), so the function is traced once per image size and memory stays bounded.

    Returns
    -------
    callable
        ``predict(images) -> (B, K) float64`` probabilities. It carries ``batch_size``,
        ``model`` and ``untrained`` attributes.
    """
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    import tensorflow as tf

    shape = getattr(model, "input_shape", None)
    size = getattr(model, "input_size", None) or (
        tuple(shape[1:3]) if shape is not None and None not in shape[1:3] else None
    )
    preprocess = getattr(model, "preprocess_input", None)

    @tf.function(reduce_retracing=True)
    def _forward(x: tf.Tensor) -> tf.Tensor:
        if size is not None:
            x = tf.image.resize(x, size, method="bilinear")
        if preprocess is not None:
            x = preprocess(x)
        return model(x, training=False)

    def predict(images: np.ndarray) -> np.ndarray:
        x = _as_float_pixels(images)
        n = x.shape[0]
        outputs = []
        for start in range(0, n, batch_size):
            chunk = x[start : start + batch_size]
            if chunk.shape[0] < batch_size:  # pad so the traced shape never changes
                pad = np.zeros((batch_size - chunk.shape[0], *chunk.shape[1:]), np.float32)
                chunk = np.concatenate([chunk, pad])
            out = _forward(tf.constant(chunk)).numpy()
            outputs.append(out[: min(batch_size, n - start)])
        if not outputs:
            return np.zeros((0, model.output_shape[-1]))
        return np.concatenate(outputs).astype(np.float64)

    fingerprint: list[str] = []

    def model_identity() -> str:
        """Hash of the weights and of the input pipeline (computed once, on first use)."""
        if not fingerprint:
            name = getattr(preprocess, "__module__", "") + "." + getattr(preprocess, "__name__", "")
            fingerprint.append(f"{model_fingerprint(model)}:{size}:{name}")
        return fingerprint[0]

    predict.batch_size = batch_size
    predict.model = model
    predict.fingerprint = model_identity
    predict.untrained = bool(getattr(model, "untrained", False))
    return predict
