"""Helpers for the "LIME, step by step" notebooks.

One module per LIME step, each introduced by a notebook:

- :mod:`helpers.data` — hash-pinned data files, offline directory, images (00)
- :mod:`helpers.models` — InceptionV3 (real or explicitly untrained), classifier function (00, 03)
- :mod:`helpers.environment` — environment report for the setup notebook (00)
- :mod:`helpers.plotting` — figures shown and saved under ``build/figures`` (00)

Importing :mod:`helpers` does no I/O and changes no global settings; TensorFlow is imported
only by the functions that need it.
"""

__version__ = "0.1.0"
