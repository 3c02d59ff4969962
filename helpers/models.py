"""Models: the ImageNet classifiers by name, your own Keras model as one, the Keras cache.

Introduced in ``notebooks/00_setup.ipynb`` (``load_model("auto")``); the models are the
subject of ``notebooks/03_inception_predictions.ipynb``. TensorFlow, Keras and LiteRT are
imported inside the functions that need them, never at import time.

Every model is a :class:`helpers.classifiers.ImageClassifier` (the interface and its Keras
and LiteRT runtimes), whose call maps ``(B, H, W, 3)`` RGB images to ``(B, K)`` probabilities:
it is LIME's ``classifier_fn``. :func:`load_model` gives the ImageNet models by name:

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

A user's own Keras model becomes a classifier with :func:`classifier_fn`. Keras' cache
(:func:`keras_home`) is filled by :func:`install_keras_files` (``python -m helpers.models``,
run by ``make data``); a read-only cache is no obstacle.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Literal

from .classifiers import (
    ImageClassifier,
    KerasClassifier,
    LiteRTClassifier,
    reinitialize_weights,
)
from .data import fetch, file_hash, offline_copy, registry
from .files import atomic_path
from .imagenet import check_background_offset, imagenet_class_names
from .settings import DATA_ENV, UNTRAINED_ENV, env_flag, env_path

__all__ = [
    "INCEPTION_WEIGHTS",
    "MODEL_NAMES",
    "UNTRAINED_MESSAGE",
    "StandInModelWarning",
    "UntrainedWeightsWarning",
    "WeightsUnavailableError",
    "classifier_fn",
    "install_keras_files",
    "keras_home",
    "load_inception_v3",
    "load_litert",
    "load_model",
    "untrained_banner",
    "untrained_message",
    "untrained_opt_in",
]


MODEL_NAMES = ("auto", "inception_v3", "inception_v3_untrained", "mobilenet_v2", "mobilenet_v1")
INCEPTION_WEIGHTS = "keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels.h5"

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
    check_background_offset()
    return LiteRTClassifier(
        entry_path.read_bytes(),
        name=name,
        display_name=display_name,
        class_names=imagenet_class_names(),
        weights_source=f"real ImageNet weights, run with LiteRT ({entry_path.name})",
        num_workers=num_workers,
        num_threads=num_threads,
    )


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


# ----- the Keras cache and InceptionV3 ---------------------------------------------------


def keras_home() -> Path:
    """The Keras cache: the one Keras uses if imported, else ``$KERAS_HOME`` or ~/.keras.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (the environment report
    prints it). Keras is not imported here.

    Returns
    -------
    pathlib.Path
        The directory whose ``models/`` folder holds Keras' downloads.
    """
    if "keras" in sys.modules:
        from keras.src.backend import config as keras_config

        return Path(keras_config.keras_home())
    path = env_path("KERAS_HOME")
    return path if path is not None else Path("~/.keras").expanduser()


def _atomic_copy(src: Path, dest: Path) -> None:
    """Copy via a temporary file in the destination directory, so no half-written file remains."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def install_keras_files(*, download: bool = True) -> list[Path]:
    """Put Keras' files (class index, InceptionV3 weights) into the Keras cache.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (``make data`` and
    :func:`load_inception_v3` do). Files present in ``LIME_TUTORIAL_DATA`` are verified and
    copied into ``<keras_home>/models/`` when the cache lacks them or holds a different file.
    Required files missing there are fetched first when ``download`` is true; optional ones
    (the 92 MB weights) are left to Keras' own download.

    Parameters
    ----------
    download
        Fetch required files that ``LIME_TUTORIAL_DATA`` lacks (:func:`helpers.data.fetch`);
        ``False`` copies only what is already on disk.

    Returns
    -------
    list of pathlib.Path
        The files now in the Keras cache that came from this registry, each verified.

    Raises
    ------
    OSError
        If a file must be written and cannot be (a read-only or full cache), with the fix.
    """
    installed = []
    for entry in registry().values():
        if not entry.keras_cache:
            continue
        dest = keras_home() / "models" / Path(entry.path).name
        source = offline_copy(entry.path)
        if source is None and download and not entry.optional:
            source = fetch(entry.path, progress=False)
        if not (dest.is_file() and file_hash(dest, entry.algorithm) == entry.digest):
            if source is None:
                continue
            try:
                _atomic_copy(source, dest)
            except OSError as exc:
                raise OSError(
                    exc.errno,
                    f"Cannot write {dest} ({exc.strerror or exc}). Fix: make {dest.parent} "
                    "writable, or set KERAS_HOME to a writable directory; load_model reads "
                    f"the files from {DATA_ENV} in place meanwhile.",
                ) from exc
        installed.append(dest)
    return installed


def _inception_weights_file() -> Path | None:
    """The verified InceptionV3 weights: in the Keras cache, else in ``LIME_TUTORIAL_DATA``."""
    try:
        installed = install_keras_files(download=False)  # copies them into the cache
    except OSError:  # a read-only cache (a classroom's shared install): read in place
        installed = []
    cached = keras_home() / "models" / INCEPTION_WEIGHTS.rsplit("/", 1)[-1]
    return cached if cached in installed else offline_copy(INCEPTION_WEIGHTS)


def _inception_weights_reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a download of the weights could start (a HEAD request that answers)."""
    import urllib.request

    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except Exception:
        return False


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
        at_hand = _inception_weights_file()  # verified; else Keras downloads into its cache
        try:
            network = inception_v3.InceptionV3(weights=str(at_hand) if at_hand else "imagenet")
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
        reinitialize_weights(network, random_state=random_state)
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
    if _inception_weights_file() is not None or _inception_weights_reachable(url):
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


# ----- the untrained text ----------------------------------------------------------------


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


def _main(argv: list[str] | None = None) -> int:
    """``python -m helpers.models``: fill the Keras cache (``make data`` runs it)."""
    import argparse

    parser = argparse.ArgumentParser(description="Fill the Keras cache from the data registry.")
    parser.parse_args(argv)
    try:
        installed = install_keras_files()
    except OSError as exc:  # a DataFileError (not an OSError) propagates with its own fix
        print(f"FAILED   {exc}", file=sys.stderr)
        return 1
    for path in installed:
        print(f"keras    {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
