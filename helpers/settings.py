"""Settings: every environment variable the project reads, by name, and how it is read.

Introduced in ``notebooks/03_inception_predictions.ipynb`` (:func:`sample_budget`); the
variables themselves are set up in ``notebooks/00_setup.ipynb`` and the README. Nothing is
read at import time; each function reads the environment when it is called, so a notebook or
a test can change a setting.

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

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it, but every on/off switch
    of the project (:data:`QUICK_ENV`, :data:`UNTRAINED_ENV`, :data:`PREDICTION_CACHE_ENV`)
    is read through it.

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

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (the data layer and
    :func:`helpers.plotting.figures_dir` do). ``~`` is expanded; the path is not resolved
    and need not exist.

    Parameters
    ----------
    name
        The variable, e.g. :data:`DATA_ENV`.

    Returns
    -------
    pathlib.Path or None
        ``None`` when the variable is unset or blank.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"LIME_TUTORIAL_EXAMPLE": " ~/lime-data "}):
    ...     env_path("LIME_TUTORIAL_EXAMPLE") == Path.home() / "lime-data"
    True
    >>> env_path("LIME_TUTORIAL_EXAMPLE") is None
    True
    """
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def sample_budget(full: int, quick: int) -> int:
    """Number of LIME samples for expensive models: ``full``, or ``quick`` under test.

    Introduced in ``notebooks/03_inception_predictions.ipynb``. ``make test`` sets
    ``LIME_TUTORIAL_QUICK=1`` so the notebooks fit CI's time; ``make run`` uses ``full``.

    Parameters
    ----------
    full
        Samples for a normal run (``make run``, or a notebook opened by hand).
    quick
        Samples when :data:`QUICK_ENV` is on.

    Returns
    -------
    int
        ``quick`` if ``LIME_TUTORIAL_QUICK`` is switched on (see :func:`env_flag`), else
        ``full``.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {QUICK_ENV: "1"}):
    ...     sample_budget(1000, 300)
    300
    >>> with mock.patch.dict(os.environ, {QUICK_ENV: "0"}):
    ...     sample_budget(1000, 300)
    1000
    """
    return int(quick) if env_flag(QUICK_ENV) else int(full)
