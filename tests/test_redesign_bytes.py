"""Ten saved explanations, every recipe and option, pinned to the bytes of the code before the
issue-20 redesign.

Each case is explained (or refitted, or fitted from given predictions) with a toy model and an
image built here from a seed, then saved. The SHA-256 of each file was computed with the code
before the redesign (commit dd0cccb) and is written below. Since then a saved explanation's
``params`` use the argument names (:data:`RENAMED`): the test maps the new keys back to the old
ones, rewrites the ``meta`` member exactly as ``Explanation.save`` writes it, and compares the
SHA-256 of the whole file. Every other member (the arrays) is compared byte for byte without
any mapping.

``python tests/test_redesign_bytes.py OUT_DIR`` saves the ten files and prints their
(normalised) digests. The "before" files were kept in ``/work/coord/before/`` (outside the repo).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

#: Keys of ``Explanation.params`` renamed by the redesign: old name -> new name.
RENAMED: dict[str, str] = {
    "seed": "random_state",
    "segmentation_seed": "segmentation_random_state",
}

#: SHA-256 of each case's file, written by the code before the redesign.
BEFORE_SHA256: dict[str, str] = {
    "fit_explanation_pixel_l2": "964698046eb0a8f6cda74e0c1bf5fa6cf68a7510be81e3a1efa21a332762ea5c",
    "float_gray_sobol_pixel_l2": "628be90c724a3a24b2569d9cd19f164b15a81addfe25183ae6baf1baacf18455",
    "forward_rgb_stratified_grid": "b0084fd32b6aca0d99cf304d695dd76661d928d43dc5fb0de1c64333c4a414c1",
    "generator_uniform_ridge_k": "90483af06fb6ded58584ab759ff4129741e30fb85d0d8b194b109dbc27f00ed3",
    "given_segments_samples_paper": "a306705cebfd67fcfdf4b24970ee26d5fa24c7caa1d740fd2047e80b8c88be9f",
    "lasso_blur_antithetic": "a39bc89dd037327a2f4def35d365e5161b7b46097fea289c3788b27a2f322d68",
    "lime_default": "c5d026903f3b8c231e96098ef15677e55a821f458433b5b128ec8e41cc1a8103",
    "matlab_felzenszwalb": "334c4ba8137201e86ad49ca25d3a40c64e16ac60429760067b2078a57f5107c7",
    "paper_slic": "e5590e86656783e06114fcd396d9a36f0910f8f48f24f71d2e7c9e01f3374634",
    "refit_paper_kernel_ols": "8f1e9f2923b0a085929a4fa81a76d1fa3db26f52550f14698f7534028a5f776c",
}


def _image(size: int = 48) -> np.ndarray:
    """Four coloured blocks with smooth gradients and seeded noise: segments well."""
    rng = np.random.default_rng(20)
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.zeros((size, size, 3))
    image[..., 0] = 200 * (xx < 0.5) + 40 * yy
    image[..., 1] = 180 * (yy < 0.5) + 50 * xx
    image[..., 2] = 120 * ((xx - 0.6) ** 2 + (yy - 0.4) ** 2 < 0.06) + 30
    image += rng.normal(0, 6, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


_WEIGHTS = np.random.default_rng(21).normal(size=(12, 3))


def _model(images: np.ndarray) -> np.ndarray:
    """Three-class softmax of the mean colour of each image quadrant (deterministic)."""
    x = np.asarray(images, dtype=np.float64)
    x = x / 255.0 if np.asarray(images).dtype == np.uint8 else x
    h, w = x.shape[1] // 2, x.shape[2] // 2
    quads = [x[:, :h, :w], x[:, :h, w:], x[:, h:, :w], x[:, h:, w:]]
    features = np.concatenate([q.mean(axis=(1, 2)) for q in quads], axis=1)  # (B, 12)
    logits = 4.0 * (features - 0.4) @ _WEIGHTS
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cases():
    """``name -> explanation`` for the ten cases (computed lazily, in order)."""
    from helpers.explain import explain
    from helpers.fitting import fit_explanation, refit

    image = _image()
    common = {"progress": False, "cache": False}
    out = {}
    out["lime_default"] = explain(image, _model, num_samples=120, top_labels=2, random_state=0,
                                  **common)  # fmt: skip
    out["paper_slic"] = explain(
        image, _model, recipe="paper", segmentation="slic",
        segmentation_params={"n_segments": 30}, num_samples=150, labels=[2, 0], random_state=1,
        **common,
    )  # fmt: skip
    out["matlab_felzenszwalb"] = explain(
        image, _model, recipe="matlab", segmentation="felzenszwalb",
        segmentation_params={"scale": 50, "min_size": 20}, num_samples=100, top_labels=1,
        random_state=2, **common,
    )  # fmt: skip
    out["lasso_blur_antithetic"] = explain(
        image, _model, surrogate="lasso_path", num_features=4, design="antithetic",
        hide_color="blur", num_samples=100, labels=[1], random_state=3, **common,
    )  # fmt: skip
    out["forward_rgb_stratified_grid"] = explain(
        image, _model, surrogate="forward_selection", num_features=3,
        distance="hidden_fraction", kernel="paper", kernel_width=0.5, design="stratified",
        hide_color=(10, 200, 30), segmentation="grid", segmentation_params={"n_rows": 4},
        num_samples=90, labels=[0, 1], random_state=4, **common,
    )  # fmt: skip
    out["float_gray_sobol_pixel_l2"] = explain(
        (image / 255.0).astype(np.float32), _model, hide_color="gray", design="sobol",
        distance="pixel_l2", surrogate="k_lasso", num_features=5, segmentation="grid",
        segmentation_params={"n_rows": 3, "n_cols": 4}, num_samples=64, labels=[2],
        random_state=5, **common,
    )  # fmt: skip
    grid = np.repeat(np.repeat(np.arange(12).reshape(3, 4), 16, axis=0), 12, axis=1)
    given = np.random.default_rng(6).integers(0, 2, (40, 12), dtype=np.uint8)
    given[0] = 1
    out["given_segments_samples_paper"] = explain(
        image, _model, recipe="paper", segments=grid * 7 + 3, samples=given, surrogate="ols",
        labels=[1], random_state=6, **common,
    )  # fmt: skip
    out["generator_uniform_ridge_k"] = explain(
        image[..., 0], _model, random_state=np.random.default_rng(7), design="uniform_count",
        hide_color=0, kernel_width=0.1, num_features=4, segmentation="grid",
        segmentation_params={"n_rows": 4, "n_cols": 3}, num_samples=80, top_labels=3, **common,
    )  # fmt: skip
    out["refit_paper_kernel_ols"] = refit(
        out["lime_default"], kernel="paper", surrogate="ols", kernel_width=0.5,
        distance="hidden_fraction", labels=[2],
    )  # fmt: skip
    base = out["given_segments_samples_paper"]
    out["fit_explanation_pixel_l2"] = fit_explanation(
        image, grid, given, _model(image[None]).repeat(40, axis=0) * given[:, :3].mean(axis=1,
        keepdims=True) + 0.01 * base.predictions, [0, 2], hide_color=154, distance="pixel_l2",
        kernel="paper", kernel_width=0.3, surrogate="k_lasso", num_features=2,
        params={"note": "given predictions"},
    )  # fmt: skip
    return out


def _normalised(path: Path) -> bytes:
    """The file's bytes with the params keys mapped back to their old names (see RENAMED)."""
    back = {new: old for old, new in RENAMED.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "meta.npy":
                meta = json.loads(np.load(io.BytesIO(data)).tobytes().decode())
                meta["params"] = {back.get(k, k): v for k, v in meta["params"].items()}
                text = json.dumps(meta, sort_keys=True).encode()
                out = io.BytesIO()
                np.lib.format.write_array(out, np.frombuffer(text, np.uint8), allow_pickle=False)
                data = out.getvalue()
            new = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            new.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(new, data)
    return buffer.getvalue()


def save_all(folder: Path) -> dict[str, str]:
    """Save every case in ``folder``; return ``name -> SHA-256`` of the normalised files."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, explanation in cases().items():
        path = explanation.save(folder / f"{name}.npz")
        digests[name] = hashlib.sha256(_normalised(path)).hexdigest()
    return digests


def test_ten_saved_explanations_are_byte_identical_to_before_the_redesign(tmp_path):
    digests = save_all(tmp_path)
    assert len(digests) == 10
    assert digests == BEFORE_SHA256


def test_files_saved_before_the_redesign_still_load_with_the_new_names(tmp_path):
    """A file with the old params names (rebuilt byte for byte) loads, its keys renamed."""
    from helpers.explanation import Explanation
    from helpers.explanation_file import RENAMED_PARAMS

    assert RENAMED_PARAMS == RENAMED
    e = cases()["lime_default"]
    old = tmp_path / "old.npz"
    old.write_bytes(_normalised(e.save(tmp_path / "new.npz")))
    assert hashlib.sha256(old.read_bytes()).hexdigest() == BEFORE_SHA256["lime_default"]
    again = Explanation.load(old)
    assert again.params == e.params and again.params["random_state"] == 0
    assert "seed" not in again.params and "segmentation_seed" not in again.params
    np.testing.assert_array_equal(again.coef[1], e.coef[1])


if __name__ == "__main__":  # python tests/test_redesign_bytes.py OUT_DIR
    for name, digest in save_all(Path(sys.argv[1])).items():
        print(f"    {name!r}: {digest!r},")
