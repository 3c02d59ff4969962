"""Classifiers: the one image-classifier interface and its two runtimes, Keras and LiteRT.

Belongs with ``notebooks/03_inception_predictions.ipynb``, whose models are instances of
:class:`ImageClassifier`; the notebooks get them from :mod:`helpers.models`
(:func:`~helpers.models.load_model`, :func:`~helpers.models.classifier_fn`). TensorFlow, Keras
and LiteRT are imported inside the methods that need them, never at import time.

Every classifier maps a batch of RGB images ``(B, H, W, 3)`` (uint8, or float in [0, 1]) to
``(B, K)`` float64 probabilities, so the object itself is LIME's ``classifier_fn``, and has a
:meth:`~ImageClassifier.fingerprint` (a hash of everything its outputs depend on) for the
prediction cache. Here too: :func:`available_cores`, the one count of the cores this process
may use, and :func:`reinitialize_weights`, seeded random weights for a Keras network.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .validation import check_batch_size, check_image_batch

__all__ = [
    "ImageClassifier",
    "KerasClassifier",
    "LiteRTClassifier",
    "available_cores",
    "model_fingerprint",
    "reinitialize_weights",
]


# ----- the interface ------------------------------------------------------------------------


class ImageClassifier(ABC):
    """An image classifier LIME can call: RGB batch in, ``(B, K)`` probabilities out.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose models are instances of
    it; no notebook names the class. Subclasses implement ``_predict`` and
    :meth:`fingerprint`.

    Attributes
    ----------
    name
        Short name, e.g. ``"mobilenet_v2"`` (one of :data:`helpers.models.MODEL_NAMES` for ImageNet
        models).
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


def available_cores() -> int:
    """How many cores this process may run on: its affinity mask where the OS has one.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, whose Dask workers it counts; no
    notebook calls it (the LiteRT classifiers take their default thread count from it). In a
    container or under ``taskset`` this is the cores granted, not the machine's.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
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
            num_threads = min(2, available_cores())
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


# ----- Keras --------------------------------------------------------------------------------


class KerasClassifier(ImageClassifier):
    """A Keras model as an :class:`ImageClassifier`, through one compiled function.

    Belongs with ``notebooks/03_inception_predictions.ipynb``, whose
    :func:`helpers.models.classifier_fn` returns one; no notebook names the class.

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


def reinitialize_weights(network: Any, *, random_state: int = 0) -> None:
    """Overwrite every weight of a Keras network with seeded random values, in place.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``, whose randomized network
    (:func:`helpers.metrics.randomized_copy`) it makes; no notebook calls it
    (:func:`helpers.models.load_inception_v3` also builds the untrained InceptionV3 with it).

    Kernels get He-uniform values (so that signals keep their scale through the ReLUs and the
    outputs are not all equal), biases and BatchNorm offsets zeros, BatchNorm scales and
    variances ones. The values come from ``numpy.random.default_rng(random_state)``, not from
    Keras' global seed, so nothing global is changed: the same seed gives the same weights,
    bit for bit.

    Parameters
    ----------
    network
        A built Keras model; its variables are assigned new values.
    random_state
        Seed of the new weights.
    """
    rng = np.random.default_rng(random_state)
    for variable in network.weights:
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


# ----- fingerprints ------------------------------------------------------------------------


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
