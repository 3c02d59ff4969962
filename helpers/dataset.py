"""Explaining a whole dataset: one saved explanation per image, resumable, reproducible, on Dask.

Introduced in ``notebooks/10_explaining_datasets.ipynb``. :func:`explain_dataset` runs
:func:`helpers.explain.explain` on every image of a list or a manifest and writes
``<out_dir>/<image_id>.npz`` (one :class:`~helpers.explanation.Explanation` per image, saved
atomically) and ``<out_dir>/summary.csv`` (one row per input image, :data:`SUMMARY_COLUMNS`,
rewritten atomically as results come in; :func:`read_summary` reads it back).

Four decisions make a run safe to interrupt and to repeat:

**Image id: a hash of the file's bytes** (:func:`image_id`). The same picture keeps its id
when the dataset is moved, renamed or reordered, on any machine; an edited file gets a new
id, so an old explanation is never taken for the new picture; two copies are explained once.
(A path relative to a root would be readable, but breaks on every rename and cannot see an
edit.) The summary has the path beside the id.

**Seeds from the id, never from the order** (:func:`image_seed`): an image gets the same seed
first or last, alone or among 10 000, on one process or fifty workers, so the files are
byte-identical provided the model's outputs are (the int8 LiteRT models' are; a float
TensorFlow model run with another number of threads may differ in the last bits).

**Resuming checks, it does not trust.** A file is kept only if it loads and records the same
image id, the same request (``random_state``, model spec, image size, ``explain`` settings)
and the same model: the fingerprint (architecture and weights, as for the prediction cache)
of the model built now, not only the recipe. Anything else is made again; a model without a
fingerprint cannot resume (:class:`UnidentifiedModelWarning`). Files appear only whole, so an
interrupted run loses at most the images in progress. A run locks its ``out_dir``: a second
run into it is refused (:class:`FolderInUseError`), and temporary files are removed only when
old enough to be a killed write's (:func:`helpers.files.reap_stale_parts`).

**The model travels as a recipe, never as a live object**: a name for
:func:`helpers.models.load_model` or a zero-argument factory (``functools.partial``,
:func:`keras_model_file`). Each Dask worker builds it once per call and keeps it.

The engine is Dask (the ``scale`` extra; ``client="serial"``: none, the same files). Ids,
seeds, manifests, the folder lock and the summary live in :mod:`helpers.manifest`, the Dask
plumbing in :mod:`helpers.cluster`; the names notebook 10 uses are importable from here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .auto_samples import FIRST_ROUND
from .cache import classifier_identity
from .cluster import (
    SCALE_EXTRA,
    local_cluster,
    require_distributed,
    run_on_dask,
    worker_host,
    worker_object,
)
from .explanation import Explanation
from .files import jsonable, reap_stale_parts
from .manifest import (
    STATUSES,
    SUMMARY_COLUMNS,
    SUMMARY_NAME,
    TOP,
    FolderInUseError,
    explanation_path,
    folder_lock,
    image_id,
    image_seed,
    read_image,
    read_image_list,
    read_summary,
    summary_row,
    typed_row,
    write_summary,
)
from .recipes import resolve
from .setting_checks import check_stopping
from .validation import MIN_SIDE, check_batch_size, check_num_samples

__all__ = [
    "SCALE_EXTRA",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "FolderInUseError",
    "UnidentifiedModelWarning",
    "explain_dataset",
    "explanation_path",
    "image_id",
    "image_seed",
    "keras_model_file",
    "local_cluster",
    "read_image_list",
    "read_summary",
]

_ID_HEX = 16
_SUMMARY_EVERY = 2.0  # seconds between rewrites of the summary while results come in
_SETTINGS = ("recipe", "design", "hide_color", "distance", "kernel", "kernel_width", "surrogate",
             "num_features")  # fmt: skip
_PER_IMAGE = ("image", "classifier_fn", "segments", "samples", "random_state", "progress")
_ANONYMOUS = (
    "The model built by {} has no fingerprint, so explain_dataset cannot tell whether files in "
    "{} were made by it: it explains every image again, and this run's files cannot be resumed. "
    "Fix: return a helpers.models classifier, or give yours a `fingerprint` (attribute or "
    "method) that changes with its weights and architecture."
)
_CRASHED = (
    "the worker explaining it died every time it tried, also with no other image beside it "
    "(KilledWorker): the image crashes the model or exhausts the worker's memory"
)


class UnidentifiedModelWarning(UserWarning):
    """The model has no fingerprint: every image is explained again, and no file is resumable.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook names it.

    Parameters
    ----------
    message
        The model spec, and the fix: a classifier with a ``fingerprint``.
    """


# ----- the model: a recipe each worker builds once ---------------------------------------------
def _load_keras_file(path: str, batch_size: int, class_names: tuple[str, ...] | None) -> Any:
    import keras

    from .classifiers import KerasClassifier

    network = keras.models.load_model(path)
    return KerasClassifier(network, batch_size=batch_size, class_names=class_names)


def keras_model_file(
    path: str | os.PathLike, *, batch_size: int = 32, class_names: Sequence[str] | None = None
) -> Callable[[], Any]:
    """A model factory for :func:`explain_dataset`: a saved Keras model, loaded where it runs.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``.

    Parameters
    ----------
    path
        A model saved with ``model.save("....keras")``, taking RGB in 0..255 as
        :func:`helpers.models.classifier_fn` expects; workers must be able to read the file
        (on a cluster: a shared folder).
    batch_size
        Images per compiled call.
    class_names
        One name per output, for the summary table (default: ``"0"``, ``"1"``...).

    Returns
    -------
    callable
        A picklable zero-argument ``functools.partial`` that returns a
        :class:`~helpers.classifiers.KerasClassifier`.
    """
    names = None if class_names is None else tuple(str(n) for n in class_names)
    return functools.partial(_load_keras_file, str(Path(path).absolute()), int(batch_size), names)


def _describe(value: Any) -> str:
    """A text that names a model spec the same way in every session (for the request key)."""
    if isinstance(value, functools.partial):
        args = [_describe(a) for a in value.args]
        args += [f"{k}={_describe(v)}" for k, v in sorted(value.keywords.items())]
        return f"partial({_describe(value.func)}, {', '.join(args)})"
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
        return f"{value.__module__}.{value.__qualname__}"
    text = repr(value)
    if " at 0x" in text:  # an address changes from session to session
        return f"{type(value).__module__}.{type(value).__qualname__}"
    return text


def _check_model(model: Any) -> str:
    """Refuse live models; return the spec's stable description."""
    from .classifiers import ImageClassifier
    from .models import MODEL_NAMES

    fix = (
        "Fix: pass a model name (e.g. 'mobilenet_v2') or a zero-argument factory that builds "
        "the model where it runs, e.g. functools.partial(helpers.models.load_model, "
        "'mobilenet_v2') or helpers.dataset.keras_model_file('model.keras')."
    )
    if isinstance(model, str):
        if model not in MODEL_NAMES:
            raise ValueError(f"Unknown model {model!r}; choose one of {MODEL_NAMES}.")
        return f"load_model({model!r})"
    if isinstance(model, ImageClassifier) or hasattr(model, "predict"):
        raise TypeError(
            f"explain_dataset takes a recipe for the model, not a loaded model "
            f"({type(model).__name__}): each worker builds its own copy once. {fix}"
        )
    if not callable(model):
        raise TypeError(f"model must be a name or a factory, got {type(model).__name__}. {fix}")
    try:
        inspect.signature(model).bind()
    except TypeError:
        raise TypeError(
            f"model {_describe(model)} needs arguments, so it looks like a classifier. "
            f"explain_dataset needs a factory that takes none. {fix}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): trust it
        pass
    return _describe(model)


def _build_model(spec: Any, threads: int | None) -> tuple[Any, str | None]:
    """The model built from its spec, with ``threads`` for its own computation, and its
    fingerprint (``None``: it has none), taken once, when it is built."""
    if threads is not None and "tensorflow" not in sys.modules:
        # TensorFlow reads these when it starts: one pool of `threads`, no extra inter-op pool.
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    if isinstance(spec, str):
        from .models import load_model

        model = load_model(spec, num_threads=threads)
    else:
        model = spec()
    return model, classifier_identity(model)


def _worker_model(task: _Task) -> tuple[Any, str | None]:
    """This worker's model for the run ``task.run``: built on its first image, then reused."""

    def build() -> tuple[Any, str | None]:
        threads = task.threads.get(worker_host(), 1) if task.threads else None
        return _build_model(task.model, threads)

    return worker_object(task.run, build)


# ----- one image --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Task:
    """Everything a worker needs for one image (small: sent with every task)."""

    image_id: str
    path: str
    out: str
    seed: int
    request: str
    model: Any
    explain_kwargs: dict[str, Any]
    image_size: Any
    run: str = ""
    threads: dict[str, int] = field(default_factory=dict)


_Result = tuple[dict[str, Any], bool]  # an image's summary row; whether the model was anonymous


def _earlier_explanation(task: _Task, get_model: Callable[[], Any]) -> Explanation | None:
    """The file ``task.out`` if it loads and was made for this image, request and model."""
    path = Path(task.out)
    if not path.is_file():
        return None
    try:
        explanation = Explanation.load(path)
    except Exception:  # truncated, damaged, not an explanation: make it again
        return None
    made_for = explanation.params.get("dataset", {})
    if made_for.get("image_id") != task.image_id or made_for.get("request") != task.request:
        return None
    identity = get_model()[1]  # the model built now, not the recipe, decides
    return explanation if identity and made_for.get("model_fingerprint") == identity else None


def _record(task: _Task, status: str, explanation: Any = None, error: str = "") -> dict[str, Any]:
    """One summary row (without the path, which belongs to each input row)."""
    file = Path(task.out).name
    return summary_row(task.image_id, task.seed, status, explanation, error=error, file=file)


def _explain_one(
    task: _Task, get_model: Callable[[], tuple[Any, str | None]] | None = None
) -> _Result:
    """Skip, explain or fail one image (with this Dask worker's model if ``get_model`` is not
    given); only a model that cannot be built raises."""
    from .explain import explain
    from .images import resize_image

    get_model = get_model or functools.partial(_worker_model, task)

    earlier = _earlier_explanation(task, get_model)
    if earlier is not None:
        return _record(task, "skipped", earlier), False
    try:
        image = read_image(task.path, task.image_id)
    except Exception as exc:
        return _record(task, "failed", error=_reason(exc)), False
    model, identity = get_model()
    try:
        size = getattr(model, "input_size", None) if task.image_size == "model" else task.image_size
        if size is not None and tuple(image.shape[:2]) != tuple(size):
            image = resize_image(image, tuple(size))
        explanation = explain(
            image, model, random_state=task.seed, progress=False, **task.explain_kwargs
        )
        p0 = explanation.predictions[0]
        shown = set(np.argsort(-p0, kind="stable")[:TOP].tolist()) | set(explanation.labels)
        names = getattr(model, "class_names", None)
        explanation.params["class_names"] = {
            str(j): (names[j] if names is not None and j < len(names) else str(j))
            for j in sorted(int(j) for j in shown)
        }
        explanation.params["dataset"] = {
            "image_id": task.image_id,
            "request": task.request,
            "model": getattr(model, "description", None),
            "model_fingerprint": identity,
        }
        explanation.save(task.out)
    except Exception as exc:
        return _record(task, "failed", error=_reason(exc)), identity is None
    return _record(task, "done", explanation), identity is None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    if isinstance(exc, ValueError) and text.startswith(
        ("not an image", "truncated", "the file", "too small")
    ):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----- the run ----------------------------------------------------------------------------------
def _check_explain_kwargs(explain_kwargs: dict[str, Any]) -> None:
    from .explain import explain

    per_image = sorted(set(explain_kwargs) & set(_PER_IMAGE))
    if per_image:
        raise TypeError(
            f"explain_dataset sets {per_image} itself (per image, or random_state for the "
            "whole run); remove them."
        )
    try:
        inspect.signature(explain).bind(None, None, **explain_kwargs)
    except TypeError as exc:
        raise TypeError(f"explain_dataset passes these on to explain(): {exc}") from None
    # The values too, as explain() checks them, so that they fail once and not on every image.
    resolve(**{k: v for k, v in explain_kwargs.items() if k in _SETTINGS})
    num_samples = explain_kwargs.get("num_samples", 2)
    if isinstance(num_samples, str):  # "auto", with its stopping rule
        given = inspect.signature(explain).parameters
        rule = [explain_kwargs.get(n, given[n].default) for n in ("max_samples", "confidence", "k")]
        check_stopping(num_samples, *rule, first_round=FIRST_ROUND)
    else:
        check_num_samples(num_samples)
    check_batch_size(explain_kwargs.get("batch_size", 1))


def _check_random_state(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise TypeError(
            "explain_dataset needs an int random_state (every image's seed comes from it, so "
            f"that a re-run can resume), got {random_state!r}."
        )
    if int(random_state) < 0:
        raise ValueError(f"random_state must be non-negative, got {random_state}.")
    return int(random_state)


def _check_image_size(image_size: Any) -> str | tuple[int, int] | None:
    """``"model"``, ``None`` or ``(height, width)`` as two ints of at least ``MIN_SIDE``."""
    if image_size is None or (isinstance(image_size, str) and image_size == "model"):
        return image_size
    text = isinstance(image_size, str | bytes)
    sides = list(image_size) if isinstance(image_size, Iterable) and not text else []
    whole = all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in sides)
    if not (len(sides) == 2 and whole and min(sides) >= MIN_SIDE):
        raise ValueError(
            f"image_size must be 'model', None or (height, width) in whole pixels, each at "
            f"least {MIN_SIDE}; got {image_size!r}. Fix: e.g. image_size=(224, 224)."
        )
    return int(sides[0]), int(sides[1])


def _request_key(random_state: int, model: str, image_size: Any, kwargs: dict[str, Any]) -> str:
    request = {
        "random_state": random_state,
        "model": model,
        "image_size": jsonable(image_size),
        "explain": jsonable(kwargs),
    }
    text = json.dumps(request, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:_ID_HEX]


def explain_dataset(
    images: str | os.PathLike | Iterable[str | os.PathLike],
    model: str | Callable[[], Any],
    out_dir: str | os.PathLike,
    *,
    client: Any = None,
    random_state: int = 0,
    image_size: str | tuple[int, int] | None = "model",
    progress: bool = True,
    **explain_kwargs: Any,
) -> list[dict[str, Any]]:
    """Explain every image of a dataset: one saved explanation per image and a summary table.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``. The design (ids, seeds,
    resuming, the model recipe) is in the module docstring.

    Parameters
    ----------
    images
        A list of image paths, or a manifest (:func:`read_image_list`: a ``.csv`` with a
        ``path`` column, or one path per line). On a cluster, every worker must see the files
        at these paths (a shared folder).
    model
        How to get the model, on each worker: a name for :func:`helpers.models.load_model`
        (``"mobilenet_v2"``, ``"auto"``...) or a picklable zero-argument factory returning a
        classifier (``functools.partial(...)``, :func:`keras_model_file`, a function of
        yours). Never a loaded model. Files are resumed only for a model with a
        ``fingerprint`` (every :mod:`helpers.models` classifier has one).
    out_dir
        Folder for the explanations (``<image_id>.npz``) and ``summary.csv``; created if
        needed. Re-running the same call into it resumes. One run at a time per folder.
    client
        ``None``: start a :func:`local_cluster` for this call and close it at the end. A
        ``distributed.Client``: use its cluster (one machine or many). ``"serial"``: no Dask,
        the images one after the other in this process (the same files).
    random_state
        The run's seed; each image's seed is :func:`image_seed` of it and the image's id.
    image_size
        ``"model"`` (default): resize each image to the model's ``input_size``, as the
        notebooks do, so superpixels are drawn on what the network sees; ``None``: explain
        images at their stored size; ``(height, width)``: that size (whole pixels, at least
        8 each).
    progress
        Show a progress bar.
    **explain_kwargs
        Passed to :func:`helpers.explain.explain` for every image (``num_samples``,
        ``recipe``, ``labels``, ``top_labels``, ``segmentation``, ``hide_color``...), except
        what is per image (``segments``, ``samples``) or set here (``random_state``,
        ``progress``).

    Returns
    -------
    list of dict
        The summary's rows (:data:`SUMMARY_COLUMNS`), one per input image in input order, as
        :func:`read_summary` reads them from ``out_dir / "summary.csv"``.

    Raises
    ------
    ImportError
        Dask is needed (``client`` is not ``"serial"``) but not installed (names the extra).
    TypeError, ValueError
        A loaded model instead of a recipe, an unknown name, settings ``explain`` refuses, a
        bad ``random_state`` or ``image_size``, a manifest that cannot be read.
    FolderInUseError
        Another run is writing to ``out_dir``.

    Warns
    -----
    UnidentifiedModelWarning
        The model has no ``fingerprint``: every image is explained again.

    Notes
    -----
    An image that cannot be read or explained is ``failed`` with the reason, the others go
    on, and the next run tries it again; only an image that kills a Dask worker when it runs
    alone is blamed for the death. A model that cannot be built stops the run.

    Examples
    --------
    >>> rows = explain_dataset(paths, "mobilenet_v2", "explanations/")  # doctest: +SKIP
    >>> [row["status"] for row in rows]  # doctest: +SKIP
    ['done', 'done', 'failed']
    """
    random_state = _check_random_state(random_state)
    image_size = _check_image_size(image_size)
    serial = isinstance(client, str) and client == "serial"
    if isinstance(client, str) and not serial:
        raise ValueError(f"client must be None, a distributed.Client or 'serial', got {client!r}.")
    model_key = _check_model(model)
    _check_explain_kwargs(explain_kwargs)
    distributed = None if serial else require_distributed()
    if not serial and client is not None and not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}.")
    paths = read_image_list(images)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        reap_stale_parts(explanation_path(out, "any"), any_stem=True)
        request = _request_key(random_state, model_key, image_size, explain_kwargs)
        run = f"lime-explain-{uuid.uuid4().hex}"
        job = _Job(out, model_key, progress, run)
        for path in paths:
            job.add(path, lambda path, ident: _Task(
                image_id=ident, path=str(Path(path).absolute()),
                out=str(explanation_path(out, ident).absolute()),
                seed=image_seed(random_state, ident), request=request, model=model,
                explain_kwargs=dict(explain_kwargs), image_size=image_size, run=run,
            ))  # fmt: skip
        job.run(client, serial)
    return [typed_row(row) for row in job.rows]


class _Job:
    """The rows of one run, its tasks (one per distinct image), and the summary they fill."""

    def __init__(self, out: Path, model_key: str, progress: bool, run: str) -> None:
        self.summary = out / SUMMARY_NAME
        self.run_id = run
        self.model_key = model_key
        self.progress = progress
        self.rows: list[dict[str, Any]] = []
        self.tasks: dict[str, _Task] = {}
        self.rows_of: dict[str, list[int]] = {}
        self.warned = False  # about a model without a fingerprint, once

    def add(self, path: Path, make: Callable[[Path, str], _Task]) -> None:
        row = dict.fromkeys(SUMMARY_COLUMNS, "")
        row["path"] = str(path)
        try:
            ident = image_id(path)
        except (OSError, ValueError) as exc:
            row.update(status="failed", error=f"cannot read the file: {_reason(exc)}")
            self.rows.append(row)
            return
        task = self.tasks.setdefault(ident, make(path, ident))
        row.update(image_id=ident, status="pending", seed=task.seed)
        self.rows_of.setdefault(ident, []).append(len(self.rows))
        self.rows.append(row)

    def run(self, client: Any, serial: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=len(self.rows), desc="images", unit="img", disable=not self.progress)
        self.bar.update(len(self.rows) - sum(len(r) for r in self.rows_of.values()))  # unreadable
        self.last_write = time.monotonic()
        write_summary(self.summary, self.rows)
        try:
            if serial:
                _run_serially(self.tasks, self.finish)
            else:
                run_on_dask(
                    client, _explain_one, self.tasks, self.finish,
                    lambda ident: (_record(self.tasks[ident], "failed", error=_CRASHED), False),
                    run=self.run_id,
                    with_threads=lambda task, threads: dataclasses.replace(task, threads=threads),
                )  # fmt: skip
        finally:
            self.bar.close()
            write_summary(self.summary, self.rows)

    def finish(self, ident: str, result: _Result) -> None:
        record, anonymous = result
        if anonymous and not self.warned:
            self.warned = True
            message = _ANONYMOUS.format(self.model_key, self.summary.parent)
            warnings.warn(UnidentifiedModelWarning(message), stacklevel=2)
        for i in self.rows_of[ident]:
            self.rows[i] = {**record, "path": self.rows[i]["path"]}
        self.bar.update(len(self.rows_of[ident]))
        failed = sum(row["status"] == "failed" for row in self.rows)
        if failed:
            self.bar.set_postfix(failed=failed)
        if time.monotonic() - self.last_write >= _SUMMARY_EVERY:
            write_summary(self.summary, self.rows)
            self.last_write = time.monotonic()


def _run_serially(tasks: dict[str, _Task], finish: Callable[[str, _Result], None]) -> None:
    model: list[tuple[Any, str | None]] = []

    def get_model(task: _Task) -> tuple[Any, str | None]:
        if not model:  # built on the first image that needs it: a run of bad files loads nothing
            model.append(_build_model(task.model, None))
        return model[0]

    for ident, task in tasks.items():
        finish(ident, _explain_one(task, lambda task=task: get_model(task)))
