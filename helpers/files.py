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

__all__ = ["atomic_path"]


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
