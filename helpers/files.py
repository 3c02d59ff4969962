"""Writing files safely: every file the project writes appears whole or not at all.

Introduced in ``notebooks/06_explaining_predictions.ipynb`` (saving an explanation). Cache
entries, explanations, figures and the Keras cache all go through :func:`atomic_path`.
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

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.

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
