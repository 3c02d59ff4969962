"""Models: one image-classifier interface, with a Keras and a LiteRT implementation.

Introduced in ``notebooks/00_setup.ipynb`` (``load_model("auto")``); the interface is the
subject of ``notebooks/03_inception_predictions.ipynb``. TensorFlow, Keras and LiteRT are
imported inside the functions that need them, never at import time.

Every model the series explains is an :class:`ImageClassifier`: calling it maps a batch of
RGB images ``(B, H, W, 3)`` (uint8, or float in [0, 1]) to ``(B, K)`` float64 probabilities,
so the object itself is LIME's ``classifier_fn``. :func:`load_model` gives the ImageNet models
by name:

``"inception_v3"``
    Keras' InceptionV3 with its real ImageNet weights (Keras' cache, ``LIME_TUTORIAL_DATA`` or a
    download), else a clear :class:`WeightsUnavailableError`.
``"inception_v3_untrained"``
    The same network with seeded **random** weights, only when asked for by name; it warns
    with :class:`UntrainedWeightsWarning` and is marked ``untrained``.
``"mobilenet_v2"``, ``"mobilenet_v1"``
    Small int8 ImageNet classifiers with real weights (Apache-2.0, from the data registry),
    run with LiteRT. They run offline, about ten times faster than InceptionV3 on a CPU.
``"auto"``
    InceptionV3 when its real weights load, otherwise MobileNetV2 with a
    :class:`StandInModelWarning` saying that a different network stands in. Never untrained.

A user's own Keras model becomes a classifier with :func:`classifier_fn`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from .data import fetch, install_keras_files, keras_home, registry
from .settings import DATA_ENV, UNTRAINED_ENV, env_flag
from .validation import check_batch_size, check_image_batch

__all__ = [
    "MODEL_NAMES",
    "UNTRAINED_MESSAGE",
    "ImageClassifier",
    "KerasClassifier",
    "LiteRTClassifier",
    "StandInModelWarning",
    "UntrainedWeightsWarning",
    "WeightsUnavailableError",
    "classifier_fn",
    "decode_predictions",
    "imagenet_class_names",
    "load_inception_v3",
    "load_litert",
    "load_model",
    "model_fingerprint",
    "randomized_copy",
    "untrained_banner",
    "untrained_message",
    "untrained_opt_in",
]

MODEL_NAMES = ("auto", "inception_v3", "inception_v3_untrained", "mobilenet_v2", "mobilenet_v1")
INCEPTION_WEIGHTS = "keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
IMAGENET_LABELS = "models/imagenet_labels.txt"

# The int8 models of the registry: file, display name, input size.
_LITERT_MODELS = {
    "mobilenet_v2": ("models/mobilenet_v2_1.0_224_quant.tflite", "MobileNetV2 1.0 (int8)", 224),
    "mobilenet_v1": ("models/mobilenet_v1_0.75_192_quant.tflite", "MobileNetV1 0.75 (int8)", 192),
}

UNTRAINED_MESSAGE = (
    "UNTRAINED InceptionV3: this network has seeded RANDOM weights, built because they were "
    "asked for. Its predictions and class names are MEANINGLESS; explanations of it show only "
    "how LIME works, not what Inception sees."
)


class WeightsUnavailableError(RuntimeError):
    """The real InceptionV3 ImageNet weights could not be loaded.

    Belongs with ``notebooks/00_setup.ipynb``, which explains what to do without the weights;
    no notebook names it.

    Parameters
    ----------
    message
        Why the weights could not be loaded, and four ways to go on.
    """


class UntrainedWeightsWarning(UserWarning):
    """A model with untrained (random) weights was built on request.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook names it.

    Parameters
    ----------
    message
        :data:`UNTRAINED_MESSAGE`.
    """


class StandInModelWarning(UserWarning):
    """``load_model("auto")`` returned another network than InceptionV3.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, which says which network
    stands in; no notebook names the warning.

    Parameters
    ----------
    message
        Why InceptionV3 is not available, and which network stands in.
    """


def untrained_opt_in() -> bool:
    """Whether ``LIME_TUTORIAL_UNTRAINED`` asks for the untrained fallback (1/true/yes/on).

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (the environment report
    does). Only :func:`load_inception_v3` with ``weights="auto"`` reads it; :func:`load_model`
    builds an untrained network only when it is asked for by name.

    Returns
    -------
    bool

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {UNTRAINED_ENV: "on"}):
    ...     untrained_opt_in()
    True
    """
    return env_flag(UNTRAINED_ENV)


# ----- the interface ------------------------------------------------------------------------


class ImageClassifier(ABC):
    """An image classifier LIME can call: RGB batch in, ``(B, K)`` probabilities out.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose models are instances of
    it; no notebook names the class. Subclasses implement ``_predict`` and
    :meth:`fingerprint`.

    Attributes
    ----------
    name
        Short name, e.g. ``"mobilenet_v2"`` (one of :data:`MODEL_NAMES` for ImageNet models).
    display_name
        What figures and text call it, e.g. ``"MobileNetV2 1.0 (int8)"``.
    input_size
        ``(height, width)`` the network sees; other sizes are resized on the way in.
        ``None``: the network takes any size.
    class_names
        One name per output, in output order (Keras' ImageNet order for ImageNet models).
    untrained
        ``True`` for random weights: its predictions mean nothing.
    weights_source
        Where the weights came from, in words.
    stands_in_for
        For ``load_model("auto")``'s fallback: the network it replaces (``"inception_v3"``).
    """

    name: str
    display_name: str
    input_size: tuple[int, int] | None
    class_names: tuple[str, ...]
    untrained: bool
    weights_source: str
    stands_in_for: str | None = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Probabilities ``(B, K)`` float64 for a batch ``(B, H, W, 3)``.

        Parameters
        ----------
        images
            ``(B, H, W, 3)`` RGB, uint8 or float in [0, 1]; any size (resized to
            :attr:`input_size` on the way in).

        Returns
        -------
        numpy.ndarray
            ``(B, K)`` float64; ``(0, K)`` for an empty batch.

        Raises
        ------
        ValueError, TypeError
            For a batch :func:`helpers.validation.check_image_batch` refuses.
        """
        batch = check_image_batch(images)
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)))
        return self._predict(batch).astype(np.float64, copy=False)

    @abstractmethod
    def _predict(self, images: np.ndarray) -> np.ndarray:
        """Probabilities for a validated, non-empty batch (uint8 or float in [0, 1])."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A hash of everything the outputs depend on (for the prediction cache).

        Returns
        -------
        str
            Equal for two classifiers exactly when they give the same outputs.
        """

    @property
    def description(self) -> str:
        """One line that says which network makes the predictions, and with which weights."""
        text = f"{self.display_name}, {self.weights_source}"
        if self.stands_in_for is not None:
            text += f" (standing in for {self.stands_in_for}, whose weights are not available)"
        return text

    def top(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes of one image ``(H, W, 3)`` as ``(index, name, p)``.

        Introduced in ``notebooks/00_setup.ipynb``.

        Parameters
        ----------
        image
            One image ``(H, W, 3)``, uint8 or float in [0, 1].
        k
            How many classes.

        Returns
        -------
        list of (int, str, float)
            Most probable first; equal probabilities keep the order of the classes.

        Raises
        ------
        ValueError
            For a batch instead of one image.

        Examples
        --------
        >>> from helpers import data
        >>> model = load_model("mobilenet_v2")  # doctest: +SKIP
        >>> model.top(data.tree_frog(model.input_size), k=1)  # doctest: +SKIP
        [(31, 'tree_frog', 0.9921875)]
        """
        image = np.asarray(image)
        if image.ndim != 3:
            raise ValueError(
                f"top() takes one image (H, W, 3), got shape {image.shape}. "
                "Fix: for a batch, call the model itself: model(images)."
            )
        p = self(image[None])[0]
        order = np.argsort(-p, kind="stable")[: int(k)]
        return [(int(i), self.class_names[i], float(p[i])) for i in order]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.description}>"


def _available_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _resize_batch(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize each image to ``size`` with PIL's (antialiased) bilinear filter; uint8 out."""
    from PIL import Image

    height, width = size
    if images.dtype != np.uint8:
        images = np.round(images * 255.0).astype(np.uint8)
    if images.shape[1:3] == (height, width):
        return images
    out = np.empty((len(images), height, width, 3), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
    return out


# ----- LiteRT (int8 models) -----------------------------------------------------------------


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device while LiteRT builds its interpreters.

    LiteRT's C++ code prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." there,
    which a notebook shows as an error-coloured output. Failures still raise Python
    exceptions with their message.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class LiteRTClassifier(ImageClassifier):
    """An int8 ImageNet classifier run with LiteRT (``ai-edge-litert``).

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose
    ``load_model("mobilenet_v2")`` returns one; no notebook names the class.

    The graphs take one image at a time (a fixed reshape inside them rejects larger batches),
    so a batch is a loop. By default one interpreter runs each image on ``num_threads``
    threads, one per core (up to 2). ``num_workers > 1`` instead splits a batch across that
    many interpreters, run side by side in threads that each resize their own share. On 2
    cores both reach the same throughput (``benchmarks/README.md``), and the default also
    answers a single image (the explorer's clicks) twice as fast. Integer kernels make the
    outputs identical whatever the split.

    The networks have 1001 outputs: output 0 is "background" and output ``i + 1`` is ImageNet
    class ``i`` in Keras' order. The background output is dropped, so rows are Keras-ordered
    ``(B, 1000)`` probabilities; each is the dequantized uint8 output, a multiple of 1/256, and
    a row sums to 1 minus the background's share (up to rounding).

    Parameters
    ----------
    model_content
        The ``.tflite`` file's bytes: a uint8 ``(1, H, W, 3)`` input and one output.
    name, display_name, weights_source
        See :class:`ImageClassifier`.
    class_names
        One name per output (without the background output, if the model has one).
    num_workers
        Interpreters to split a batch across.
    num_threads
        Threads per interpreter; default: one per available core, up to 2.

    Raises
    ------
    ValueError
        If the input is not uint8 ``(1, H, W, 3)``, or the outputs do not match the class
        names (equal, or one more).
    """

    def __init__(
        self,
        model_content: bytes,
        *,
        name: str,
        display_name: str,
        class_names: Sequence[str],
        weights_source: str,
        num_workers: int = 1,
        num_threads: int | None = None,
    ):
        from ai_edge_litert.interpreter import Interpreter

        if num_threads is None:
            num_threads = min(2, _available_cores())
        self.num_workers = check_batch_size(num_workers, "num_workers")
        self.num_threads = check_batch_size(num_threads, "num_threads")
        self._interpreters = []
        with _native_stderr_silenced():
            for _ in range(self.num_workers):
                interpreter = Interpreter(model_content=model_content, num_threads=self.num_threads)
                interpreter.allocate_tensors()
                self._interpreters.append(interpreter)
        first = self._interpreters[0]
        (inp,) = first.get_input_details()
        (out,) = first.get_output_details()
        if inp["dtype"] != np.uint8 or tuple(inp["shape"][[0, 3]]) != (1, 3):
            raise ValueError(f"{name}: expected a uint8 (1, H, W, 3) input, got {inp}.")
        self._input, self._output = inp["index"], out["index"]
        self._scale, self._zero_point = out["quantization"]
        outputs = int(out["shape"][-1])
        self._offset = outputs - len(class_names)
        if self._offset not in (0, 1):
            raise ValueError(
                f"{name} has {outputs} outputs for {len(class_names)} class names; expected "
                "the same number, or one more (a background class first)."
            )
        self.name, self.display_name = name, display_name
        self.input_size = (int(inp["shape"][1]), int(inp["shape"][2]))
        self.class_names = tuple(class_names)
        self.untrained = False
        self.weights_source = weights_source
        self._fingerprint = hashlib.sha256(model_content).hexdigest()
        self._lock = threading.Lock()
        self._pool = None

    def _run(self, worker: int, images: np.ndarray) -> np.ndarray:
        interpreter = self._interpreters[worker]
        pixels = _resize_batch(images, self.input_size)
        out = np.empty((len(pixels), len(self.class_names) + self._offset), np.uint8)
        for i in range(len(pixels)):
            interpreter.set_tensor(self._input, pixels[i : i + 1])
            interpreter.invoke()
            out[i] = interpreter.get_tensor(self._output)[0]
        return out

    def _predict(self, images: np.ndarray) -> np.ndarray:
        with self._lock:  # one interpreter is never used by two threads at once
            if self.num_workers == 1 or len(images) == 1:
                raw = self._run(0, images)
            else:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="litert")
                parts = np.array_split(np.arange(len(images)), self.num_workers)
                futures = [
                    self._pool.submit(self._run, w, images[idx])
                    for w, idx in enumerate(parts)
                    if len(idx)
                ]
                raw = np.concatenate([f.result() for f in futures])
        return (raw[:, self._offset :].astype(np.float64) - self._zero_point) * self._scale

    def fingerprint(self) -> str:
        """SHA-256 of the model file, with the input pipeline and output decoding.

        Returns
        -------
        str
            ``"litert:<sha256>:<input size>:pil-bilinear:offset<0 or 1>"``.
        """
        return f"litert:{self._fingerprint}:{self.input_size}:pil-bilinear:offset{self._offset}"


def _imagenet_labels_offset_checked() -> None:
    """Check that the int8 models' label file is Keras' index shifted by one (background)."""
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
            f"{IMAGENET_LABELS} line {wrong[0] + 1} ({labels[wrong[0] + 1]!r}) does not name "
            f"Keras class {wrong[0]} ({names[wrong[0]]!r}): the output order is not Keras'."
        )


def load_litert(
    name: str, *, num_workers: int = 1, num_threads: int | None = None
) -> LiteRTClassifier:
    """One of the registry's int8 ImageNet models (``"mobilenet_v2"`` or ``"mobilenet_v1"``).

    Belongs with ``notebooks/03_inception_predictions.ipynb``, which loads these models
    through :func:`load_model`; no notebook calls it. The file is found through the data
    registry (offline in ``LIME_TUTORIAL_DATA``) and verified by hash before use.

    Parameters
    ----------
    name
        ``"mobilenet_v2"`` or ``"mobilenet_v1"``.
    num_workers, num_threads
        See :class:`LiteRTClassifier`.

    Returns
    -------
    LiteRTClassifier

    Raises
    ------
    ValueError
        For another name.
    helpers.data.DataFileError
        If the model file or the label files cannot be had.
    """
    if name not in _LITERT_MODELS:
        raise ValueError(f"Unknown LiteRT model {name!r}; choose one of {sorted(_LITERT_MODELS)}.")
    path, display_name, _ = _LITERT_MODELS[name]
    entry_path = fetch(path, progress=False)
    _imagenet_labels_offset_checked()
    return LiteRTClassifier(
        entry_path.read_bytes(),
        name=name,
        display_name=display_name,
        class_names=imagenet_class_names(),
        weights_source=f"real ImageNet weights, run with LiteRT ({entry_path.name})",
        num_workers=num_workers,
        num_threads=num_threads,
    )


# ----- Keras --------------------------------------------------------------------------------


class KerasClassifier(ImageClassifier):
    """A Keras model as an :class:`ImageClassifier`, through one compiled function.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose :func:`classifier_fn`
    returns one; no notebook names the class.

    Images are resized to ``input_size`` and passed through ``preprocess`` (if given) inside
    one compiled TensorFlow function that always sees batches of exactly ``batch_size`` (the
    last batch is padded), so it is traced once per image size and memory stays bounded: a
    bare ``model(x)`` on a large batch can take gigabytes.

    Parameters
    ----------
    model
        A Keras model taking RGB in 0..255 (after ``preprocess``), returning ``(B, K)``.
    name, display_name, weights_source, untrained
        See :class:`ImageClassifier`; the names default to the Keras model's name.
    input_size
        ``(height, width)`` to resize to; default: the model's own input size when it has
        one, else no resizing.
    preprocess
        A TensorFlow function applied to 0..255 float32 pixels inside the compiled call, e.g.
        ``keras.applications.inception_v3.preprocess_input``.
    class_names
        One per output; default ``"0"``, ``"1"``, ...
    batch_size
        Images per compiled call.

    Raises
    ------
    ValueError
        If ``class_names`` does not have one name per output, or ``batch_size`` is not a
        positive integer.
    """

    def __init__(
        self,
        model: Any,
        *,
        name: str | None = None,
        display_name: str | None = None,
        input_size: tuple[int, int] | None = None,
        preprocess: Any = None,
        class_names: Sequence[str] | None = None,
        untrained: bool = False,
        weights_source: str = "weights of the given Keras model",
        batch_size: int = 32,
    ):
        self.model = model
        self.batch_size = check_batch_size(batch_size)
        shape = getattr(model, "input_shape", None)
        if input_size is None and shape is not None and None not in tuple(shape[1:3]):
            input_size = (int(shape[1]), int(shape[2]))
        self.input_size = None if input_size is None else (int(input_size[0]), int(input_size[1]))
        self.preprocess = preprocess
        outputs = int(model.output_shape[-1])
        if class_names is None:
            class_names = [str(i) for i in range(outputs)]
        if len(class_names) != outputs:
            raise ValueError(f"{len(class_names)} class names for {outputs} model outputs.")
        self.class_names = tuple(class_names)
        self.name = name or getattr(model, "name", "keras_model")
        self.display_name = display_name or self.name
        self.untrained = bool(untrained)
        self.weights_source = weights_source
        self._forward = None

    def with_batch_size(self, batch_size: int) -> KerasClassifier:
        """The same model and settings with another batch size.

        Parameters
        ----------
        batch_size
            Images per compiled call.

        Returns
        -------
        KerasClassifier
            A new classifier around the same Keras model (the weights are shared).
        """
        return KerasClassifier(
            self.model,
            name=self.name,
            display_name=self.display_name,
            input_size=self.input_size,
            preprocess=self.preprocess,
            class_names=self.class_names,
            untrained=self.untrained,
            weights_source=self.weights_source,
            batch_size=batch_size,
        )

    def _compiled(self):
        if self._forward is None:
            import tensorflow as tf

            model, size, preprocess = self.model, self.input_size, self.preprocess

            @tf.function(reduce_retracing=True)
            def forward(x: tf.Tensor) -> tf.Tensor:
                if size is not None:
                    x = tf.image.resize(x, size, method="bilinear")
                if preprocess is not None:
                    x = preprocess(x)
                return model(x, training=False)

            self._forward = forward
        return self._forward

    def _predict(self, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        x = images.astype(np.float32)
        if images.dtype != np.uint8:
            x *= np.float32(255.0)
        forward, size, n = self._compiled(), self.batch_size, len(x)
        outputs = []
        for start in range(0, n, size):
            chunk = x[start : start + size]
            if len(chunk) < size:  # pad so the traced shape never changes
                pad = np.zeros((size - len(chunk), *chunk.shape[1:]), np.float32)
                chunk = np.concatenate([chunk, pad])
            outputs.append(forward(tf.constant(chunk)).numpy()[: min(size, n - start)])
        return np.concatenate(outputs)

    def fingerprint(self) -> str | None:
        """Hash of the architecture and the weights *now*, and of the input pipeline.

        Computed at every call, so new weights (``set_weights``) are a new identity. ``None``
        when the preprocessing function has no stable identity (a lambda, a function defined
        inside another, a ``functools.partial``...): two of them cannot be told apart, so the
        prediction cache is not used for this model rather than risk serving another
        model's predictions.

        Returns
        -------
        str or None
            :func:`model_fingerprint`, the input size and the preprocessing function's
            ``module.qualname``; ``None`` as said above.
        """
        pipeline = _function_identity(self.preprocess)
        if pipeline is None:
            return None
        return f"{model_fingerprint(self.model)}:{self.input_size}:{pipeline}"


def classifier_fn(model: Any, *, batch_size: int = 32) -> KerasClassifier:
    """Wrap a Keras model as LIME's ``classifier_fn`` (a :class:`KerasClassifier`).

    Introduced in ``notebooks/03_inception_predictions.ipynb``.

    Parameters
    ----------
    model
        A Keras model taking RGB in 0..255 (put any rescaling inside the model), or a
        :class:`KerasClassifier`, which is returned with the new ``batch_size``.
    batch_size
        Images per compiled call.

    Returns
    -------
    KerasClassifier
        ``predict(images) -> (B, K) float64``.

    Raises
    ------
    TypeError
        For an :class:`ImageClassifier` that is not a :class:`KerasClassifier` (it is already
        a ``classifier_fn``).

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
    ...                         keras.layers.Dense(2, activation="softmax")])  # doctest: +SKIP
    >>> predict = classifier_fn(net, batch_size=64)  # doctest: +SKIP
    >>> predict(np.zeros((5, 8, 8, 3), np.uint8)).shape  # doctest: +SKIP
    (5, 2)
    """
    if isinstance(model, KerasClassifier):
        return model.with_batch_size(batch_size)
    if isinstance(model, ImageClassifier):
        raise TypeError(f"{model.name} is already a classifier; call it directly.")
    return KerasClassifier(model, batch_size=batch_size)


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


def randomized_copy(model: KerasClassifier, *, random_state: int = 0) -> KerasClassifier:
    """The same architecture with seeded random weights (the sanity check of Adebayo et al.).

    Introduced in ``notebooks/09_evaluating_explanations.ipynb``. The copy keeps the
    classifier's input size, preprocessing, names and batch size, and is marked ``untrained``.

    Parameters
    ----------
    model
        The trained classifier.
    random_state
        Seed of the new weights (He-uniform kernels, zero biases; independent of Keras'
        global seed).

    Returns
    -------
    KerasClassifier
        Named ``<name>_randomized``; the original is not changed.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`KerasClassifier`.

    Examples
    --------
    >>> random = randomized_copy(classifier_fn(cnn), random_state=1)  # doctest: +SKIP
    >>> random.untrained, random.name  # doctest: +SKIP
    (True, 'husky_wolf_cnn_randomized')
    """
    import keras

    if not isinstance(model, KerasClassifier):
        raise TypeError(
            f"randomized_copy takes a KerasClassifier, got {type(model).__name__}. "
            "Fix: wrap a Keras model first, randomized_copy(classifier_fn(model))."
        )
    clone = keras.models.clone_model(model.model)
    _seeded_reinitialize(clone, random_state)
    return KerasClassifier(
        clone,
        name=f"{model.name}_randomized",
        display_name=f"{model.display_name}, randomized",
        input_size=model.input_size,
        preprocess=model.preprocess,
        class_names=model.class_names,
        untrained=True,
        weights_source=f"seeded random weights (random_state={random_state})",
        batch_size=model.batch_size,
    )


def _inception_weights_reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a download of the weights could start (a HEAD request that answers)."""
    import urllib.request

    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except Exception:
        return False


def _inception_weights_at_hand() -> bool:
    """The weights file is in the Keras cache or the offline data directory."""
    install_keras_files(download=False)  # copies them from LIME_TUTORIAL_DATA when there
    name = INCEPTION_WEIGHTS.rsplit("/", 1)[-1]
    return (keras_home() / "models" / name).is_file()


def load_inception_v3(
    weights: Literal["auto", "imagenet", "untrained"] = "auto",
    *,
    random_state: int = 0,
    batch_size: int = 32,
) -> KerasClassifier:
    """Keras InceptionV3 with ImageNet weights, or, only on request, the untrained network.

    Belongs with ``notebooks/00_setup.ipynb``, which tells the weights apart; no notebook
    calls it (they call :func:`load_model`).

    Parameters
    ----------
    weights
        ``"imagenet"``: the real weights or :class:`WeightsUnavailableError`.
        ``"untrained"``: always the seeded untrained network (benchmarks, tests).
        ``"auto"`` (default): the real weights; if they cannot be had, the untrained network
        when ``LIME_TUTORIAL_UNTRAINED=1`` is set, otherwise the error.
    random_state
        Seed of the untrained weights (same seed, same network, bit for bit).
    batch_size
        Images per compiled call.

    Returns
    -------
    KerasClassifier
        Named ``"inception_v3"`` or ``"inception_v3_untrained"``; ``input_size`` is
        ``(299, 299)`` and the preprocessing maps 0..255 to the network's [-1, 1].

    Raises
    ------
    WeightsUnavailableError
        Without the real weights, unless untrained ones were asked for (above).
    ValueError
        For another ``weights``.

    Warns
    -----
    UntrainedWeightsWarning
        Whenever untrained weights are returned.

    Examples
    --------
    >>> net = load_inception_v3("untrained")  # doctest: +SKIP
    >>> net.untrained, net.input_size  # doctest: +SKIP
    (True, (299, 299))
    """
    if weights not in ("auto", "imagenet", "untrained"):
        raise ValueError(f"weights must be 'auto', 'imagenet' or 'untrained', got {weights!r}.")
    from keras.applications import inception_v3

    network = None
    error: Exception | None = None
    if weights != "untrained":
        install_keras_files(download=False)  # class index / weights from LIME_TUTORIAL_DATA
        try:
            network = inception_v3.InceptionV3(weights="imagenet")
        except Exception as exc:  # Keras raises a bare Exception on a failed download
            error = exc
    if network is None:
        if weights == "imagenet" or (weights == "auto" and not untrained_opt_in()):
            cache = keras_home() / "models"
            raise WeightsUnavailableError(
                "The InceptionV3 ImageNet weights could not be loaded "
                f"({type(error).__name__}: {error}). Keras looks for "
                f"'{INCEPTION_WEIGHTS.rsplit('/', 1)[-1]}' in {cache} and otherwise downloads it. "
                "Fix, one of: (1) connect to the internet once, so Keras downloads and caches it; "
                f"(2) put the file under $KERAS_HOME/models or under "
                f"${DATA_ENV}/keras/models/; (3) use a real ImageNet model that runs offline: "
                "helpers.models.load_model('mobilenet_v2') (or load_model('auto')); "
                "(4) to study only the network's shape and speed, with RANDOM weights and "
                f"meaningless predictions, set {UNTRAINED_ENV}=1 or pass weights='untrained'."
            ) from error
        network = inception_v3.InceptionV3(weights=None)
        _seeded_reinitialize(network, random_state)
        warnings.warn(UNTRAINED_MESSAGE, UntrainedWeightsWarning, stacklevel=2)
        untrained = True
    else:
        untrained = False
    return KerasClassifier(
        network,
        name="inception_v3_untrained" if untrained else "inception_v3",
        display_name="InceptionV3 (UNTRAINED)" if untrained else "InceptionV3",
        input_size=(299, 299),
        preprocess=inception_v3.preprocess_input,
        class_names=imagenet_class_names(),
        untrained=untrained,
        weights_source=(
            f"untrained: random weights (random_state={random_state}), MEANINGLESS"
            if untrained
            else "real ImageNet weights (Keras)"
        ),
        batch_size=batch_size,
    )


def load_model(
    name: str = "auto",
    *,
    batch_size: int = 32,
    num_workers: int = 1,
    num_threads: int | None = None,
    random_state: int = 0,
) -> ImageClassifier:
    """An ImageNet classifier by name (see the module docstring for the names).

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    name
        One of :data:`MODEL_NAMES`. ``"auto"``: InceptionV3 when its real weights load, else
        MobileNetV2 (real weights, another network) with a :class:`StandInModelWarning`.
    batch_size
        Images per compiled call (Keras models).
    num_workers, num_threads
        LiteRT models: interpreters run side by side on parts of a batch (default 1), and
        threads per interpreter (default: one per core, up to 2).
    random_state
        Seed of the random weights of ``"inception_v3_untrained"``.

    Returns
    -------
    ImageClassifier
        Callable on ``(B, H, W, 3)`` images, returning ``(B, 1000)`` probabilities in Keras'
        ImageNet order; ``model.description`` says which network it is.

    Raises
    ------
    ValueError
        For a name not in :data:`MODEL_NAMES`.
    WeightsUnavailableError
        For ``"inception_v3"`` without its real weights.
    helpers.data.DataFileError
        If a model file cannot be had.

    Warns
    -----
    StandInModelWarning
        When ``"auto"`` gives MobileNetV2.
    UntrainedWeightsWarning
        For ``"inception_v3_untrained"``.

    Examples
    --------
    >>> from helpers import data
    >>> model = load_model("mobilenet_v2")  # doctest: +SKIP
    >>> model.top(data.tree_frog(model.input_size), k=1)  # doctest: +SKIP
    [(31, 'tree_frog', 0.99...)]
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown model {name!r}; choose one of {MODEL_NAMES}.")
    if name in _LITERT_MODELS:
        return load_litert(name, num_workers=num_workers, num_threads=num_threads)
    if name == "inception_v3_untrained":
        return load_inception_v3("untrained", random_state=random_state, batch_size=batch_size)
    if name == "inception_v3":
        return load_inception_v3("imagenet", batch_size=batch_size)
    return _load_auto(batch_size=batch_size, num_workers=num_workers, num_threads=num_threads)


def _load_auto(*, batch_size: int, num_workers: int, num_threads: int | None) -> ImageClassifier:
    """InceptionV3 if its weights are here or can be downloaded, else MobileNetV2.

    Offline this imports no TensorFlow and attempts no download (which would print a
    "Downloading data from ..." line and fail).
    """
    reason = "not in the Keras cache, and no download is possible"
    url = registry()[INCEPTION_WEIGHTS].url
    if _inception_weights_at_hand() or _inception_weights_reachable(url):
        try:
            return load_inception_v3("imagenet", batch_size=batch_size)
        except WeightsUnavailableError as exc:
            reason = str(exc.__cause__ or exc)
    model = load_litert("mobilenet_v2", num_workers=num_workers, num_threads=num_threads)
    model.stands_in_for = "InceptionV3"
    warnings.warn(
        f"InceptionV3's real weights are not available ({reason}). MobileNetV2 (real ImageNet "
        "weights, int8) stands in for it: the predictions are real, from a different network.",
        StandInModelWarning,
        stacklevel=3,
    )
    return model


# ----- reading ImageNet outputs -------------------------------------------------------------


def _function_identity(function: Any) -> str | None:
    """``module.qualified_name`` of a module-level function; ``None`` when it has none.

    Lambdas, functions defined inside other functions and ``functools.partial`` objects share
    names with others, so they have no stable identity. ``None`` (no preprocessing) is the
    identity ``"none"``.
    """
    if function is None:
        return "none"
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or "<lambda>" in qualname or "<locals>" in qualname:
        return None
    return f"{module}.{qualname}"


def model_fingerprint(model: Any) -> str:
    """A hash of a Keras model's architecture and weight values (for caching).

    Belongs with ``notebooks/06_explaining_predictions.ipynb`` (the prediction cache); no
    notebook calls it (:meth:`KerasClassifier.fingerprint` does). The architecture is every
    layer's type and configuration (activations included) without its auto-numbered name, so
    the same network built twice has the same fingerprint, and the same weights behind another
    final activation do not.

    Parameters
    ----------
    model
        A Keras model.

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    h = hashlib.sha256()
    h.update(type(model).__name__.encode())
    h.update(repr((model.input_shape, model.output_shape)).encode())
    for layer in getattr(model, "layers", []):  # the architecture, without auto-numbered names
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        h.update(type(layer).__name__.encode())
        h.update(json.dumps(config, sort_keys=True, default=repr).encode())
    for variable in model.weights:  # layer names are auto-numbered, so hash shapes and values
        value = np.ascontiguousarray(np.asarray(variable))
        h.update(repr((value.shape, value.dtype.str)).encode())
        h.update(value.tobytes())
    return h.hexdigest()


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
    :meth:`ImageClassifier.top`).

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


def untrained_banner(model: Any) -> str:
    """A large-text warning for notebooks to print above predictions ('' for real weights).

    Belongs with ``notebooks/03_inception_predictions.ipynb``; no notebook calls it (they
    use :func:`helpers.plotting.mark_untrained`).

    Parameters
    ----------
    model
        Any model; untrained when its ``untrained`` attribute is true.

    Returns
    -------
    str
        Three lines: the warning, naming the network (its ``display_name``; InceptionV3's
        :data:`UNTRAINED_MESSAGE` for a model without one), between two rows of ``!``; ``""``
        for a trained model.

    Examples
    --------
    >>> class RandomNet:
    ...     untrained = True
    ...     display_name = "husky CNN, randomized"
    >>> print(untrained_banner(RandomNet()))
    !!!!!!!!!!...
    !!  UNTRAINED network (husky CNN, randomized): ...MEANINGLESS...
    !!!!!!!!!!...
    >>> untrained_banner(object())
    ''
    """
    if not getattr(model, "untrained", False):
        return ""
    bar = "!" * 78
    return f"{bar}\n!!  {untrained_message(model)}\n{bar}"


def untrained_message(model: Any) -> str:
    """The warning for an untrained network, naming it (used by banners and figures).

    Belongs with ``notebooks/03_inception_predictions.ipynb``; no notebook calls it
    (:func:`untrained_banner` and :func:`helpers.plotting.mark_untrained` do).

    Parameters
    ----------
    model
        A model marked ``untrained``; its ``display_name`` is used when it has one.

    Returns
    -------
    str
        :data:`UNTRAINED_MESSAGE` for InceptionV3 or a model without a name, else the same
        warning naming the network.

    Examples
    --------
    >>> class RandomNet:
    ...     display_name = "husky CNN, randomized"
    >>> untrained_message(RandomNet()).split(":")[0]
    'UNTRAINED network (husky CNN, randomized)'
    """
    name = getattr(model, "display_name", None)
    if name is None or "InceptionV3" in name:
        return UNTRAINED_MESSAGE
    return (
        f"UNTRAINED network ({name}): it has seeded RANDOM weights, built because they were "
        "asked for. Its predictions are MEANINGLESS; explanations of it show only how LIME "
        "works, not what a trained network sees."
    )
