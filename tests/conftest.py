"""Shared fixtures. Tests never touch the user's caches: each session gets its own."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The offline data directory: $LIME_TUTORIAL_DATA, else ../shared/data beside the repo."""
    value = os.environ.get("LIME_TUTORIAL_DATA")
    candidate = Path(value) if value else REPO.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("no offline data directory (set LIME_TUTORIAL_DATA)")
    return root


@pytest.fixture
def offline_data(monkeypatch, data_root, tmp_path) -> Path:
    """LIME_TUTORIAL_DATA set to the shared directory, with an empty private cache."""
    monkeypatch.setenv("LIME_TUTORIAL_DATA", str(data_root))
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "cache"))
    return data_root


@pytest.fixture
def copied_data(monkeypatch, data_root, tmp_path) -> Path:
    """A private, writable copy of the data directory set as LIME_TUTORIAL_DATA."""
    copy = tmp_path / "data"
    shutil.copytree(data_root, copy)
    monkeypatch.setenv("LIME_TUTORIAL_DATA", str(copy))
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "cache"))
    return copy


@pytest.fixture(scope="session")
def untrained_inception():
    """One seeded untrained InceptionV3 for the whole test session (slow to build)."""
    from helpers.models import load_inception_v3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_inception_v3("untrained", random_state=0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def mobilenet_v2(data_root):
    """The real int8 MobileNetV2 (LiteRT), loaded once for the whole test session."""
    from helpers.models import load_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        return load_model("mobilenet_v2")


@pytest.fixture(scope="session")
def frog224(data_root):
    """The tree frog at MobileNetV2's 224 x 224 input size."""
    from helpers import data

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        return data.tree_frog((224, 224))
