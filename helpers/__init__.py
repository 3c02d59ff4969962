"""Helpers for the "LIME, step by step" notebooks.

The map below lists every module, LIME's steps first and in the order the method runs them,
then the models, the evaluation, the apps and the plumbing. The numbers in brackets are the
notebooks that introduce each module (``notebooks/NN_*.ipynb``); "behind" marks a module that no
notebook imports, working under the one named. Each public name's docstring says the same
for the name ("Introduced in" or "Belongs with"); ``tests/test_docstrings.py`` checks these
notes against the notebooks and this map against the modules.

LIME's steps

- :mod:`helpers.segmentation` — 1. superpixels, the interpretable representation, labels
  ``0..S-1`` (01)
- :mod:`helpers.perturbation` — 2. 0/1 samples and the perturbed images they stand for,
  built for a whole batch at once and streamed (02)
- :mod:`helpers.prediction` — 3. the model's outputs on every perturbed image, batch by
  batch (behind 06; 03 calls the model by hand)
- :mod:`helpers.kernels` — 4. each sample's distance to the original and its kernel weight
  (04)
- :mod:`helpers.surrogates` — 5. the weighted linear surrogate: ridge, K-LASSO, forward
  selection, OLS (05)
- :mod:`helpers.recipes` — the settings, each default written once: ``Settings``, the lime,
  paper and MATLAB recipes (07)
- :mod:`helpers.fitting` — steps 4 and 5 without a model: ``sample_weights``,
  ``fit_explanation``, ``refit`` (05, 09)
- :mod:`helpers.explain` — the steps in one call, :func:`~helpers.explain.explain`: checks
  once, then runs them (04, 06)
- :mod:`helpers.auto_samples` — ``num_samples="auto"``: samples in rounds, refitted after
  each, until the top k is stable (behind 09)
- :mod:`helpers.explanation` — the result, :class:`~helpers.explanation.Explanation`: read
  like lime's, saved and loaded (06)
- :mod:`helpers.explanation_file` — the ``.npz`` file of an explanation, read checked
  (behind 06)
- :mod:`helpers.uncertainty` — how far the weights can be trusted: standard errors (HC3
  sandwich), intervals, the top k's stability (behind 09)
- :mod:`helpers.dataset` — one explanation per image of a whole dataset, resumable, on Dask
  (10)
- :mod:`helpers.manifest` — a dataset's image ids, seeds and manifests, the output folder's
  lock and summary table (behind 10)
- :mod:`helpers.cluster` — Dask for the dataset runner: a local cluster on 127.0.0.1, a
  worker's model, crashes blamed on the image that causes them (behind 10)

The models

- :mod:`helpers.models` — the ImageNet models by name, ``load_model("auto")``: InceptionV3
  (Keras), the int8 MobileNetV2/V1 (LiteRT); your own Keras model; the Keras cache (00, 03)
- :mod:`helpers.classifiers` — the one image-classifier interface, its Keras and LiteRT
  runtimes, fingerprints (behind 03)
- :mod:`helpers.imagenet` — ImageNet's class names in Keras' order, reading outputs (00)
- :mod:`helpers.toy_models` — classifiers whose evidence is known, to check explanations
  against (05)
- :mod:`helpers.synthetic` — husky vs wolf offline: seeded scenes and a small CNN (08)

The evaluation

- :mod:`helpers.metrics` — stability, fidelity, deletion and insertion (04, 06, 09)
- :mod:`helpers.shapley` — Kernel SHAP, exact Shapley values, LIME's large-sample limit (09)
- :mod:`helpers.reference` — the ``lime`` package itself, run on our samples (06)
- :mod:`helpers.paper` — what the paper and the blog published, Figure 4 included (00, 07)

The apps

- :mod:`helpers.explorer` — the LIME explorer's logic: one 0/1 sample, the network next to
  the surrogate (06)
- :mod:`helpers.explorer_app` — the explorer's widgets (ipywidgets, ipyevents) and its
  default content (06)

Outside the package, the tooling that serves or measures them: ``apps/explorer.ipynb`` (the
page Voilà serves) and ``apps/explorer_server.py`` (``make explore``), ``benchmarks/`` (with
``profiling.py``), ``tests/browser_driver.py`` (Chromium), ``scripts/run_notebooks.py``
(``make run``) and ``scripts/assignments.py`` (nbgrader).

The plumbing

- :mod:`helpers.plotting` — the notebooks' figures: image grids, weight maps, the paper's
  gray-out, the untrained mark, saving under ``build/figures`` (00)
- :mod:`helpers.data` — one registry of hash-pinned files, found offline or downloaded, and
  the named images (``data.tree_frog()``...) (00)
- :mod:`helpers.environment` — the setup notebook's report: versions, data files, weights
  (00)
- :mod:`helpers.settings` — every ``LIME_TUTORIAL_*`` variable and how it is read (03)
- :mod:`helpers.images` — pixels to RGB ``uint8``, and resizing (00, 07)
- :mod:`helpers.validation` — the input checks, one rule per argument, each error with its
  fix (behind 06)
- :mod:`helpers.setting_checks` — the settings' rules: names, kernel width, K, the hide color
  (behind 07)
- :mod:`helpers.cache` — the opt-in prediction cache (behind 06)
- :mod:`helpers.files` — atomic writes: every file appears whole or not at all (behind 06)

Why flat modules and not subpackages: the notebooks and learners' own code import these
modules by short names (``from helpers import segmentation``, then
``segmentation.segment(...)``), and those names are the vocabulary the notebooks teach. A
subpackage per group would lengthen every import (``helpers.steps.segmentation``) and tie
each name to a grouping, so moving a module between groups would break every notebook that
uses it. With one job per module, a module is found by its name, and the grouping and the
order of the steps (which no alphabetical listing of directories shows) are in this map.

Importing :mod:`helpers` does no I/O and changes no global settings; TensorFlow is imported
only by the functions that need it.
"""

__version__ = "0.1.0"
