"""Settings: every environment variable the project reads, by name, and how it is read.

Introduced in ``notebooks/00_setup.ipynb``. Nothing is read at import time; each function
reads the environment when it is called, so a notebook or a test can change a setting.

=================================  =========================================================
variable                           meaning
=================================  =========================================================
``LIME_TUTORIAL_DATA``             offline data directory laid out like the registry
``LIME_TUTORIAL_CACHE``            download cache (default: the OS cache dir)
``LIME_TUTORIAL_PREDICTION_CACHE`` on/off: reuse model predictions across runs
``LIME_TUTORIAL_QUICK``            on/off: fewer samples for expensive models (``make test``)
``LIME_TUTORIAL_UNTRAINED``        on/off: ``load_inception_v3()`` may build random weights
``LIME_TUTORIAL_FIGURES``          directory where ``plotting.save_figure`` writes PNGs
=================================  =========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_CACHE_ENV",
    "DATA_ENV",
    "FIGURES_ENV",
    "PREDICTION_CACHE_ENV",
    "QUICK_ENV",
    "UNTRAINED_ENV",
    "env_flag",
    "env_path",
    "sample_budget",
]

DATA_ENV = "LIME_TUTORIAL_DATA"
DATA_CACHE_ENV = "LIME_TUTORIAL_CACHE"
PREDICTION_CACHE_ENV = "LIME_TUTORIAL_PREDICTION_CACHE"
QUICK_ENV = "LIME_TUTORIAL_QUICK"
UNTRAINED_ENV = "LIME_TUTORIAL_UNTRAINED"
FIGURES_ENV = "LIME_TUTORIAL_FIGURES"


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is switched on (1, true, yes or on).

    Introduced in ``notebooks/00_setup.ipynb``; every on/off switch of the project reads it.

    Parameters
    ----------
    name
        The variable, e.g. :data:`QUICK_ENV`.

    Returns
    -------
    bool
        ``True`` for ``1``, ``true``, ``yes`` or ``on`` (any case, surrounding spaces ignored).

    Examples
    --------
    >>> import os
    >>> os.environ["LIME_TUTORIAL_EXAMPLE"] = " Yes "
    >>> env_flag("LIME_TUTORIAL_EXAMPLE")
    True
    >>> del os.environ["LIME_TUTORIAL_EXAMPLE"]
    >>> env_flag("LIME_TUTORIAL_EXAMPLE")
    False
    """
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def env_path(name: str) -> Path | None:
    """The directory or file named by environment variable ``name``, or ``None`` when unset.

    Introduced in ``notebooks/00_setup.ipynb``. ``~`` is expanded; the path is not resolved
    and need not exist.

    Parameters
    ----------
    name
        The variable, e.g. :data:`DATA_ENV`.

    Returns
    -------
    pathlib.Path or None
    """
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def sample_budget(full: int, quick: int) -> int:
    """Number of LIME samples for expensive models: ``full``, or ``quick`` under test.

    Introduced in ``notebooks/03_inception_predictions.ipynb``. ``make test`` sets
    ``LIME_TUTORIAL_QUICK=1`` so the notebooks fit CI's time; ``make run`` uses ``full``.

    Parameters
    ----------
    full, quick
        The two sizes.

    Returns
    -------
    int
    """
    return int(quick) if env_flag(QUICK_ENV) else int(full)
