"""The environment report of the setup notebook: versions, data files, weights.

Introduced in ``notebooks/00_setup.ipynb``.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata

from .data import data_dir, data_status
from .models import INCEPTION_WEIGHTS, keras_home, untrained_opt_in
from .settings import DATA_ENV

__all__ = [
    "environment_report",
    "package_versions",
    "required_packages",
    "weights_status",
]


def required_packages() -> list[str]:
    """Names of the runtime dependencies, read from the installed ``lime-tutorial`` metadata
    (that is, from ``pyproject.toml``), TensorFlow's variants left out.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`package_versions`
    does).

    Returns
    -------
    list of str
        Distribution names in the order of ``pyproject.toml``, each once, without extras.

    Examples
    --------
    >>> names = required_packages()
    >>> "numpy" in names, any(name.startswith("tensorflow") for name in names)
    (True, False)
    """
    names = []
    for requirement in metadata.requires("lime-tutorial") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0]
        if not name.startswith("tensorflow") and name not in names:
            names.append(name)
    return names


def package_versions() -> dict[str, str | None]:
    """Installed version of Python, TensorFlow and each required package (``None``: missing).

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`environment_report`
    prints it). TensorFlow is looked up as ``tensorflow-cpu``, then ``tensorflow``, without
    importing it.

    Returns
    -------
    dict of str to str or None
        ``"python"``, ``"tensorflow"`` and then each name of :func:`required_packages`.

    Examples
    --------
    >>> versions = package_versions()
    >>> versions["python"] == platform.python_version(), list(versions)[:2]
    (True, ['python', 'tensorflow'])
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    tf = None
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            tf = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    versions["tensorflow"] = tf
    for name in required_packages():
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def weights_status() -> dict[str, object]:
    """Whether the real InceptionV3 weights are at hand, and which network ``"auto"`` gives.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`environment_report`
    prints its ``mode``). Only looks for the file; nothing is loaded or downloaded.

    Returns
    -------
    dict
        ``keras_cache`` and ``data_dir`` (bool: the weights file is in the Keras cache, in
        ``LIME_TUTORIAL_DATA``), ``untrained_opt_in`` (``LIME_TUTORIAL_UNTRAINED`` is on) and
        ``mode`` (a sentence saying what ``load_model("auto")`` will give).

    Examples
    --------
    >>> sorted(weights_status())
    ['data_dir', 'keras_cache', 'mode', 'untrained_opt_in']
    """
    fname = INCEPTION_WEIGHTS.rsplit("/", 1)[-1]
    in_cache = (keras_home() / "models" / fname).is_file()
    root = data_dir()
    in_data = root is not None and (root / INCEPTION_WEIGHTS).is_file()
    if in_cache or in_data:
        mode = "real ImageNet weights: load_model('auto') is InceptionV3"
    else:
        mode = (
            "not here: online, Keras downloads them on first use; offline, load_model('auto') "
            "is MobileNetV2 (real ImageNet weights, int8) standing in for InceptionV3"
        )
    return {
        "keras_cache": in_cache,
        "data_dir": in_data,
        "untrained_opt_in": untrained_opt_in(),
        "mode": mode,
    }


def _missing_file_state(path: str) -> str:
    """What the report says of a registry file that is on no disk: what happens next, both
    when a download is possible and when it is not (the report itself never goes online).

    Examples
    --------
    >>> _missing_file_state(INCEPTION_WEIGHTS)
    'not found (online: Keras downloads it on first use; offline: MobileNetV2 stands in)'
    >>> _missing_file_state("images/dogs.png")
    'not found (online: downloaded on first use; offline: not available)'
    """
    if path == INCEPTION_WEIGHTS:
        return "not found (online: Keras downloads it on first use; offline: MobileNetV2 stands in)"
    return "not found (online: downloaded on first use; offline: not available)"


def environment_report() -> tuple[str, list[str]]:
    """A printable report and the list of problems, each with what to do about it.

    Introduced in ``notebooks/00_setup.ipynb``. The report lists the versions
    (:func:`package_versions`), every data file and whether it verifies
    (:func:`helpers.data.data_status`, which hashes the files: a few seconds) and the weights
    (:func:`weights_status`). Nothing is downloaded.

    Returns
    -------
    report, problems
        The report as one string, and one sentence per problem (a missing package, a file
        that fails its hash check, a required file not on disk while ``LIME_TUTORIAL_DATA``
        is unset), each ending with the fix; an empty list when all is well. Optional files
        do not count as problems.
    """
    lines, problems = [f"Python {sys.version.split()[0]} on {platform.platform()}"], []
    for name, version in package_versions().items():
        lines.append(f"  {name:14s} {version or 'MISSING'}")
        if version is None:
            problems.append(
                f"{name} is not installed. Fix: run `make run` (or `pip install -e .`)."
            )
    root = data_dir()
    lines.append(f"\n{DATA_ENV} = {root if root else '(not set)'}")
    for row in data_status():
        state = "ok" if row["ok"] else row["problem"]
        if row["location"] is None:  # not on disk: say what happens online and offline
            state = _missing_file_state(str(row["path"]))
        lines.append(f"  {row['path']:58s} {state}")
        if not row["ok"] and not row["optional"]:
            if row["location"] is not None and "hash check" in str(row["problem"]):
                problems.append(
                    f"{row['location']} fails its hash check. Fix: replace it with the file "
                    "from the URL in data/registry.toml, or delete it."
                )
            elif row["location"] is not None:  # unreadable, or a directory: the fix is in it
                problems.append(str(row["problem"]))
            elif root is None:
                problems.append(
                    f"{row['path']} is not available offline. Fix: set {DATA_ENV} to the offline "
                    "data directory (e.g. ../shared/data), or go online and run `make data`."
                )
    weights = weights_status()
    lines.append(f"\nInceptionV3 weights: {weights['mode']}")
    lines.append(f"  Keras cache: {keras_home() / 'models'}")
    if not (weights["keras_cache"] or weights["data_dir"]):
        lines.append(
            "  To use InceptionV3 itself: go online once (Keras downloads and caches the "
            f"weights), or put the file in ${DATA_ENV}/keras/models/."
        )
    return "\n".join(lines), problems
