"""Explaining a whole dataset: one saved explanation per image, resumable, reproducible, on Dask.

Introduced in ``notebooks/10_explaining_datasets.ipynb``. :func:`explain_dataset` runs
:func:`helpers.explain.explain` on every image of a list or a manifest and writes

- ``<out_dir>/<image_id>.npz``: one :class:`~helpers.explanation.Explanation` per image,
  written atomically by :meth:`~helpers.explanation.Explanation.save`;
- ``<out_dir>/summary.csv``: one row per input image (:data:`SUMMARY_COLUMNS`), rewritten
  atomically while results come in and once at the end; :func:`read_summary` reads it back.

Four decisions make a run safe to interrupt and to repeat:

**Image id: a hash of the file's bytes** (the first 16 hex digits of its SHA-256,
:func:`image_id`). The same picture keeps its id when the dataset is moved, renamed or
listed in another order, on any machine; a file that is edited gets a new id, so a re-run
never takes an old explanation for the new picture; two copies of one picture are explained
once. (A path relative to a root would be readable, but breaks on every rename and cannot see
an edited file.) The summary has the path beside the id.

**Seeds from the id, never from the order.** Each image's seed is drawn from
``numpy.random.SeedSequence(random_state, spawn_key=<the id's 64 bits>)`` (:func:`image_seed`),
so an image gets the same seed whether it is first or last, alone or among 10 000, on one
process or on fifty workers: the files are byte-identical, provided that the model's outputs
are (the int8 LiteRT models' integer kernels are; a float TensorFlow model run with a
different number of threads may differ in the last bits).

**Resuming checks, it does not trust.** A file is taken as done only if it loads and records
the same image id and the same request (``random_state``, model, image size and
``explain`` settings); anything else (missing, truncated, from another request) is made
again. Files appear only whole (written beside and renamed), so an interrupted run loses at
most the images in progress. Run one call per ``out_dir`` at a time: a new run deletes the
temporary files an interrupted one left.

**The model travels as a recipe, never as a live object.** ``model`` is a name for
:func:`helpers.models.load_model` or a zero-argument factory (e.g. ``functools.partial`` or
:func:`keras_model_file`). Each Dask worker builds the model once per call, on its first
image, and keeps it for the others; only the name or the small factory is sent with a task.

The engine is ``dask.distributed`` (the ``scale`` extra: ``pip install -e ".[scale]"``).
``client=None`` starts a :func:`local_cluster` sized for this machine; a ``Client`` connected
to any scheduler uses that cluster; ``client="serial"`` runs in this process without Dask and
gives the same files.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import inspect
import io
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .explanation import Explanation, jsonable
from .files import atomic_path

__all__ = [
    "SCALE_EXTRA",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "explain_dataset",
    "explanation_path",
    "image_id",
    "image_seed",
    "keras_model_file",
    "local_cluster",
    "read_image_list",
    "read_summary",
]

#: The summary table's file name inside ``out_dir``.
SUMMARY_NAME = "summary.csv"

#: The summary's columns, in order. ``label`` is the first label explained (the top class by
#: default) with its ``class_name``, the model's ``probability`` for it on the image and the
#: surrogate's ``score`` (weighted R²); ``top_labels``, ``top_names`` and
#: ``top_probabilities`` are the model's five best classes, ``;``-separated; ``file`` is the
#: explanation's name inside ``out_dir``.
SUMMARY_COLUMNS = (
    "image_id",
    "path",
    "status",
    "error",
    "seed",
    "label",
    "class_name",
    "probability",
    "score",
    "top_labels",
    "top_names",
    "top_probabilities",
    "file",
)

#: ``done``: explained in this run; ``skipped``: a valid file from an earlier run was kept;
#: ``failed``: see ``error``; ``pending``: not finished yet (only in a summary written while
#: the run goes on, or by a run that was interrupted).
STATUSES = ("done", "skipped", "failed", "pending")

#: The optional dependency group that installs Dask.
SCALE_EXTRA = "scale"

_TOP = 5
_ID_HEX = 16
_SUMMARY_EVERY = 2.0  # seconds between rewrites of the summary while results come in
_PER_IMAGE = ("image", "classifier_fn", "segments", "samples", "random_state", "progress")


# ----- ids, seeds, inputs ----------------------------------------------------------------------
def image_id(path: str | os.PathLike) -> str:
    """The stable id of an image file: the first 16 hex digits of the SHA-256 of its bytes.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``.

    Parameters
    ----------
    path
        The image file.

    Returns
    -------
    str
        16 lowercase hex digits (64 bits): the same for the same bytes, wherever the file is.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "a.bin"
    ...     _ = p.write_bytes(b"lime")
    ...     image_id(p)
    'efbaa8cbfffc1af3'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:_ID_HEX]


def image_seed(random_state: int, image_id: str) -> int:
    """The seed of one image's explanation, from the run's ``random_state`` and the image id.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``. The id's 64 bits are the spawn
    key of a :class:`numpy.random.SeedSequence` with ``random_state`` as entropy, so seeds
    do not depend on the order of the images or on how many workers run them, and images
    get independent streams.

    Parameters
    ----------
    random_state
        The run's seed (a non-negative int).
    image_id
        The image's id (:func:`image_id`).

    Returns
    -------
    int
        A seed in ``[0, 2**63)``, recorded in the summary and in ``Explanation.params``.

    Examples
    --------
    >>> image_seed(0, "efbaa8cbfffc1af3") == image_seed(0, "efbaa8cbfffc1af3")
    True
    >>> image_seed(0, "efbaa8cbfffc1af3") != image_seed(1, "efbaa8cbfffc1af3")
    True
    """
    bits = int(image_id, 16)
    sequence = np.random.SeedSequence(int(random_state), spawn_key=(bits >> 32, bits & 0xFFFFFFFF))
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def read_image_list(images: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The image paths of a list, or of a manifest file.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``.

    Parameters
    ----------
    images
        A list (any iterable) of paths, or the path of a manifest: a ``.csv`` file with a
        header row and a ``path`` column (other columns are ignored), or any other text file
        with one path per line (blank lines and lines starting with ``#`` are ignored).
        Relative paths in a manifest are relative to the manifest's folder.

    Returns
    -------
    list of pathlib.Path
        In the order given; duplicates are kept (they share one explanation).
    """
    if isinstance(images, str | os.PathLike):
        manifest = Path(images)
        if manifest.is_dir():
            raise ValueError(
                f"{manifest} is a folder. Fix: pass a list of image paths, e.g. "
                f"sorted(Path({str(manifest)!r}).glob('*.jpg')), or a manifest file."
            )
        try:
            text = manifest.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{manifest} is not a text manifest (one path per line, or a .csv with a "
                f"'path' column). Fix: for one image, pass a list: [{str(manifest)!r}]."
            ) from None
        if manifest.suffix.lower() == ".csv":
            reader = csv.DictReader(io.StringIO(text))
            if "path" not in (reader.fieldnames or []):
                raise ValueError(
                    f"The CSV manifest {manifest} has no 'path' column (columns: "
                    f"{reader.fieldnames}). Fix: name the column of image paths 'path'."
                )
            entries = [row["path"].strip() for row in reader if (row["path"] or "").strip()]
        else:
            lines = (line.strip() for line in text.splitlines())
            entries = [line for line in lines if line and not line.startswith("#")]
        return [manifest.parent / entry for entry in entries]
    return [Path(p) for p in images]


def explanation_path(out_dir: str | os.PathLike, image_id: str) -> Path:
    """Where :func:`explain_dataset` writes the explanation of image ``image_id``.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``.

    Parameters
    ----------
    out_dir
        The run's output folder.
    image_id
        The image's id (:func:`image_id`).

    Returns
    -------
    pathlib.Path
        ``out_dir / f"{image_id}.npz"``.
    """
    return Path(out_dir) / f"{image_id}.npz"


# ----- the model: a recipe each worker builds once ---------------------------------------------
def _load_keras_file(path: str, batch_size: int, class_names: tuple[str, ...] | None) -> Any:
    import keras

    from .models import KerasClassifier

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
        :class:`~helpers.models.KerasClassifier`.
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
    from .models import MODEL_NAMES, ImageClassifier

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


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _build_model(spec: Any, threads: int | None) -> Any:
    """Build the model from its spec, with ``threads`` for its own computation."""
    if threads is not None and "tensorflow" not in sys.modules:
        # TensorFlow reads these when it starts: one pool of `threads`, no extra inter-op pool.
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    if isinstance(spec, str):
        from .models import load_model

        return load_model(spec, num_threads=threads)
    return spec()


_WORKER_MODELS: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


def _worker_model(task: _Task) -> Any:
    """This worker's model for the run ``task.run``: built on its first image, then reused."""
    with _WORKER_LOCK:
        if task.run not in _WORKER_MODELS:
            threads = None
            if task.threads:
                from distributed import get_worker
                from distributed.comm import get_address_host

                threads = task.threads.get(get_address_host(get_worker().address), 1)
            _WORKER_MODELS[task.run] = _build_model(task.model, threads)
        return _WORKER_MODELS[task.run]


def _forget_model(run: str) -> None:
    """Free a finished run's model on a worker (called through ``Client.run``)."""
    with _WORKER_LOCK:
        _WORKER_MODELS.pop(run, None)


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


def _valid_explanation(path: Path, task: _Task) -> Explanation | None:
    """The explanation at ``path`` if it loads and was made for this image and request."""
    if not path.is_file():
        return None
    try:
        explanation = Explanation.load(path)
    except Exception:  # truncated, damaged, not an explanation: make it again
        return None
    made_for = explanation.params.get("dataset", {})
    if made_for.get("image_id") != task.image_id or made_for.get("request") != task.request:
        return None
    return explanation


def _decode(path: str, expected_id: str) -> np.ndarray:
    """The image's pixels as ``(H, W, 3)`` uint8, with a clear error for anything else."""
    from PIL import UnidentifiedImageError

    from .images import decode_image

    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest()[:_ID_HEX] != expected_id:
        raise ValueError("the file changed during the run (its bytes no longer match its id)")
    try:
        return decode_image(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ValueError(
            f"not an image: PIL cannot identify the file's format ({len(data)} bytes)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"truncated or damaged image: {exc}") from None


def _resized(image: np.ndarray, model: Any, image_size: Any) -> np.ndarray:
    from .images import resize_image

    size = getattr(model, "input_size", None) if image_size == "model" else image_size
    if size is None or tuple(image.shape[:2]) == tuple(size):
        return image
    return resize_image(image, tuple(size))


def _record(
    task: _Task, status: str, explanation: Explanation | None = None, error: str = ""
) -> dict[str, Any]:
    """One summary row (without the path, which belongs to each input row)."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, "")
    row.update(image_id=task.image_id, status=status, error=error, seed=task.seed)
    if explanation is not None:
        names = explanation.params.get("class_names", {})
        p0 = np.asarray(explanation.predictions[0], dtype=np.float64)
        top = np.argsort(-p0, kind="stable")[:_TOP]
        label = int(explanation.labels[0])
        row.update(
            label=label,
            class_name=names.get(str(label), str(label)),
            probability=float(p0[label]),
            score=float(explanation.score[label]),
            top_labels=[int(j) for j in top],
            top_names=[names.get(str(int(j)), str(int(j))) for j in top],
            top_probabilities=[float(p0[j]) for j in top],
            file=Path(task.out).name,
        )
    return row


def _explain_one(task: _Task, get_model: Callable[[], Any]) -> dict[str, Any]:
    """Skip, explain or fail one image; only a model that cannot be built raises."""
    from .explain import explain

    out = Path(task.out)
    done = _valid_explanation(out, task)
    if done is not None:
        return _record(task, "skipped", done)
    try:
        image = _decode(task.path, task.image_id)
    except Exception as exc:
        return _record(task, "failed", error=_reason(exc))
    model = get_model()
    try:
        image = _resized(image, model, task.image_size)
        explanation = explain(
            image, model, random_state=task.seed, progress=False, **task.explain_kwargs
        )
        p0 = explanation.predictions[0]
        shown = set(np.argsort(-p0, kind="stable")[:_TOP].tolist()) | set(explanation.labels)
        names = getattr(model, "class_names", None)
        explanation.params["class_names"] = {
            str(j): (names[j] if names is not None and j < len(names) else str(j))
            for j in sorted(int(j) for j in shown)
        }
        explanation.params["dataset"] = {
            "image_id": task.image_id,
            "request": task.request,
            "model": getattr(model, "description", None),
        }
        explanation.save(out)
    except Exception as exc:
        return _record(task, "failed", error=_reason(exc))
    return _record(task, "done", explanation)


def _explain_on_worker(task: _Task) -> dict[str, Any]:
    """The Dask task: one image, with this worker's copy of the model."""
    return _explain_one(task, lambda: _worker_model(task))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    if isinstance(exc, ValueError) and text.startswith(("not an image", "truncated", "the file")):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----- the summary ------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_summary(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in SUMMARY_COLUMNS])


def _parse(column: str, text: str) -> Any:
    if text == "" and column in ("seed", "label", "probability", "score"):
        return None
    if text == "" and column.startswith("top_"):
        return []
    if column in ("seed", "label"):
        return int(text)
    if column in ("probability", "score"):
        return float(text)
    if column in ("top_labels",):
        return [int(t) for t in text.split(";")]
    if column in ("top_probabilities",):
        return [float(t) for t in text.split(";")]
    if column in ("top_names",):
        return text.split(";")
    return text


def read_summary(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The summary table of a run, one dict per input image, with typed values.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``.

    Parameters
    ----------
    out_dir
        The run's output folder (or the summary file itself).

    Returns
    -------
    list of dict
        Keys :data:`SUMMARY_COLUMNS`; ``seed`` and ``label`` are ints, ``probability`` and
        ``score`` floats, ``top_*`` lists, the rest strings; a failed image's empty
        numbers are ``None`` and its empty lists ``[]``. The same rows
        :func:`explain_dataset` returns.
    """
    path = Path(out_dir)
    if path.is_dir():
        path = path / SUMMARY_NAME
    with open(path, newline="", encoding="utf-8") as f:
        return [{c: _parse(c, row[c]) for c in SUMMARY_COLUMNS} for row in csv.DictReader(f)]


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A row as :func:`read_summary` returns it (so the return value equals the file)."""
    return {c: _parse(c, _cell(row[c])) for c in SUMMARY_COLUMNS}


# ----- Dask -------------------------------------------------------------------------------------
def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "explain_dataset runs on Dask (dask.distributed), which is not installed. Fix: "
            f'pip install -e ".[{SCALE_EXTRA}]" in the project (or pip install '
            f'"lime-tutorial[{SCALE_EXTRA}]"); or pass client="serial" to explain the images '
            "one after the other in this process."
        ) from exc
    return distributed


def local_cluster(n_workers: int | None = None, **kwargs: Any) -> Any:
    """A Dask ``LocalCluster`` sized for this machine: one single-threaded worker per core.

    Introduced in ``notebooks/10_explaining_datasets.ipynb``. Each worker is a process with
    one thread and builds its own model; :func:`explain_dataset` gives each model the
    machine's cores divided by the Dask threads on it (here one thread each), so
    LiteRT or TensorFlow and the workers together never run more threads than cores. (A
    model given by name gets that many LiteRT threads; TensorFlow started by any model gets
    that many through ``TF_NUM_INTRAOP_THREADS`` unless it is set; a factory that builds a
    LiteRT model chooses its own.)

    Parameters
    ----------
    n_workers
        Worker processes; default: the cores this process may use.
    **kwargs
        Passed to ``distributed.LocalCluster``. The scheduler's web server (Dask's dashboard
        when ``bokeh`` is installed) listens on a free port, ``cluster.dashboard_link``;
        ``dashboard_address=":8787"`` asks for Dask's usual one.

    Returns
    -------
    distributed.LocalCluster
        Connect with ``distributed.Client(cluster)``; close both when done.
    """
    distributed = _distributed()
    settings = {
        "n_workers": n_workers or _available_cores(),
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",  # a free port: never another cluster's 8787
        **kwargs,
    }
    return distributed.LocalCluster(**settings)


def _model_threads_by_host(client: Any) -> dict[str, int]:
    """Each host's cores divided by the Dask threads running on it (at least 1)."""
    from distributed.comm import get_address_host

    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(_available_cores)
    threads: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for address, info in workers.items():
        host = get_address_host(address)
        threads[host] = threads.get(host, 0) + int(info.get("nthreads", 1))
        host_cores[host] = int(cores.get(address, 1))
    return {host: max(1, host_cores[host] // threads[host]) for host in threads}


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


def _request_key(random_state: int, model: str, image_size: Any, kwargs: dict[str, Any]) -> str:
    request = {
        "random_state": random_state,
        "model": model,
        "image_size": jsonable(image_size),
        "explain": jsonable(kwargs),
    }
    text = json.dumps(request, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:_ID_HEX]


def _clean_leftovers(out_dir: Path) -> None:
    """Delete temporary files an interrupted run left (they are never taken as results)."""
    for pattern in (".*.part.npz", f".{Path(SUMMARY_NAME).stem}.*.part.csv"):
        for leftover in out_dir.glob(pattern):
            leftover.unlink(missing_ok=True)


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

    Introduced in ``notebooks/10_explaining_datasets.ipynb``. See the module docstring for
    the design: ids from the file's bytes, seeds from ids, validated resuming, the model
    built once per worker.

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
        yours). Never a loaded model.
    out_dir
        Folder for the explanations (``<image_id>.npz``) and ``summary.csv``; created if
        needed. Re-running the same call into it resumes.
    client
        ``None``: start a :func:`local_cluster` for this call and close it at the end. A
        ``distributed.Client``: use its cluster (one machine or many). ``"serial"``: no Dask,
        the images one after the other in this process (the same files).
    random_state
        The run's seed; each image's seed is :func:`image_seed` of it and the image's id.
    image_size
        ``"model"`` (default): resize each image to the model's ``input_size``, as the
        notebooks do, so superpixels are drawn on what the network sees; ``None``: explain
        images at their stored size; ``(height, width)``: that size.
    progress
        Show a progress bar over the images.
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
        Dask is needed (``client`` is not ``"serial"``) but not installed; the message names
        the extra to install.
    TypeError, ValueError
        A loaded model instead of a recipe, an unknown name, settings ``explain`` does not
        take, a ``random_state`` that is not an int.

    Notes
    -----
    An image that cannot be read or explained (not an image, truncated, too small...) is
    recorded as ``failed`` with the reason, and the others go on; so is an image whose
    worker died three times (Dask's ``KilledWorker``). A model that cannot be built stops
    the run with its error. A failed image is tried again by the next run.

    Examples
    --------
    >>> rows = explain_dataset(paths, "mobilenet_v2", "explanations/")  # doctest: +SKIP
    >>> [row["status"] for row in rows]  # doctest: +SKIP
    ['done', 'done', 'failed']
    """
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise TypeError(
            "explain_dataset needs an int random_state (every image's seed comes from it, so "
            f"that a re-run can resume), got {random_state!r}."
        )
    if int(random_state) < 0:
        raise ValueError(f"random_state must be non-negative, got {random_state}.")
    if not (
        image_size in ("model", None) or (isinstance(image_size, Sequence) and len(image_size) == 2)
    ):
        raise ValueError(
            f"image_size must be 'model', None or (height, width), got {image_size!r}."
        )
    serial = isinstance(client, str) and client == "serial"
    if isinstance(client, str) and not serial:
        raise ValueError(f"client must be None, a distributed.Client or 'serial', got {client!r}.")
    model_key = _check_model(model)
    _check_explain_kwargs(explain_kwargs)
    distributed = None if serial else _distributed()
    if (
        distributed is not None
        and client is not None
        and not isinstance(client, distributed.Client)
    ):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}.")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(out)
    summary_path = out / SUMMARY_NAME
    request = _request_key(int(random_state), model_key, image_size, explain_kwargs)
    run = uuid.uuid4().hex

    rows: list[dict[str, Any]] = []
    tasks: dict[str, _Task] = {}
    rows_of: dict[str, list[int]] = {}
    for path in read_image_list(images):
        row = dict.fromkeys(SUMMARY_COLUMNS, "")
        row["path"] = str(path)
        try:
            ident = image_id(path)
        except OSError as exc:
            row.update(status="failed", error=f"cannot read the file: {_reason(exc)}")
            rows.append(row)
            continue
        seed = image_seed(int(random_state), ident)
        row.update(image_id=ident, status="pending", seed=seed)
        if ident not in tasks:
            tasks[ident] = _Task(
                image_id=ident, path=str(Path(path).absolute()),
                out=str(explanation_path(out, ident).absolute()), seed=seed, request=request,
                model=model, explain_kwargs=dict(explain_kwargs), image_size=image_size, run=run,
            )  # fmt: skip
            rows_of[ident] = []
        rows_of[ident].append(len(rows))
        rows.append(row)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(rows), desc="images", unit="img", disable=not progress)
    bar.update(len(rows) - sum(len(r) for r in rows_of.values()))  # unreadable: done already
    last_write = [time.monotonic()]

    def finish(ident: str, record: dict[str, Any]) -> None:
        for i in rows_of[ident]:
            rows[i] = {**record, "path": rows[i]["path"]}
        bar.update(len(rows_of[ident]))
        failed = sum(row["status"] == "failed" for row in rows)
        if failed:
            bar.set_postfix(failed=failed)
        if time.monotonic() - last_write[0] >= _SUMMARY_EVERY:
            _write_summary(summary_path, rows)
            last_write[0] = time.monotonic()

    _write_summary(summary_path, rows)
    try:
        if serial:
            _run_serially(tasks, finish)
        else:
            _run_on_dask(tasks, finish, client, distributed)
    finally:
        bar.close()
        _write_summary(summary_path, rows)
    return [_typed(row) for row in rows]


def _run_serially(tasks: dict[str, _Task], finish: Callable[[str, dict], None]) -> None:
    model: list[Any] = []

    def get_model(task: _Task) -> Any:
        if not model:  # built on the first image that needs it: a finished run loads nothing
            model.append(_build_model(task.model, None))
        return model[0]

    for ident, task in tasks.items():
        finish(ident, _explain_one(task, lambda task=task: get_model(task)))


def _run_on_dask(
    tasks: dict[str, _Task], finish: Callable[[str, dict], None], client: Any, distributed: Any
) -> None:
    own = client is None
    cluster = None
    if own:
        cluster = local_cluster()
        client = distributed.Client(cluster)
    futures = []
    try:
        threads = _model_threads_by_host(client)
        submitted = [dataclasses.replace(t, threads=threads) for t in tasks.values()]
        keys = [f"lime-explain-{t.image_id}-{t.run}" for t in submitted]
        futures = client.map(_explain_on_worker, submitted, key=keys, pure=False)
        ident_of = {f.key: t.image_id for f, t in zip(futures, submitted, strict=True)}
        for future in distributed.as_completed(futures):
            ident = ident_of[future.key]
            if future.status == "error":
                exc = future.exception()
                if not isinstance(exc, distributed.KilledWorker):
                    raise exc
                record = _record(
                    tasks[ident], "failed",
                    error="the worker explaining it died every time it tried (KilledWorker): "
                    "the image may crash the model or exhaust the worker's memory",
                )  # fmt: skip
            else:
                record = future.result()
            future.release()
            finish(ident, record)
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
            cluster.close()
        elif tasks:
            run = next(iter(tasks.values())).run
            try:
                client.run(_forget_model, run)
            except Exception:  # a worker that is gone has nothing to free
                pass
