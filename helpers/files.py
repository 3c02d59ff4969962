"""Writing files safely: every file the project writes appears whole or not at all.

Belongs with ``notebooks/06_explaining_predictions.ipynb`` (saving an explanation), though no
notebook imports it. Cache entries, explanations, figures and the Keras cache all go through
:func:`atomic_path`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["STALE_AFTER", "atomic_path", "jsonable", "reap_stale", "reap_stale_parts"]

#: A temporary ``.part`` file older than this (seconds) is left over by a killed write.
STALE_AFTER = 3600.0


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, else vanishes.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:meth:`helpers.explanation.Explanation.save` does).

    Every file the project writes (cache entries, explanations, figures, the Keras cache) goes
    through here, so a failure never leaves a half-written file or damages an existing one.
    The temporary name keeps ``dest``'s suffix (``np.savez`` needs ``.npz``). The file is
    created with mode ``0o666`` less the user's umask, as any program's new files are
    (``tempfile.mkstemp`` would make every file ``0o600``); ``O_EXCL`` makes sure the random
    name is new.

    Parameters
    ----------
    dest
        The file to write. Its directory is created if needed.

    Yields
    ------
    pathlib.Path
        An empty temporary file in ``dest``'s directory, named ``.<stem>.<random>.part<suffix>``:
        write to it inside the ``with`` block. When the block ends normally it is renamed to
        ``dest`` (one atomic ``os.replace``); when the block raises it is deleted and the
        exception goes on, leaving any earlier ``dest`` untouched.

    Raises
    ------
    FileExistsError
        If ten random temporary names in a row are already taken.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     dest = Path(folder) / "numbers.txt"
    ...     with atomic_path(dest) as tmp:
    ...         _ = tmp.write_text("1 2 3")
    ...         print(dest.exists())
    ...     print(dest.read_text(), [p.name for p in Path(folder).iterdir()])
    False
    1 2 3 ['numbers.txt']
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    reap_stale_parts(dest)
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


def reap_stale(folder: Path, pattern: str, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Delete the files in ``folder`` matching ``pattern`` older than ``older_than`` seconds.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it. The one
    reaper of the package: a write or download killed with ``kill -9`` never reaches its
    clean-up, so its temporary file stays. :func:`reap_stale_parts` (every save) and the data
    layer (pooch's ``tmp*`` downloads) call it with their own patterns. Younger files may
    belong to a write in progress in another process and are left alone.

    Parameters
    ----------
    folder
        The folder to clean (a missing folder has nothing to clean).
    pattern
        A :meth:`pathlib.Path.glob` pattern of temporary names, within ``folder``.
    older_than
        Minimum age in seconds (by modification time) of a file to remove.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import os, tempfile, time
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     old, new = Path(folder) / "tmp_old", Path(folder) / "tmp_new"
    ...     _ = old.write_text("half"), new.write_text("writing")
    ...     os.utime(old, (time.time() - 7200, time.time() - 7200))
    ...     [p.name for p in reap_stale(Path(folder), "tmp*")]
    ['tmp_old']
    """
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    now = time.time()
    for part in folder.glob(pattern):
        try:
            if part.is_file() and now - part.stat().st_mtime > older_than:
                part.unlink()
                removed.append(part)
        except FileNotFoundError:  # another process reaped it first
            continue
    return removed


def reap_stale_parts(
    dest: Path, *, older_than: float = STALE_AFTER, any_stem: bool = False
) -> list[Path]:
    """Delete the temporary files that killed writes to ``dest`` left behind.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (every save
    does, through :func:`atomic_path`). A write killed with ``kill -9`` never reaches its
    clean-up, so its ``.<stem>.<random>.part<suffix>`` file stays. The next write to the same
    place removes the ones older than ``older_than`` seconds; younger ones may belong to a write
    in progress in another process and are left alone.

    Parameters
    ----------
    dest
        The file whose leftover temporary files are removed.
    older_than
        Minimum age in seconds (by modification time) of a file to remove.
    any_stem
        Also remove the leftovers of every other file in ``dest``'s folder with ``dest``'s
        suffix (``.<any stem>.<random>.part<suffix>``): a folder of many such files (e.g.
        :func:`helpers.dataset.explain_dataset`'s explanations) is cleaned in one pass.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import os, tempfile, time
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     left = Path(folder) / ".numbers.0123456789ab.part.txt"
    ...     _ = left.write_text("half")
    ...     os.utime(left, (time.time() - 7200, time.time() - 7200))
    ...     [p.name for p in reap_stale_parts(Path(folder) / "numbers.txt")]
    ['.numbers.0123456789ab.part.txt']
    """
    import glob

    dest = Path(dest)
    stem = "*" if any_stem else glob.escape(dest.stem)
    pattern = f".{stem}.*.part{glob.escape(dest.suffix)}"
    return reap_stale(dest.parent, pattern, older_than=older_than)


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays, numpy scalars and tuples turned into JSON types.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``, where the ``params`` of an
    explanation are saved as JSON; no notebook calls it (the explanation record and the
    dataset runner do).

    Parameters
    ----------
    value
        Any value; dicts, lists and tuples are converted recursively.

    Returns
    -------
    object
        The same data made of dicts (with ``str`` keys), lists, Python numbers, strings,
        booleans and ``None``; other objects are returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": np.arange(2), 3: (np.float64(0.5),)})
    {'a': [0, 1], '3': [0.5]}
    """
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
