"""The ``.npz`` file of a saved explanation: writing it byte-reproducibly, reading it checked.

Belongs with ``notebooks/06_explaining_predictions.ipynb``, which saves and loads an
explanation through :meth:`Explanation.save <helpers.explanation.Explanation.save>` and
:meth:`~helpers.explanation.Explanation.load`; no notebook imports this module. A file is a zip
of ``.npy`` members (no pickle) with fixed timestamps, and a ``meta`` member holding JSON:
``{"format": ..., "params": {...}}``. Reading checks every member's header (shape, dtype,
declared size) before any data is decompressed, then the values, and raises one
:class:`ExplanationFileError` naming the file and the member for anything wrong.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_path

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "MEMBERS",
    "RENAMED_PARAMS",
    "ExplanationFileError",
    "read_explanation",
    "write_explanation",
]

FORMAT = "lime-tutorial-explanation/1"
MEMBERS = (
    "image", "segments", "samples", "predictions", "distances", "kernel_weights", "labels",
    "coef", "intercept", "score", "local_pred", "meta",
)  # fmt: skip
#: Default limit of :func:`read_explanation` on the declared size of all members together: a
#: 1000-sample explanation of a 299 x 299 image over 1000 classes takes about 9 MB.
MAX_BYTES = 256 * 2**20
#: Keys of ``params`` saved under an older name: old -> new (mapped when a file is read).
RENAMED_PARAMS = {"seed": "random_state", "segmentation_seed": "segmentation_random_state"}
#: Deepest nesting of the params JSON accepted (a saved explanation's is at most 4).
_MAX_DEPTH = 32


class ExplanationFileError(ValueError):
    """A file that :meth:`Explanation.load` refuses: not a complete, consistent explanation.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``, which saves and loads an
    explanation; no notebook names it. A ``ValueError``, so ``except ValueError`` catches it.
    The message names the file and, where one is at fault, the member.

    Parameters
    ----------
    message
        The file, the member and what is wrong with it.
    """


def write_explanation(path: Path, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``params`` as an explanation file, atomically and reproducibly.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:meth:`Explanation.save <helpers.explanation.Explanation.save>` does).

    Parameters
    ----------
    path
        Where to write; it must end in ``.npz``.
    arrays
        Every member of :data:`MEMBERS` but ``meta``, in that order.
    params
        JSON-compatible settings, saved in ``meta``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``path`` does not end in ``.npz``.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"Explanations are saved as .npz; got {path.name!r}.")
    meta = {"format": FORMAT, "params": params}
    text = json.dumps(meta, sort_keys=True).encode()
    members = {**arrays, "meta": np.frombuffer(text, dtype=np.uint8)}
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())
    return path


def read_explanation(
    path: str | os.PathLike, *, max_bytes: int = MAX_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every member of a saved explanation and its params, checked; old param names mapped.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:meth:`Explanation.load <helpers.explanation.Explanation.load>` does).

    Parameters
    ----------
    path
        A ``.npz`` file written by :func:`write_explanation`.
    max_bytes
        Refuse, unread, a file whose members declare more bytes than this in all.

    Returns
    -------
    arrays, params
        The members but ``meta``, and the params (keys of :data:`RENAMED_PARAMS` renamed).

    Raises
    ------
    ExplanationFileError
        For anything that is not a complete, consistent explanation, naming the member.
    FileNotFoundError
        If there is no file at ``path``.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ExplanationFileError(
            f"{path}: explanations are saved as .npz files by Explanation.save; got a "
            f"{path.suffix or 'suffix-less'} file. Fix: pass the .npz file."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No saved explanation at {path}.")
    reading = {"member": None}

    def bad(problem: str) -> ExplanationFileError:
        where = "" if reading["member"] is None else f"member {reading['member']!r}: "
        return ExplanationFileError(
            f"{path} is not a valid saved explanation: {where}{problem}. Fix: load a file "
            "written by Explanation.save (or save the explanation again)."
        )

    try:
        arrays, params = _read(path, int(max_bytes), reading, bad)
        reading["member"] = None
        _check_values(arrays, params, reading, bad)
    except ExplanationFileError:
        raise
    except (
        RecursionError, TypeError, ValueError, MemoryError, OverflowError, KeyError,
        EOFError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError,
    ) as exc:  # fmt: skip
        raise bad(f"{type(exc).__name__}: {exc}") from None
    return arrays, {RENAMED_PARAMS.get(k, k): v for k, v in params.items()}


def _read(path: Path, max_bytes: int, reading: dict, bad: Callable) -> tuple[dict, dict]:
    """Headers first (presence, shapes, dtypes, sizes), then the data, then the JSON."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise bad(f"not an .npz archive ({exc})") from None
    with archive:
        names = {name.removesuffix(".npy"): name for name in archive.namelist()}
        unknown = sorted(set(names) - set(MEMBERS))
        missing = sorted(set(MEMBERS) - set(names))
        if unknown:
            raise bad(f"unknown members {unknown} (not read)")
        if missing:
            raise bad(f"missing members {missing}")
        headers, sizes = {}, {}
        for member, name in names.items():
            reading["member"] = member
            headers[member] = _header(archive, name, bad)
            sizes[member] = max(archive.getinfo(name).file_size, _declared(*headers[member]))
        if sum(sizes.values()) > max_bytes:
            reading["member"] = max(sizes, key=sizes.get)  # the largest is named
            raise bad(
                f"it declares {sizes[reading['member']]} bytes, the file {sum(sizes.values())} "
                f"in all, more than max_bytes={max_bytes} (not read; pass a larger max_bytes "
                "to Explanation.load if the file is trusted)"
            )
        reading["member"] = None
        _check_headers(headers, reading, bad)
        arrays = {}
        for member, name in names.items():
            reading["member"] = member
            with archive.open(name) as f:
                arrays[member] = np.lib.format.read_array(f, allow_pickle=False)
    reading["member"] = "meta"
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad(f"its format is not {FORMAT!r}")
    if not isinstance(meta.get("params"), dict):
        raise bad("its metadata has no params")
    if _depth(meta["params"]) > _MAX_DEPTH:
        raise bad(f"its params are nested deeper than {_MAX_DEPTH} levels")
    return arrays, meta["params"]


def _declared(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _header(archive: zipfile.ZipFile, name: str, bad: Callable) -> tuple[tuple[int, ...], Any]:
    with archive.open(name) as f:
        try:
            version = np.lib.format.read_magic(f)
            reader = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = reader(f)
        except ValueError as exc:
            raise bad(f"not a .npy array ({exc})") from None
    if dtype.hasobject:
        raise bad("it holds Python objects")
    if archive.getinfo(name).file_size > _declared(shape, dtype) + 4096:
        raise bad("it is larger than its header says")
    return tuple(shape), dtype


def _depth(value: Any) -> int:
    """Nesting depth of JSON data, without recursion (a hostile file may nest very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > _MAX_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _check_headers(headers: dict, reading: dict, bad: Callable) -> None:
    """Shapes and dtypes of the members agree with each other (checked before reading)."""
    shape = {member: h[0] for member, h in headers.items()}
    dtype = {member: h[1] for member, h in headers.items()}

    def fail(member: str, problem: str) -> ExplanationFileError:
        reading["member"] = member
        return bad(problem)

    for member in ("predictions", "distances", "kernel_weights", "coef", "intercept", "score",
                   "local_pred"):  # fmt: skip
        if dtype[member].kind not in "fiu":
            raise fail(member, f"it has dtype {dtype[member]}; real numbers are expected")
    image, segments, samples = shape["image"], shape["segments"], shape["samples"]
    if len(image) != 3 or image[2] != 3 or image[:2] != segments:
        raise fail("image", f"image {image} and segments {segments} do not match")
    if dtype["image"] != np.uint8 and dtype["image"].kind != "f":
        raise fail("image", f"image has dtype {dtype['image']}")
    if dtype["segments"].kind not in "iu" or dtype["samples"].kind not in "iub":
        raise fail("segments", "segments and samples must hold integers")
    if len(samples) != 2 or samples[0] < 2:
        raise fail("samples", f"samples has shape {samples}; expected (N >= 2, S)")
    n, s = samples
    predictions = shape["predictions"]
    if len(predictions) != 2 or predictions[0] != n:
        raise fail("predictions", f"predictions {predictions} do not match {n} samples")
    for member in ("distances", "kernel_weights"):
        if shape[member] != (n,):
            raise fail(member, f"{member} {shape[member]} do not match {n} samples")
    labels = shape["labels"]
    if len(labels) != 1 or labels[0] < 1 or dtype["labels"].kind not in "iu":
        raise fail("labels", f"labels {labels} must be a non-empty list of class indices")
    if shape["coef"] != (labels[0], s):
        raise fail("coef", f"coef {shape['coef']} does not match {labels[0]} labels and {s} "
                   "superpixels")  # fmt: skip
    for member in ("intercept", "score", "local_pred"):
        if shape[member] != labels:
            raise fail(member, f"{member} {shape[member]} does not match {labels[0]} labels")
    if len(shape["meta"]) != 1 or dtype["meta"] != np.uint8:
        raise fail("meta", "meta must be JSON text")


def _check_values(arrays: dict, params: dict, reading: dict, bad: Callable) -> None:
    """Values: what an explanation can hold, member by member (``reading`` names the member)."""

    def fail(member: str, problem: str) -> ExplanationFileError:
        reading["member"] = member
        return bad(problem)

    s = arrays["samples"].shape[1]
    segments = arrays["segments"]
    if segments.min() != 0 or segments.max() != s - 1 or not np.bincount(segments.ravel()).all():
        raise fail("segments", f"segments are not the labels 0..{s - 1} of the {s} sample "
                   "columns")  # fmt: skip
    if not np.isin(arrays["samples"], (0, 1)).all():
        raise fail("samples", "samples hold values other than 0 and 1")
    if not (arrays["samples"][0] == 1).all():
        raise fail("samples", "row 0 of the samples is not all ones (the original image)")
    labels = arrays["labels"]
    num_classes = arrays["predictions"].shape[1]
    if labels.min() < 0 or labels.max() >= num_classes or len(set(labels.tolist())) != len(labels):
        raise fail("labels", f"labels {labels.tolist()} are not distinct classes "
                   f"0..{num_classes - 1}")  # fmt: skip
    for member in ("predictions", "distances", "kernel_weights", "coef", "intercept", "score",
                   "local_pred"):  # fmt: skip
        if not np.isfinite(arrays[member]).all():
            raise fail(member, f"{member} holds NaN or infinite values")
    for member in ("distances", "kernel_weights"):
        if (arrays[member] < 0).any():
            raise fail(member, f"{member} holds negative values")
    if (arrays["score"] > 1).any():
        raise fail("score", f"a weighted R² above 1 ({arrays['score'].max():.6g})")
    image = arrays["image"]
    if image.dtype.kind == "f" and not (
        np.isfinite(image).all() and 0 <= image.min() <= image.max() <= 1
    ):
        raise fail("image", "a float image must hold values in [0, 1]")
    reading["member"] = "meta"
    selected = params.get("selected", {})
    if not isinstance(selected, dict):
        raise bad("params['selected'] is not a mapping of label to superpixels")
    for label, chosen in selected.items():
        if not isinstance(chosen, list) or not all(
            isinstance(j, int) and not isinstance(j, bool) and 0 <= j < s for j in chosen
        ):
            raise bad(f"the superpixels selected for label {label} are not in 0..{s - 1}")
        if len(set(chosen)) != len(chosen):
            raise bad(f"the superpixels selected for label {label} repeat: {chosen}")
