"""Issue 21, items 8, 13, 16 and 17: what a saved explanation may hold, how large it may be,
one error naming the file and the member, and clear messages for degenerate models and widths.

Each test failed on the code before issue 21 (the comment says how) and passes now.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers.explain import explain
from helpers.explanation import Explanation, ExplanationFileError
from helpers.segmentation import grid_segments


def _image() -> np.ndarray:
    image = np.zeros((16, 16, 3), np.uint8)
    image[4:12, 4:12] = 200
    return image


def _model(images: np.ndarray) -> np.ndarray:
    bright = images[:, 4:12, 4:12].astype(np.float64).mean(axis=(1, 2, 3)) / 255
    return np.stack([1 - bright, bright], axis=1)


def _explain(**kwargs) -> Explanation:
    options = {"segments": grid_segments((16, 16), 2), "num_samples": 30, "labels": [1],
               "hide_color": 0, "random_state": 0, "progress": False, "cache": False}  # fmt: skip
    return explain(_image(), kwargs.pop("model", _model), **{**options, **kwargs})


@pytest.fixture
def saved(tmp_path) -> Path:
    return _explain(surrogate="k_lasso", num_features=2).save(tmp_path / "e.npz")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _tamper(path: Path, out: Path, members: dict[str, bytes]) -> Path:
    """A copy of ``path`` with some members' raw ``.npy`` bytes replaced."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, members.get(name.removesuffix(".npy"), src.read(name)))
    return out


def _meta(path: Path, change) -> bytes:
    """The ``meta`` member of ``path`` with ``change(meta_dict)`` applied (or text returned)."""
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(np.load(io.BytesIO(zf.read("meta.npy"))).tobytes())
    text = change(meta)
    text = text if isinstance(text, bytes) else json.dumps(meta).encode()
    return _npy(np.frombuffer(text, np.uint8))


def _array(path: Path, member: str) -> np.ndarray:
    with zipfile.ZipFile(path) as zf:
        return np.load(io.BytesIO(zf.read(f"{member}.npy")))


# ----- item 8: values, not only structure ---------------------------------------------------
@pytest.mark.parametrize(
    ("member", "change", "match"),
    [
        ("score", lambda a: a + 4.0, r"member 'score'.*R² above 1"),
        ("kernel_weights", lambda a: -a, r"member 'kernel_weights'.*negative"),
        ("distances", lambda a: a - 1.0, r"member 'distances'.*negative"),
        ("predictions", lambda a: a.astype(np.complex128), r"member 'predictions'.*complex"),
        ("samples", lambda a: np.vstack([a[1:2], a[1:]]), r"member 'samples'.*row 0"),
    ],
)
def test_8_load_refuses_values_no_explanation_holds(saved, tmp_path, member, change, match):
    # before: every one of these loaded
    broken = _tamper(saved, tmp_path / "b.npz", {member: _npy(change(_array(saved, member)))})
    with pytest.raises(ExplanationFileError, match=match) as info:
        Explanation.load(broken)
    assert str(broken) in str(info.value) and "Fix:" in str(info.value)


def test_8_load_refuses_a_repeated_selected_superpixel(saved, tmp_path):
    def repeat(meta):
        meta["params"]["selected"]["1"] = [0, 0]

    broken = _tamper(saved, tmp_path / "b.npz", {"meta": _meta(saved, repeat)})
    with pytest.raises(ExplanationFileError, match=r"member 'meta'.*label 1 repeat"):
        Explanation.load(broken)


# ----- item 13: a size limit, refused unread ------------------------------------------------
def test_13_load_has_a_size_limit_and_refuses_unread(saved, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a member was read")

    assert Explanation.load(saved, max_bytes=1_000_000).labels == (1,)
    monkeypatch.setattr(np.lib.format, "read_array", never)
    with pytest.raises(ExplanationFileError, match=r"in all, more than max_bytes=1000 \(not read"):
        Explanation.load(saved, max_bytes=1000)


def test_13_a_huge_declared_shape_is_refused_by_default_unread(saved, tmp_path, monkeypatch):
    # before: read_array tried to allocate 8 GB (MemoryError or a bare ValueError)
    n = _array(saved, "samples").shape[0]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n, 2**25)}
    )
    huge = header.getvalue() + b"\0" * 64  # tiny on disk, 8 GB declared
    broken = _tamper(saved, tmp_path / "huge.npz", {"predictions": huge})
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("read"))
    with pytest.raises(ExplanationFileError, match=r"'predictions'.*more than max_bytes"):
        Explanation.load(broken)


# ----- item 16: one error naming the file and the member ------------------------------------
def test_16_deeply_nested_params_json(saved, tmp_path):
    # before: RecursionError, without the file's name
    deep = b'{"format": "lime-tutorial-explanation/1", "params": ' + b"[" * 100_000 + b"]" * 100_000
    broken = _tamper(saved, tmp_path / "deep.npz", {"meta": _meta(saved, lambda m: deep + b"}")})
    with pytest.raises(ExplanationFileError, match=r"deep\.npz.*member 'meta'"):
        Explanation.load(broken)


def test_16_a_list_where_a_mapping_belongs(saved, tmp_path):
    # before: ValueError "dictionary update sequence element #0 ..." without the file's name
    def as_list(meta):
        meta["params"]["selected"] = [[0]]

    broken = _tamper(saved, tmp_path / "list.npz", {"meta": _meta(saved, as_list)})
    with pytest.raises(ExplanationFileError, match=r"list\.npz.*member 'meta'.*selected"):
        Explanation.load(broken)


def test_16_string_predictions(saved, tmp_path):
    # before: TypeError from np.isfinite, without the file's name
    strings = _array(saved, "predictions").astype("U8")
    broken = _tamper(saved, tmp_path / "str.npz", {"predictions": _npy(strings)})
    with pytest.raises(ExplanationFileError, match=r"str\.npz.*member 'predictions'.*<U8"):
        Explanation.load(broken)


# ----- item 17: clear messages --------------------------------------------------------------
def test_17_a_model_with_no_classes():
    # before: "labels [1] are outside the classifier's outputs 0..-1"
    with pytest.raises(ValueError, match="0 classes"):
        _explain(model=lambda images: np.zeros((len(images), 0)))


def test_17_complex_output_is_an_error_not_a_warning():
    # before: a ComplexWarning, and the imaginary part silently dropped
    with pytest.raises(ValueError, match="complex numbers"):
        _explain(model=lambda images: _model(images) * (1 + 1j))


@pytest.mark.parametrize(
    ("width", "match"),
    [
        (1e-200, r"kernel_width=1e-200 is outside"),  # before: NaN weights, sample_weight error
        (1e300, r"kernel_width=1e\+300 is outside"),  # before: OverflowError(34)
        (1e-10, r"kernel_width=1e-10 gives weight 0 to every sample but the original"),
    ],  # 1e-10 before: all weights but the original's silently 0
)
def test_17_kernel_widths_that_cannot_weight_give_a_clear_error(width, match):
    with pytest.raises(ValueError, match=match):
        _explain(kernel_width=width)
