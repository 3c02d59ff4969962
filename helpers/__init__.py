"""Helpers for the "LIME, step by step" notebooks.

One module per LIME step, each introduced by a notebook:

- :mod:`helpers.data` — hash-pinned data files, offline directory, images (00)
- :mod:`helpers.environment` — environment report for the setup notebook (00)
- :mod:`helpers.plotting` — figures shown and saved under ``build/figures`` (00)
- :mod:`helpers.segmentation` — superpixels, labels ``0..S-1`` (01)
- :mod:`helpers.perturbation` — masks and perturbed images, vectorized and streamed (02)
- :mod:`helpers.models` — one image-classifier interface: InceptionV3 (Keras), the int8
  MobileNetV2/V1 (LiteRT), your own Keras model; `load_model("auto")` (00, 03)
- :mod:`helpers.kernels` — cosine distance and the exponential kernel (04)
- :mod:`helpers.surrogates` — ridge, K-LASSO, forward selection, OLS (05)
- :mod:`helpers.explain` — the whole pipeline and :class:`~helpers.explain.Explanation` (06)
- :mod:`helpers.toy_models` — ground-truth classifiers whose evidence is known (06)
- :mod:`helpers.validation` — input checks with clear errors (06)
- :mod:`helpers.explorer` — the LIME explorer's logic: a mask, the network vs the surrogate (06)
- :mod:`helpers.explorer_app` — the explorer's widgets (ipywidgets, ipyevents) (06)
- :mod:`helpers.explorer_server` — the explorer served by Voilà, driven in Chromium (06)

Importing :mod:`helpers` does no I/O and changes no global settings; TensorFlow is imported
only by the functions that need it.
"""

__version__ = "0.1.0"
