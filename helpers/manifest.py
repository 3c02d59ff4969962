"""A dataset's images and its record: ids, seeds, image lists, the output folder's lock and summary.

Belongs with ``notebooks/10_explaining_datasets.ipynb``, which uses these names through
:mod:`helpers.dataset` (``dataset.image_id``...), where they are re-exported.
:func:`helpers.dataset.explain_dataset` knows an image by :func:`image_id` (a hash of its
bytes), seeds it with :func:`image_seed` (from the id, never from the order), reads the list
of images with :func:`read_image_list`, holds :func:`folder_lock` on its output folder and
records one row per image in ``summary.csv`` (:func:`write_summary`, :func:`read_summary`).

Only regular files are read: a FIFO, a device such as ``/dev/zero`` or a folder listed as an
image is refused before anything is read from it, so a listing can never hang a run.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import stat
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_path
from .validation import MIN_SIDE

__all__ = [
    "STATUSES",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "TOP",
    "FolderInUseError",
    "explanation_path",
    "folder_lock",
    "image_id",
    "image_seed",
    "read_image",
    "read_image_list",
    "read_summary",
    "summary_row",
    "typed_row",
    "write_summary",
]

#: The summary table's file name inside ``out_dir``.
SUMMARY_NAME = "summary.csv"

#: The summary's columns, in order. ``label`` is the first label explained (the top class by
#: default) with its ``class_name``, the model's ``probability`` for it on the image and the
#: surrogate's ``score`` (weighted R²); ``top_labels``, ``top_names`` and
#: ``top_probabilities`` are the model's five best classes, each cell a JSON list (so a class
#: name may hold any character); ``file`` is the explanation's name inside ``out_dir``.
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

#: How many of the model's best classes the summary lists.
TOP = 5

#: ``done``: explained in this run; ``skipped``: a valid file from an earlier run was kept;
#: ``failed``: see ``error``; ``pending``: not finished yet (only in a summary written while
#: the run goes on, or by a run that was interrupted).
STATUSES = ("done", "skipped", "failed", "pending")

_ID_HEX = 16
_CHUNK = 1 << 20
_LOCK_NAME = ".explain_dataset.lock"
_LIST_COLUMNS = ("top_labels", "top_names", "top_probabilities")


# ----- ids and seeds -----------------------------------------------------------------------------
def _open_regular(path: str | os.PathLike) -> io.BufferedReader:
    """``path`` opened for reading, if it is a regular file; anything else is refused unread.

    ``O_NONBLOCK`` makes opening a FIFO return at once (a plain ``open`` waits for a writer
    forever); the type is then checked on the open descriptor, so a file swapped between a
    check and the open cannot slip through.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a folder" if stat.S_ISDIR(mode)
                else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file"
            )  # fmt: skip
            raise ValueError(
                f"{os.fspath(path)} is {kind}, not a regular file; only image files are read. "
                "Fix: list the image files themselves."
            )
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def image_id(path: str | os.PathLike) -> str:
    """The stable id of an image file: the first 16 hex digits of the SHA-256 of its bytes.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.image_id`` (:mod:`helpers.dataset` re-exports it).

    Parameters
    ----------
    path
        The image file.

    Returns
    -------
    str
        16 lowercase hex digits (64 bits): the same for the same bytes, wherever the file is.

    Raises
    ------
    ValueError
        If ``path`` is not a regular file (a folder, a FIFO, a device such as ``/dev/zero``):
        refused before reading, so it cannot hang.
    OSError
        If the file cannot be opened.

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
    with _open_regular(path) as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()[:_ID_HEX]


def read_image(path: str | os.PathLike, expected_id: str) -> np.ndarray:
    """The pixels of a listed image, as ``(H, W, 3)`` uint8, or a clear reason why not.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` reads each image with it). The bytes are
    decoded by :func:`helpers.images.decode_image`.

    Parameters
    ----------
    path
        The image file (a regular file, as for :func:`image_id`).
    expected_id
        Its id when it was listed (:func:`image_id`).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8, at least ``MIN_SIDE`` (8) pixels on each side.

    Raises
    ------
    ValueError
        With a reason that starts ``"not an image"``, ``"truncated or damaged image"``,
        ``"too small"`` or ``"the file changed"`` (its bytes no longer match
        ``expected_id``), or for a file that is not a regular file.
    """
    from PIL import UnidentifiedImageError

    from .images import decode_image

    with _open_regular(path) as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest()[:_ID_HEX] != expected_id:
        raise ValueError("the file changed during the run (its bytes no longer match its id)")
    try:
        image = decode_image(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ValueError(
            f"not an image: PIL cannot identify the file's format ({len(data)} bytes)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"truncated or damaged image: {exc}") from None
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"too small: {height} x {width} pixels; LIME needs at least {MIN_SIDE} x "
            f"{MIN_SIDE} of real pixels, and an upsampled copy would only explain the "
            "interpolation. Fix: leave it out, or upsample it yourself if that is meant."
        )
    return image


def image_seed(random_state: int, image_id: str) -> int:
    """The seed of one image's explanation, from the run's ``random_state`` and the image id.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.image_seed`` (:mod:`helpers.dataset` re-exports it). The id's 64 bits are the spawn
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


def explanation_path(out_dir: str | os.PathLike, image_id: str) -> Path:
    """Where :func:`helpers.dataset.explain_dataset` writes the explanation of ``image_id``.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.explanation_path`` (:mod:`helpers.dataset` re-exports it).

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


# ----- image lists and manifests ------------------------------------------------------------------
def _manifest_text(manifest: Path) -> str:
    """The manifest's text: UTF-8 (a byte-order mark is dropped), else a clear refusal."""
    if manifest.is_dir():
        raise ValueError(
            f"{manifest} is a folder. Fix: pass a list of image paths, e.g. "
            f"sorted(Path({str(manifest)!r}).glob('*.jpg')), or a manifest file."
        )
    with _open_regular(manifest) as f:
        data = f.read()
    not_a_manifest = (
        f"{manifest} is not a text manifest (one path per line, or a .csv with a 'path' "
        f"column). Fix: for one image, pass a list: [{str(manifest)!r}]."
    )
    if b"\0" in data:  # images, archives, UTF-16: binary, not a list of paths
        raise ValueError(not_a_manifest)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"The manifest {manifest} is not UTF-8 text: line {line} has the byte "
            f"0x{data[exc.start]:02x}, as in Latin-1 or Windows-1252 files. Fix: save it as "
            f"UTF-8 (e.g. iconv -f latin1 -t utf-8 {manifest.name} > utf8_{manifest.name}), "
            "or pass a list of paths."
        ) from None


def _csv_entries(manifest: Path, text: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if "path" not in (reader.fieldnames or []):
        raise ValueError(
            f"The CSV manifest {manifest} has no 'path' column (columns: "
            f"{reader.fieldnames}). Fix: name the column of image paths 'path'."
        )
    names = (row["path"] or "" for row in reader)
    return [name.strip(" \t") for name in names if name.strip(" \t")]


def _text_entries(text: str) -> list[str]:
    entries = []
    for line in text.split("\n"):  # never str.splitlines: U+2028, U+0085... may be in a name
        name = line.removesuffix("\r").strip(" \t")
        if name and not name.startswith("#"):
            entries.append(name)
    return entries


def read_image_list(images: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The image paths of a list, or of a manifest file.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.read_image_list`` (:mod:`helpers.dataset` re-exports it).

    Parameters
    ----------
    images
        A list (any iterable) of paths, taken exactly as given, or the path of a manifest,
        UTF-8 text (a byte-order mark is allowed):

        - a ``.csv`` file with a header row and a ``path`` column (other columns are
          ignored; quote a name that holds a comma, a quote or a line break);
        - any other file: one path per line. Lines end at ``\\n`` (``\\r\\n`` too) and at
          nothing else, so any other character, U+2028 included, belongs to the name.
          Lines that are empty or start with ``#`` are skipped (write a name that starts
          with ``#`` as ``./#name.jpg``).

        In both, spaces and tabs around a name are removed (pass a list for a name that
        starts or ends with one). Relative paths in a manifest are relative to the
        manifest's folder.

    Returns
    -------
    list of pathlib.Path
        In the order given; duplicates are kept (they share one explanation).

    Raises
    ------
    ValueError
        For a folder, a file that is not text (e.g. one image: pass ``[path]``), a manifest
        that is not UTF-8 (the message gives the line and the fix), a CSV without a
        ``path`` column, or a FIFO or device given as the manifest.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     listing = Path(tmp) / "photos.txt"
    ...     _ = listing.write_text("# two photos\\n  cat.jpg\\n./#1.jpg\\n", encoding="utf-8")
    ...     [p.name for p in read_image_list(listing)]
    ['cat.jpg', '#1.jpg']
    """
    if isinstance(images, str | os.PathLike):
        manifest = Path(images)
        text = _manifest_text(manifest)
        if manifest.suffix.lower() == ".csv":
            entries = _csv_entries(manifest, text)
        else:
            entries = _text_entries(text)
        return [manifest.parent / entry for entry in entries]
    return [Path(p) for p in images]


# ----- the output folder: its lock and its summary ------------------------------------------------
class FolderInUseError(RuntimeError):
    """Another :func:`explain_dataset` run is writing to the same ``out_dir``.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook names it. Two runs
    into one folder would overwrite each other's summary and could remove each other's
    files in progress, so the second is refused before it writes anything.

    Parameters
    ----------
    message
        The folder, and the fix: wait for the other run, or choose another folder.
    """


@contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run's output folder; refuse at once if another run holds it.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` holds it for the whole run). The lock is a
    ``flock`` on ``out/.explain_dataset.lock``, so the operating system releases it when the
    run ends in any way, ``kill -9`` included; the file is removed at a normal end. Where
    ``flock`` does not exist (Windows), nothing is locked; on a file system without locks,
    nothing is locked either, with a warning.

    Parameters
    ----------
    out
        The output folder (it must exist).

    Yields
    ------
    None
        The lock is held inside the ``with`` block.

    Raises
    ------
    FolderInUseError
        If another process holds the lock.
    """
    path = out / _LOCK_NAME
    fd = _locked_file(path)
    try:
        yield
    finally:
        if fd is not None:
            path.unlink(missing_ok=True)  # still locked: a waiting run sees it gone, retries
            os.close(fd)


def _locked_file(path: Path) -> int | None:
    """A descriptor of ``path`` holding its ``flock``; ``None`` where there are no locks."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one run per folder is left to the user
        return None
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderInUseError(
                f"Another explain_dataset run is writing to {path.parent} (it holds {path}). "
                "Fix: wait for it to finish (then run again to resume), or pass another out_dir."
            ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            warnings.warn(
                f"{path.parent} is on a file system without locks ({exc.strerror}), so this run "
                "cannot lock it: make sure that no other run writes there at the same time.",
                stacklevel=4,
            )
            return None
        try:  # a run that just finished removes the file: lock the one that is there now
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def summary_row(image_id: str, seed: int, status: str, explanation: Any = None, *,
                error: str = "", file: str = "") -> dict[str, Any]:  # fmt: skip
    """One image's summary row, without its ``path`` (which belongs to each listed path).

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` records each image with it).

    Parameters
    ----------
    image_id, seed
        The image's id and seed.
    status
        One of :data:`STATUSES`.
    explanation
        The image's :class:`~helpers.explanation.Explanation` (done or skipped), whose
        ``params["class_names"]`` names the classes; ``None`` leaves the numbers empty.
    error, file
        Why it failed; the explanation's file name inside the output folder.

    Returns
    -------
    dict
        The keys :data:`SUMMARY_COLUMNS` (``path`` empty).
    """
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, "")
    row.update(image_id=image_id, status=status, error=error, seed=seed)
    if explanation is not None:
        names = explanation.params.get("class_names", {})
        p0 = np.asarray(explanation.predictions[0], dtype=np.float64)
        top = np.argsort(-p0, kind="stable")[:TOP]
        label = int(explanation.labels[0])
        row.update(
            label=label,
            class_name=names.get(str(label), str(label)),
            probability=float(p0[label]),
            score=float(explanation.score[label]),
            top_labels=[int(j) for j in top],
            top_names=[names.get(str(int(j)), str(int(j))) for j in top],
            top_probabilities=[float(p0[j]) for j in top],
            file=file,
        )
    return row


def write_summary(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> None:
    """Write the summary table atomically: a header and one line per row.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` does, as results come in).

    Parameters
    ----------
    path
        The ``summary.csv`` to write (replaced whole, never half-written).
    rows
        Dicts with the keys :data:`SUMMARY_COLUMNS`; lists become JSON lists, floats their
        shortest exact text (``repr``).
    """
    with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in SUMMARY_COLUMNS])


def _parse_list(column: str, text: str) -> list[Any]:
    if text.startswith("["):
        items = json.loads(text)
    else:  # summaries written before the JSON cells: ';'-separated
        items = text.split(";")
    if column == "top_labels":
        return [int(t) for t in items]
    if column == "top_probabilities":
        return [float(t) for t in items]
    return [str(t) for t in items]


def _parse(column: str, text: str) -> Any:
    if text == "" and column in ("seed", "label", "probability", "score"):
        return None
    if text == "" and column in _LIST_COLUMNS:
        return []
    if column in ("seed", "label"):
        return int(text)
    if column in ("probability", "score"):
        return float(text)
    if column in _LIST_COLUMNS:
        return _parse_list(column, text)
    return text


def read_summary(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The summary table of a run, one dict per input image, with typed values.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.read_summary`` (:mod:`helpers.dataset` re-exports it).

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
        :func:`helpers.dataset.explain_dataset` returns. Summaries written before the lists
        were JSON (``;``-separated cells) are read too.
    """
    path = Path(out_dir)
    if path.is_dir():
        path = path / SUMMARY_NAME
    with open(path, newline="", encoding="utf-8") as f:
        return [{c: _parse(c, row[c]) for c in SUMMARY_COLUMNS} for row in csv.DictReader(f)]


def typed_row(row: dict[str, Any]) -> dict[str, Any]:
    """A summary row as :func:`read_summary` returns it, so a run's return value equals its file.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it.

    Parameters
    ----------
    row
        A row with the keys :data:`SUMMARY_COLUMNS`, as :func:`write_summary` takes it.

    Returns
    -------
    dict
        The row written and read back.
    """
    return {c: _parse(c, _cell(row[c])) for c in SUMMARY_COLUMNS}
