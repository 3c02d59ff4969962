"""The dataset runner under attack: one test per defect of issue 21's fault pass.

Each test sets up what went wrong (another model behind the same recipe, a ``;`` in a class
name, a 1 x 1 image, two runs into one folder, a worker that dies, the dashboard, a FIFO in a
manifest, odd manifests and arguments) and checks what happens now: the right status and
reason in the summary, a clear error before anything is written, or a warning. The models
are toys (a few arithmetic operations) and the images 16 x 16 pixels, so the tests are fast;
only the two about Dask start a cluster.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import dataset

SETTINGS = {
    "num_samples": 12,
    "segmentation": "grid",
    "segmentation_params": {"n_rows": 2},
    "top_labels": 1,
    "hide_color": 0,
    "progress": False,
}
CRASH_COLOUR = (7, 7, 7)


class Toy:
    """Three classes scored from the mean colour; ``fingerprint`` names weights and code."""

    input_size = (16, 16)

    def __init__(self, weights=(1.0, 1.0, 1.0), fingerprint="toy", class_names=None):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.fingerprint = fingerprint
        self.class_names = class_names or ("red", "green", "blue")

    def __call__(self, images):
        x = np.asarray(images, dtype=np.float64)[..., :3].mean(axis=(1, 2)) * self.weights + 1.0
        return x / x.sum(axis=1, keepdims=True)


def toy_from_file(path: str) -> Toy:
    """A factory like ``keras_model_file``: the weights are read where the model is built."""
    weights = np.load(path)
    return Toy(weights, fingerprint=f"toy:{weights.tobytes().hex()}")


def toy_without_identity() -> Toy:
    return Toy(fingerprint=None)


def toy_with_semicolons() -> Toy:
    return Toy(class_names=("a;b", "c", "d;e;f"))


class CrashingToy(Toy):
    """A toy that kills its process (as a segfault in a native library would) on one image."""

    def __call__(self, images):
        if np.all(np.asarray(images)[..., :3] == CRASH_COLOUR, axis=-1).any():
            os._exit(1)
        return super().__call__(images)


def crashing_toy() -> Toy:
    return CrashingToy(fingerprint="crashing-toy")


_GATE = threading.Event()


class GatedToy(Toy):
    """A toy that waits for ``_GATE`` before each answer: a run that is still going on."""

    def __call__(self, images):
        assert _GATE.wait(60), "the gate was never opened"
        return super().__call__(images)


def gated_toy() -> Toy:
    return GatedToy(fingerprint="gated-toy")


def _image(path: Path, colour, size=(16, 16), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = np.empty((*size, 3), np.uint8)
    pixels[:] = colour
    if colour != CRASH_COLOUR:
        pixels[: size[0] // 2] = rng.integers(64, 256, 3)  # two halves: something to explain
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _images(folder: Path, n: int) -> list[Path]:
    return [_image(folder / f"img{i}.png", (100 + 30 * i, 60, 200 - 20 * i), seed=i)
            for i in range(n)]  # fmt: skip


def _within(seconds: float, function, *args):
    """``function(*args)`` in a daemon thread: its result, or the failure 'still running'."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} was still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# ----- 1. resume trusts the model, not the recipe ---------------------------------------------
def test_1_resume_is_keyed_to_the_model_fingerprint_not_the_recipe(tmp_path):
    """The same recipe (a factory reading a weights file) with other weights: made again."""
    paths = _images(tmp_path / "images", 2)
    weights = tmp_path / "weights.npy"
    np.save(weights, np.array([1.0, 1.0, 1.0]))
    recipe = functools.partial(toy_from_file, str(weights))
    out = tmp_path / "out"
    first = dataset.explain_dataset(paths, recipe, out, client="serial", image_size=None,
                                    **SETTINGS)  # fmt: skip
    assert [r["status"] for r in first] == ["done", "done"]
    again = dataset.explain_dataset(paths, recipe, out, client="serial", image_size=None,
                                    **SETTINGS)  # fmt: skip
    assert [r["status"] for r in again] == ["skipped", "skipped"]  # same model: resumed

    np.save(weights, np.array([1.0, 5.0, 0.2]))  # the file is overwritten: another model
    other = dataset.explain_dataset(paths, recipe, out, client="serial", image_size=None,
                                    **SETTINGS)  # fmt: skip
    assert [r["status"] for r in other] == ["done", "done"]
    model = toy_from_file(str(weights))
    for row, path in zip(other, paths, strict=True):
        p = model(np.asarray(Image.open(path))[None])[0]
        assert row["top_probabilities"][0] == pytest.approx(p.max(), rel=1e-12)
        assert row["top_probabilities"][0] != pytest.approx(first[paths.index(path)]["probability"])


def test_1_a_model_without_a_fingerprint_cannot_resume_and_says_so(tmp_path):
    paths = _images(tmp_path / "images", 2)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="has no fingerprint") as caught:
        first = dataset.explain_dataset(paths, toy_without_identity, out, client="serial",
                                        image_size=None, **SETTINGS)  # fmt: skip
    assert [r["status"] for r in first] == ["done", "done"]
    ours = [w.message for w in caught if "fingerprint" in str(w.message)]
    assert len(ours) == 1 and isinstance(ours[0], dataset.UnidentifiedModelWarning)  # once
    before = {p.name: p.read_bytes() for p in out.glob("*.npz")}
    with pytest.warns(UserWarning, match="explains every image again"):
        again = dataset.explain_dataset(paths, toy_without_identity, out, client="serial",
                                        image_size=None, **SETTINGS)  # fmt: skip
    assert [r["status"] for r in again] == ["done", "done"]  # recomputed, never "skipped"
    assert {p.name: p.read_bytes() for p in out.glob("*.npz")} == before  # same seeds


# ----- 3. a ';' in a class name ---------------------------------------------------------------
def test_3_class_names_with_semicolons_stay_aligned_with_their_labels(tmp_path):
    paths = _images(tmp_path / "images", 2)
    out = tmp_path / "out"
    rows = dataset.explain_dataset(paths, toy_with_semicolons, out, client="serial",
                                   image_size=None, **SETTINGS)  # fmt: skip
    names = ("a;b", "c", "d;e;f")
    for row in rows:
        assert len(row["top_names"]) == len(row["top_labels"]) == 3
        assert row["top_names"] == [names[j] for j in row["top_labels"]]
        assert row["class_name"] == names[row["label"]]
    assert dataset.read_summary(out) == rows
    import csv

    with open(out / dataset.SUMMARY_NAME, newline="", encoding="utf-8") as f:
        cells = next(csv.DictReader(f))
    assert json.loads(cells["top_names"]) == rows[0]["top_names"]  # a JSON list in the cell
    # A summary written before (';'-separated cells) is still read.
    old = out / "old.csv"
    old.write_text(",".join(dataset.SUMMARY_COLUMNS) + "\n"
                   + "ab12,x.png,done,,5,1,cat,0.5,0.25,1;0,cat;dog,0.5;0.25,ab12.npz\n")  # fmt: skip
    [row] = dataset.read_summary(old)
    assert row["top_labels"] == [1, 0] and row["top_names"] == ["cat", "dog"]
    assert row["top_probabilities"] == [0.5, 0.25]


# ----- 4. too small to explain ----------------------------------------------------------------
def test_4_images_smaller_than_8_pixels_fail_instead_of_being_upsampled(tmp_path):
    tiny = [_image(tmp_path / "1x1.png", (200, 10, 10), size=(1, 1)),
            _image(tmp_path / "4x4.png", (10, 200, 10), size=(4, 4)),
            _image(tmp_path / "7x30.png", (10, 10, 200), size=(7, 30))]  # fmt: skip
    fine = _image(tmp_path / "8x8.png", (90, 90, 200), size=(8, 8))
    for image_size in ("model", (16, 16)):
        out = tmp_path / f"out-{image_size[0]}"
        rows = dataset.explain_dataset([*tiny, fine], functools.partial(Toy), out,
                                       client="serial", image_size=image_size, **SETTINGS)  # fmt: skip
        assert [r["status"] for r in rows] == ["failed", "failed", "failed", "done"]
        assert [r["error"] for r in rows[:3]] == [
            f"too small: {h} x {w} pixels; LIME needs at least 8 x 8 of real pixels, and an "
            "upsampled copy would only explain the interpolation. Fix: leave it out, or "
            "upsample it yourself if that is meant."
            for h, w in [(1, 1), (4, 4), (7, 30)]
        ]
        assert sorted(p.name for p in out.glob("*.npz")) == [rows[3]["file"]]


# ----- 5. two runs into one folder ------------------------------------------------------------
def test_5_a_second_run_into_a_busy_folder_is_refused_and_never_deletes_a_fresh_part(tmp_path):
    paths = _images(tmp_path / "images", 2)
    out = tmp_path / "out"
    out.mkdir()
    # Another process's save in progress (fresh), and a killed write's leftover (2 h old).
    fresh = out / ".0123456789abcdef.0123456789ab.part.npz"
    stale = out / ".fedcba9876543210.ba9876543210.part.npz"
    fresh.write_bytes(b"being written")
    stale.write_bytes(b"left by kill -9")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    _GATE.clear()
    first = threading.Thread(target=dataset.explain_dataset, daemon=True, args=(paths, gated_toy, out),
                             kwargs={"client": "serial", "image_size": None, **SETTINGS})  # fmt: skip
    first.start()
    try:
        deadline = time.monotonic() + 30
        while not (out / dataset.SUMMARY_NAME).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        summary = (out / dataset.SUMMARY_NAME).read_bytes()
        with pytest.raises(RuntimeError, match="Another explain_dataset run is writing") as refused:
            dataset.explain_dataset(paths[:1], functools.partial(Toy), out, client="serial",
                                    image_size=None, **SETTINGS)  # fmt: skip
        assert isinstance(refused.value, dataset.FolderInUseError)
        assert "pass another out_dir" in str(refused.value)
        assert (out / dataset.SUMMARY_NAME).read_bytes() == summary  # untouched
    finally:
        _GATE.set()
        first.join(60)
    assert not first.is_alive()
    assert [r["status"] for r in dataset.read_summary(out)] == ["done", "done"]
    assert fresh.read_bytes() == b"being written"  # never deleted by a starting run
    assert not stale.exists()  # old enough to be a killed write's: reaped
    assert sorted(p.name for p in out.glob(".*")) == [fresh.name]  # the lock is gone too
    # The folder is free again.
    rows = dataset.explain_dataset(paths, gated_toy, out, client="serial", image_size=None,
                                   **SETTINGS)  # fmt: skip
    assert [r["status"] for r in rows] == ["skipped", "skipped"]


# ----- 6. one crashing image ------------------------------------------------------------------
def test_6_a_worker_killed_by_one_image_fails_only_that_image(tmp_path):
    import dask
    import distributed

    crasher = _image(tmp_path / "images" / "crash.png", CRASH_COLOUR)
    innocent = _images(tmp_path / "images", 3)
    # Dask gives up on a task after one death, so that the test is quick; the innocent
    # images queued on the dying worker get the same KilledWorker as the crasher.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with dataset.local_cluster(1) as cluster, distributed.Client(cluster) as client:
            rows = dataset.explain_dataset([crasher, *innocent], crashing_toy, tmp_path / "out",
                                           client=client, image_size=None, **SETTINGS)  # fmt: skip
    assert [r["status"] for r in rows] == ["failed", "done", "done", "done"]
    assert "also with no other image beside it (KilledWorker)" in rows[0]["error"]
    assert all(r["error"] == "" for r in rows[1:])


# ----- 11. the dashboard ----------------------------------------------------------------------
def test_11_local_cluster_listens_on_this_machine_only():
    import distributed
    import psutil

    def listening(process):
        return [c.laddr for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN]

    with dataset.local_cluster(1) as cluster, distributed.Client(cluster):
        me = psutil.Process()
        sockets = listening(me) + [a for p in me.children(recursive=True) for a in listening(p)]
        dashboard_port = int(cluster.dashboard_link.split(":")[2].split("/")[0])
    assert dashboard_port in {a.port for a in sockets}  # the dashboard is on
    assert sockets and all(a.ip == "127.0.0.1" for a in sockets), sockets
    assert cluster.dashboard_link.startswith("http://127.0.0.1:")


# ----- 12. FIFOs and devices ------------------------------------------------------------------
def test_12_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "images" / "pipe.png"
    good = _images(tmp_path / "images", 1)[0]
    os.mkfifo(fifo)
    try:
        with pytest.raises(ValueError, match=r"pipe\.png is a FIFO \(named pipe\), not a regular"):
            _within(10, dataset.image_id, fifo)
        with pytest.raises(ValueError, match="/dev/zero is a device, not a regular file"):
            _within(10, dataset.image_id, "/dev/zero")
        listing = tmp_path / "images" / "list.txt"
        listing.write_text(f"pipe.png\n/dev/zero\n{good.name}\n", encoding="utf-8")
        rows = _within(60, functools.partial(
            dataset.explain_dataset, listing, functools.partial(Toy), tmp_path / "out",
            client="serial", image_size=None, **SETTINGS))  # fmt: skip
        assert [r["status"] for r in rows] == ["failed", "failed", "done"]
        assert rows[0]["error"].startswith("cannot read the file: ")
        assert "is a FIFO (named pipe), not a regular file" in rows[0]["error"]
        assert "/dev/zero is a device, not a regular file" in rows[1]["error"]
        with pytest.raises(ValueError, match="is a FIFO"):  # the manifest itself
            _within(10, dataset.read_image_list, fifo)
    finally:  # release a reader that old code left waiting on the FIFO
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


# ----- 18. manifests and arguments ------------------------------------------------------------
def test_18_manifests_are_read_exactly_as_documented(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    # A CSV saved by a spreadsheet: UTF-8 with a byte-order mark.
    (folder / "bom.csv").write_bytes("label,path\r\n1,a.png\r\n".encode("utf-8-sig"))
    assert dataset.read_image_list(folder / "bom.csv") == [folder / "a.png"]
    (folder / "bom-first.csv").write_bytes("path\nb.png\n".encode("utf-8-sig"))
    assert dataset.read_image_list(folder / "bom-first.csv") == [folder / "b.png"]
    # Text: lines end at \n (or \r\n) only; '#' starts a comment, './#' a name.
    (folder / "list.txt").write_text(
        "# photos\r\n  spaced.png\t\r\nline\u2028separator.png\n\n./#1.png\nnext\x85line.png\n",
        encoding="utf-8",
        newline="",
    )
    assert dataset.read_image_list(folder / "list.txt") == [
        folder / "spaced.png",
        folder / "line\u2028separator.png",
        folder / "#1.png",
        folder / "next\x85line.png",
    ]
    # Latin-1 text is not refused as "not a manifest": the message says what it is.
    (folder / "latin1.txt").write_bytes("a.png\ncaf\xe9.png\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: line 2 has the byte 0xe9") as latin:
        dataset.read_image_list(folder / "latin1.txt")
    assert "iconv -f latin1 -t utf-8" in str(latin.value)
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    with pytest.raises(ValueError, match="for one image, pass a list"):
        dataset.read_image_list(folder / "photo.png")


@pytest.mark.parametrize("image_size", [(0, 0), "ab", (224,), (16.5, 16), (True, 16), (4, 16),
                                        "Model", 224])  # fmt: skip
def test_18_a_bad_image_size_is_refused_before_anything_is_written(tmp_path, image_size):
    paths = _images(tmp_path / "images", 1)
    with pytest.raises(ValueError, match=r"image_size must be 'model', None or \(height, width\)"):
        dataset.explain_dataset(paths, functools.partial(Toy), tmp_path / "out",
                                client="serial", image_size=image_size, **SETTINGS)  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"num_samples": 1}, "num_samples must be at least 2"),
        ({"kernel_width": -1}, "kernel_width must be a positive number"),
        ({"surrogate": "nope"}, "Unknown surrogate 'nope'"),
        ({"recipe": "lime2"}, "Unknown recipe 'lime2'"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
    ],
)
def test_18_bad_explain_settings_fail_once_at_the_start_not_on_every_image(
    tmp_path, setting, message
):
    paths = _images(tmp_path / "images", 2)
    with pytest.raises(ValueError, match=message):
        dataset.explain_dataset(paths, functools.partial(Toy), tmp_path / "out",
                                client="serial", image_size=None, **{**SETTINGS, **setting})  # fmt: skip
    assert not (tmp_path / "out").exists()
