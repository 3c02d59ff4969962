"""The data layer: hash-pinned files from one registry, found offline or downloaded.

Introduced in ``notebooks/00_setup.ipynb``.

Every file the project uses is listed once, in ``data/registry.toml``, with its hash, a
commit-pinned URL and its license. A file is looked up in this order:

1. the directory named by the environment variable ``LIME_TUTORIAL_DATA`` (laid out like the
   registry, e.g. ``images/cat_mouse.jpg``). A file found there is verified by hash and used in
   place, without network. A copy with the wrong hash is rejected with an error and never used.
2. the download cache (``LIME_TUTORIAL_CACHE``, default: the OS cache directory for
   ``lime-tutorial``), filled through :mod:`pooch` with a progress bar and verified by hash.

Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .files import reap_stale
from .images import decode_image, resize_image
from .settings import DATA_CACHE_ENV, DATA_ENV, env_path

__all__ = [
    "DataFileError",
    "RegistryEntry",
    "cache_dir",
    "cat_mouse",
    "data_dir",
    "data_status",
    "dogs",
    "fetch",
    "figure4",
    "file_hash",
    "load_image",
    "offline_copy",
    "registry",
    "tree_frog",
]


class DataFileError(RuntimeError):
    """A data file is missing, unreachable or fails its hash check.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    message
        What went wrong and how to fix it; :func:`fetch` names the file, the directory it
        searched and the URL.
    """


@dataclass(frozen=True)
class RegistryEntry:
    """One file of ``data/registry.toml``.

    Belongs with ``notebooks/00_setup.ipynb``, which reads the entries of :func:`registry`
    without naming this class.

    Attributes
    ----------
    path
        Where the file lives, relative to the data directory, e.g. ``"images/dogs.png"``.
    hash
        ``"<algorithm>:<hex digest>"``: ``sha256`` for most files, Keras' own ``md5`` for the
        files Keras verifies itself.
    url
        A commit-pinned public URL to download it from.
    description
        What the file is, in a sentence.
    license
        Its license and attribution.
    keras_cache
        ``True`` for files that :func:`helpers.models.install_keras_files` copies into the
        Keras cache.
    optional
        ``True`` for files the project can run without (``make data`` does not fetch them).
    """

    path: str
    hash: str
    url: str
    description: str
    license: str
    keras_cache: bool = False
    optional: bool = False

    @property
    def algorithm(self) -> str:
        """Hash algorithm, e.g. ``"sha256"``."""
        return self.hash.split(":", 1)[0]

    @property
    def digest(self) -> str:
        """Expected hex digest."""
        return self.hash.split(":", 1)[1]


def _registry_file() -> Path:
    """The registry: inside the package when installed from a wheel, else the repo's data/."""
    packaged = Path(__file__).with_name("registry.toml")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[1] / "data" / "registry.toml"


@lru_cache(maxsize=1)
def registry() -> dict[str, RegistryEntry]:
    """Read ``data/registry.toml`` (once) and return its entries by relative path.

    Introduced in ``notebooks/00_setup.ipynb``. Inside an installed wheel the registry is
    ``helpers/registry.toml``.

    Returns
    -------
    dict of str to RegistryEntry
        Every file of the registry, keyed by its relative path (the same dict on every call).

    Examples
    --------
    >>> entry = registry()["images/dogs.png"]
    >>> entry.algorithm, entry.optional
    ('sha256', False)
    """
    with open(_registry_file(), "rb") as f:
        raw = tomllib.load(f)
    return {path: RegistryEntry(path=path, **fields) for path, fields in raw.items()}


def _entry(name: str) -> RegistryEntry:
    """Look up a registry entry by full path (``images/dogs.png``) or file name (``dogs.png``)."""
    reg = registry()
    if name in reg:
        return reg[name]
    matches = [e for p, e in reg.items() if Path(p).name == name]
    if len(matches) == 1:
        return matches[0]
    raise KeyError(
        f"{name!r} is not in the data registry ({_registry_file()}). "
        f"Known files: {', '.join(sorted(reg))}."
    )


def data_dir() -> Path | None:
    """The offline data directory named by ``LIME_TUTORIAL_DATA``, or ``None`` when unset.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (the environment report
    prints it).

    Returns
    -------
    pathlib.Path or None
        The absolute, resolved directory; it need not exist.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {DATA_ENV: "/srv/lime-data"}):
    ...     print(data_dir())
    /srv/lime-data
    """
    path = env_path(DATA_ENV)
    return None if path is None else path.resolve()


def cache_dir() -> Path:
    """The download cache: ``LIME_TUTORIAL_CACHE`` or the OS cache dir for ``lime-tutorial``.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it. The prediction cache
    (:mod:`helpers.cache`) lives in its ``predictions/`` folder.

    Returns
    -------
    pathlib.Path
        The directory (created only when something is written into it).

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {DATA_CACHE_ENV: "/tmp/lime-cache"}):
    ...     print(cache_dir())
    /tmp/lime-cache
    """
    path = env_path(DATA_CACHE_ENV)
    if path is not None:
        return path.resolve()
    import pooch

    return Path(pooch.os_cache("lime-tutorial"))


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`fetch` and
    :func:`data_status` check every file with it).

    Parameters
    ----------
    path
        The file.
    algorithm
        Any name :func:`hashlib.new` knows, e.g. ``"sha256"`` or ``"md5"``.

    Returns
    -------
    str
        The digest in lowercase hexadecimal.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "abc.txt"
    ...     _ = path.write_bytes(b"abc")
    ...     print(file_hash(path)[:16], file_hash(path, "md5")[:16])
    ba7816bf8f01cfea 900150983cd24fb0
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _not_a_file(path: Path, where: str) -> DataFileError:
    """The error for something other than a regular file where a data file should be."""
    kind = "a directory" if path.is_dir() else "not a regular file"
    return DataFileError(
        f"{path} should be a data file but is {kind}. Fix: remove it from {where} (a correct "
        "copy is then looked up again), or put the registry's file there."
    )


def _hash_or_error(path: Path, algorithm: str, where: str) -> str:
    """The file's digest; a file that cannot be read is a :class:`DataFileError`."""
    try:
        return file_hash(path, algorithm)
    except IsADirectoryError:
        raise _not_a_file(path, where) from None
    except OSError as exc:
        raise DataFileError(
            f"{path} cannot be read ({type(exc).__name__}: {exc}). Fix: make it readable "
            f"(e.g. chmod a+r '{path}'), or remove it from {where} so that another copy is used."
        ) from exc


def _verify(entry: RegistryEntry, path: Path, where: str) -> None:
    actual = _hash_or_error(path, entry.algorithm, where)
    if actual != entry.digest:
        raise DataFileError(
            f"{path} fails its hash check: {entry.algorithm} is {actual}, the registry expects "
            f"{entry.digest}. The file is corrupted or is a different file, and was not used. "
            f"Fix: replace it in {where} with the file from {entry.url} "
            f"(or delete it so that it is downloaded into the cache)."
        )


def _local_copy(entry: RegistryEntry) -> Path | None:
    """The verified copy in ``LIME_TUTORIAL_DATA``, ``None`` if there is none there."""
    root = data_dir()
    if root is None:
        return None
    candidate = root / entry.path
    if not candidate.exists():
        return None
    if not candidate.is_file():
        raise _not_a_file(candidate, f"{DATA_ENV}={root}")
    _verify(entry, candidate, f"{DATA_ENV}={root}")
    return candidate


def offline_copy(name: str) -> Path | None:
    """The verified copy of a registry file in ``LIME_TUTORIAL_DATA``; ``None`` if it is not there.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`fetch` looks here
    first; :func:`helpers.models.install_keras_files` copies from here). Nothing is downloaded.

    Parameters
    ----------
    name
        Registry path (``"images/dogs.png"``) or bare file name (``"dogs.png"``).

    Returns
    -------
    pathlib.Path or None
        The file, to use in place; ``None`` when ``LIME_TUTORIAL_DATA`` is unset or lacks it.

    Raises
    ------
    DataFileError, KeyError
        As :func:`fetch`, for a copy that fails its hash check or an unknown name.
    """
    return _local_copy(_entry(name))


def fetch(name: str, *, progress: bool = True) -> Path:
    """Return the local path of a registry file, verified by hash.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    name
        Registry path (``"images/dogs.png"``) or bare file name (``"dogs.png"``).
    progress
        Show a progress bar while downloading.

    Returns
    -------
    pathlib.Path
        The file in ``LIME_TUTORIAL_DATA`` if it is there, else the cached download.

    Raises
    ------
    DataFileError
        If a copy fails its hash check (it is never used), or if the file is in neither place
        and cannot be downloaded; the message names the file, the directory searched and the fix.
    KeyError
        If ``name`` is not in the registry (or a bare file name matches several entries).

    Examples
    --------
    >>> fetch("dogs.png")  # doctest: +SKIP
    PosixPath('/.../shared/data/images/dogs.png')
    """
    entry = _entry(name)
    local = _local_copy(entry)
    if local is not None:
        return local

    import pooch

    cache = cache_dir()
    target = cache / entry.path
    if target.exists() and not target.is_file():
        raise _not_a_file(target, f"the download cache {cache}")
    if cache.exists() and not cache.is_dir():
        raise DataFileError(
            f"The download cache {cache} is a file, not a directory. Fix: set "
            f"{DATA_CACHE_ENV} to a directory (or remove that file)."
        )
    reap_stale(target.parent, "tmp*")  # pooch's temporary files of killed downloads
    fetcher = pooch.create(
        path=cache,
        base_url="",
        registry={entry.path: entry.hash},
        urls={entry.path: entry.url},
        retry_if_failed=0,
    )
    try:
        return Path(fetcher.fetch(entry.path, progressbar=progress))
    except Exception as exc:  # network errors come in many types; all mean "not obtainable"
        root = data_dir()
        searched = (
            f"It is not in {DATA_ENV}={root} (looked for {root / entry.path})"
            if root is not None
            else f"{DATA_ENV} is not set, so no offline directory was searched"
        )
        raise DataFileError(
            f"Cannot obtain data file {entry.path!r}. {searched}, and downloading it from "
            f"{entry.url} into the cache {cache} failed ({type(exc).__name__}: {exc}). "
            f"Fix: connect to the internet, or set {DATA_ENV} to a directory that holds "
            f"{entry.path} (for example the offline mirror ../shared/data)."
        ) from exc


def data_status() -> list[dict[str, object]]:
    """Where each registry file is and whether it verifies, without downloading anything.

    Belongs with ``notebooks/00_setup.ipynb``, whose :func:`helpers.environment.environment_report`
    prints it; no notebook calls it directly. Every file found is hashed, so this takes a few
    seconds when the large model files are present.

    Returns
    -------
    list of dict
        One row per registry file: ``path``, ``optional``, ``location`` (the file found, or
        ``None``), ``ok`` (verified) and ``problem`` (text, empty when fine).
    """
    rows = []
    for entry in registry().values():
        location, ok, problem = None, False, ""
        root = data_dir()
        candidates = ([root / entry.path] if root is not None else []) + [cache_dir() / entry.path]
        for candidate in candidates:
            if candidate.exists():
                location = candidate
                try:
                    ok = _hash_or_error(candidate, entry.algorithm, str(candidate.parent)) == (
                        entry.digest
                    )
                    problem = "" if ok else "fails its hash check (will not be used)"
                except DataFileError as exc:  # unreadable, or a directory: report, go on
                    problem = str(exc)
                break
        else:
            problem = "not found offline (will be downloaded on first use)"
        rows.append(
            {
                "path": entry.path,
                "optional": entry.optional,
                "location": location,
                "ok": ok,
                "problem": problem,
            }
        )
    return rows


def load_image(name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Load a registry image as an ``(H, W, 3) uint8`` RGB array.

    Belongs with ``notebooks/00_setup.ipynb``; the notebooks call the named loaders
    (:func:`tree_frog`, :func:`cat_mouse`, :func:`dogs`, :func:`figure4`) instead. Grayscale
    images are repeated to three channels; RGBA images (``dogs.png``) are composited over white
    (see :func:`helpers.images.to_rgb_uint8`).

    Parameters
    ----------
    name
        ``"images/cat_mouse.jpg"`` or just ``"cat_mouse.jpg"``.
    size
        ``(height, width)`` to resize to (:func:`resize_image`), e.g. ``(299, 299)``.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8``: the file's own size, or ``size``.

    Raises
    ------
    DataFileError, KeyError
        As :func:`fetch`.

    Examples
    --------
    >>> load_image("cat_mouse.jpg", size=(299, 299)).shape  # doctest: +SKIP
    (299, 299, 3)
    """
    rgb = decode_image(fetch(name))
    return rgb if size is None else resize_image(rgb, size)


def tree_frog(size: tuple[int, int] | None = None) -> np.ndarray:
    """The red-eyed tree frog on a leaf (800 x 600, public domain), RGB ``uint8``.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    size
        ``(height, width)`` to resize to, e.g. a model's ``input_size``; ``None`` keeps
        800 x 600.

    Returns
    -------
    numpy.ndarray
        ``(600, 800, 3)`` ``uint8``, or ``size``.

    Examples
    --------
    >>> tree_frog().shape  # doctest: +SKIP
    (600, 800, 3)
    """
    return load_image("images/red_eyed_tree_frog.jpg", size)


def cat_mouse(size: tuple[int, int] | None = None) -> np.ndarray:
    """A black cat facing a mouse on grass (640 x 427): the image of lime's Keras tutorial.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    size
        ``(height, width)`` to resize to; ``None`` keeps 640 x 427.

    Returns
    -------
    numpy.ndarray
        ``(427, 640, 3)`` ``uint8``, or ``size``.

    Examples
    --------
    >>> cat_mouse((299, 299)).shape  # doctest: +SKIP
    (299, 299, 3)
    """
    return load_image("images/cat_mouse.jpg", size)


def dogs(size: tuple[int, int] | None = None) -> np.ndarray:
    """A Bernese mountain dog and a tabby cat: the photo of ``dogs.png`` without its white bands.

    Introduced in ``notebooks/00_setup.ipynb``; ``notebooks/06_explaining_predictions.ipynb``
    explains it, as lime's own image tutorials do. The file is a 450 x 450 square whose photo
    is letterboxed between white bands above and below. The bands are not part of the scene
    (they would become superpixels of their own), so the loader removes them: every row at
    the top and bottom whose mean over pixels and channels is at least 240 of 255 (the bands
    and their blended edge rows) is cropped, leaving the 450 x 299 photo. Rows inside the
    photo never average that bright.

    Parameters
    ----------
    size
        ``(height, width)`` to resize the cropped photo to (:func:`resize_image`); the photo
        is 3:2, so a square ``size`` such as a model's ``input_size`` squeezes it
        horizontally. ``None`` keeps 299 x 450.

    Returns
    -------
    numpy.ndarray
        ``(299, 450, 3)`` ``uint8`` (alpha composited over white), or ``size``.

    Examples
    --------
    >>> dogs().shape  # doctest: +SKIP
    (299, 450, 3)
    """
    rgb = load_image("images/dogs.png")
    photo_rows = np.flatnonzero(rgb.mean(axis=(1, 2)) < 240)
    photo = rgb[photo_rows[0] : photo_rows[-1] + 1]
    return photo if size is None else resize_image(photo, size)


def figure4() -> np.ndarray:
    """The published KDD'16 Figure 4 (817 x 315 RGB): the dog with a guitar and its panels.

    Introduced in ``notebooks/07_paper_figures.ipynb``; :mod:`helpers.paper` reads its
    panels, and :func:`helpers.paper.figure4_input` crops the photo out of it.

    Returns
    -------
    numpy.ndarray
        ``(315, 817, 3)`` ``uint8``.

    Examples
    --------
    >>> figure4().shape  # doctest: +SKIP
    (315, 817, 3)
    """
    return load_image("images/image_from_paper.png")


def _main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data``: fetch and verify every required file, print a table."""
    import argparse

    epilog = "The Keras cache is filled by `python -m helpers.models`."
    argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=epilog).parse_args(argv)
    failed = False
    for entry in registry().values():
        if entry.optional:
            continue
        try:
            path = fetch(entry.path)
            print(f"ok       {entry.path:45s} {path}")
        except DataFileError as exc:
            failed = True
            print(f"MISSING  {entry.path:45s} {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(_main())
