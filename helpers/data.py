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
import secrets
import shutil
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "DataFileError",
    "RegistryEntry",
    "atomic_path",
    "cache_dir",
    "data_dir",
    "data_status",
    "env_flag",
    "fetch",
    "file_hash",
    "install_keras_files",
    "keras_home",
    "load_image",
    "paper_figure4_input",
    "registry",
    "resize_image",
    "to_rgb_uint8",
]

DATA_ENV = "LIME_TUTORIAL_DATA"
CACHE_ENV = "LIME_TUTORIAL_CACHE"

# Panel (a), the original photo, inside the KDD'16 Figure 4 composite (817 x 315 pixels):
# rows 18..205 and columns 22..209 hold the photo; the rows and columns around it are the
# anti-aliased border and the white page. Measured on the registry's file (see
# tests/test_data.py, which checks the border and the gray panels beside it).
_FIG4_PANEL_A = (slice(18, 206), slice(22, 210))


class DataFileError(RuntimeError):
    """A data file is missing, unreachable or fails its hash check.

    Introduced in ``notebooks/00_setup.ipynb``.
    """


@dataclass(frozen=True)
class RegistryEntry:
    """One file of ``data/registry.toml``.

    Introduced in ``notebooks/00_setup.ipynb``.
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

    Introduced in ``notebooks/00_setup.ipynb``.
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


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is switched on (1, true, yes or on).

    Introduced in ``notebooks/00_setup.ipynb``; every on/off switch of the project reads it.
    """
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path | None:
    """The offline data directory named by ``LIME_TUTORIAL_DATA``, or ``None`` when unset.

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    value = os.environ.get(DATA_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """The download cache: ``LIME_TUTORIAL_CACHE`` or the OS cache dir for ``lime-tutorial``.

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("lime-tutorial"))


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks.

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(entry: RegistryEntry, path: Path, where: str) -> None:
    actual = file_hash(path, entry.algorithm)
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
    if not candidate.is_file():
        return None
    _verify(entry, candidate, f"{DATA_ENV}={root}")
    return candidate


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
    """
    entry = _entry(name)
    local = _local_copy(entry)
    if local is not None:
        return local

    import pooch

    cache = cache_dir()
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

    Introduced in ``notebooks/00_setup.ipynb``.

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
            if candidate.is_file():
                location = candidate
                ok = file_hash(candidate, entry.algorithm) == entry.digest
                problem = "" if ok else "fails its hash check (will not be used)"
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


def keras_home() -> Path:
    """The Keras cache: the one Keras uses if imported, else ``$KERAS_HOME`` or ~/.keras.

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    if "keras" in sys.modules:
        from keras.src.backend import config as keras_config

        return Path(keras_config.keras_home())
    value = os.environ.get("KERAS_HOME", "").strip()
    return Path(value).expanduser() if value else Path("~/.keras").expanduser()


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, else vanishes.

    Every file the project writes (cache entries, explanations, figures, the Keras cache) goes
    through here, so a failure never leaves a half-written file or damages an existing one.
    The temporary name keeps ``dest``'s suffix (``np.savez`` needs ``.npz``). The file is
    created with mode ``0o666`` less the user's umask, as any program's new files are
    (``tempfile.mkstemp`` would make every file ``0o600``); ``O_EXCL`` makes sure the random
    name is new.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(10):
        tmp = dest.parent / f".{dest.stem}.{secrets.token_hex(6)}.part{dest.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            if attempt == 9:
                raise
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_copy(src: Path, dest: Path) -> None:
    """Copy via a temporary file in the destination directory, so no half-written file remains."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def install_keras_files(*, download: bool = True) -> list[Path]:
    """Put Keras' files (class index, InceptionV3 weights) into the Keras cache.

    Introduced in ``notebooks/00_setup.ipynb``.

    Files present in ``LIME_TUTORIAL_DATA`` are verified and copied into
    ``<keras_home>/models/`` when the cache lacks them or holds a different file, so that Keras
    uses them without network. Required files missing there are fetched first when
    ``download`` is true; optional ones (the 92 MB weights) are left to Keras' own download.

    Returns
    -------
    list of pathlib.Path
        The files now in the Keras cache that came from this registry.
    """
    installed = []
    for entry in registry().values():
        if not entry.keras_cache:
            continue
        source = _local_copy(entry)
        if source is None and download and not entry.optional:
            source = fetch(entry.path, progress=False)
        dest = keras_home() / "models" / Path(entry.path).name
        if source is None:
            if dest.is_file() and file_hash(dest, entry.algorithm) == entry.digest:
                installed.append(dest)
            continue
        if not (dest.is_file() and file_hash(dest, entry.algorithm) == entry.digest):
            _atomic_copy(source, dest)
        installed.append(dest)
    return installed


def to_rgb_uint8(array: np.ndarray, *, background: int = 255) -> np.ndarray:
    """Convert a decoded image to ``(H, W, 3) uint8`` RGB.

    Introduced in ``notebooks/00_setup.ipynb``.

    - grayscale ``(H, W)`` or ``(H, W, 1)``: the channel is repeated three times;
    - RGBA ``(H, W, 4)``: composited over a uniform ``background`` (white by default) using the
      alpha channel; a fully opaque image is therefore returned unchanged minus its alpha;
    - ``uint16`` images are scaled to 0..255, booleans to 0/255.

    Raises
    ------
    ValueError
        For shapes that are not an image, or 2-channel (gray + alpha) data.
    """
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = np.round(a / 257.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"to_rgb_uint8 expects uint8, uint16 or bool pixels, got {a.dtype}.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(
            f"to_rgb_uint8 expects (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}."
        )
    if a.shape[2] == 3:
        return a
    rgb = a[..., :3].astype(np.float64)
    alpha = a[..., 3:].astype(np.float64) / 255.0
    out = rgb * alpha + float(background) * (1.0 - alpha)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB ``uint8`` image to ``size = (height, width)`` with PIL's bilinear filter.

    Introduced in ``notebooks/01_superpixels.ipynb``. The aspect ratio is not kept (as
    ``keras.utils.load_img(target_size=...)`` does not keep it): InceptionV3 sees 299 x 299.
    """
    from PIL import Image

    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"size must be two positive integers (height, width), got {size!r}.")
    resized = Image.fromarray(to_rgb_uint8(image)).resize((width, height), Image.BILINEAR)
    return np.asarray(resized)


def load_image(name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Load a registry image as an ``(H, W, 3) uint8`` RGB array.

    Introduced in ``notebooks/00_setup.ipynb``. Grayscale images are repeated to three
    channels; RGBA images (``dogs.png``) are composited over white (see :func:`to_rgb_uint8`).

    Parameters
    ----------
    name
        ``"images/cat_mouse.jpg"`` or just ``"cat_mouse.jpg"``.
    size
        ``(height, width)`` to resize to (:func:`resize_image`), e.g. ``(299, 299)``.
    """
    from PIL import Image

    path = fetch(name)
    with Image.open(path) as im:
        im.load()
        if im.mode == "P":
            im = im.convert("RGBA")
        elif im.mode not in ("L", "RGB", "RGBA", "I;16", "1"):
            im = im.convert("RGB")
        array = np.asarray(im)
    rgb = to_rgb_uint8(array)
    return rgb if size is None else resize_image(rgb, size)


def paper_figure4_input() -> np.ndarray:
    """Panel (a) of KDD'16 Figure 4, the dog with a guitar, cropped out of the published figure.

    Introduced in ``notebooks/07_paper_figures.ipynb``. The composite in the registry
    (``images/image_from_paper.png``) is the only copy of the paper's input image available;
    its panel (a) is 188 x 188 pixels here, far smaller than the 299 x 299 Inception input.

    Returns
    -------
    numpy.ndarray
        ``(188, 188, 3) uint8`` RGB.
    """
    figure = load_image("images/image_from_paper.png")
    return np.ascontiguousarray(figure[_FIG4_PANEL_A])


def _main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data``: fetch and verify every required file, print a table."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", action="store_true", help="also fill the Keras cache")
    args = parser.parse_args(argv)
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
    if args.keras and not failed:
        for path in install_keras_files():
            print(f"keras    {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(_main())
