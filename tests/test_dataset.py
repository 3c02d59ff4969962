"""explain_dataset: identical files serially and on Dask, resuming after a kill, bad files,
the summary table (helpers.dataset, notebook 10)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import dataset
from helpers.explanation import Explanation

# Small and fast: MobileNetV2 (int8, the same bits whatever the threads) on 50 samples of a
# 4 x 4 grid; about 0.1 s per image.
SETTINGS = {
    "num_samples": 50,
    "segmentation": "grid",
    "segmentation_params": {"n_rows": 4},
    "top_labels": 1,
    "progress": False,
}


def _write_images(folder: Path, n: int, *, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        image = np.full((40, 48, 3), rng.integers(0, 256, 3), np.uint8)
        image[8:30, 10:36] = rng.integers(0, 256, 3)
        image[rng.integers(0, 40, 60), rng.integers(0, 48, 60)] = 255
        path = folder / f"image_{i:02d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def _explanations(out: Path) -> list[Path]:
    """The finished explanations (pathlib's glob also matches the hidden temporary files)."""
    return sorted(p for p in out.glob("*.npz") if not p.name.startswith("."))


def _npz_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in [*_explanations(out), out / dataset.SUMMARY_NAME]}


def test_serial_and_two_dask_workers_write_identical_files(offline_data, tmp_path):
    import distributed

    paths = _write_images(tmp_path / "images", 6)
    serial = dataset.explain_dataset(
        paths, "mobilenet_v2", tmp_path / "serial", client="serial", **SETTINGS
    )
    with dataset.local_cluster(2) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            parallel = dataset.explain_dataset(
                paths, "mobilenet_v2", tmp_path / "dask", client=client, **SETTINGS
            )
        explained_on = {t["worker"] for t in stream.data if t["key"].startswith("lime-explain")}
        assert len(explained_on) == 2  # both workers took images
        # The model was built once per worker and freed at the end of the call.
        kept = client.run(lambda: len(sys.modules["helpers.cluster"]._WORKER_OBJECTS))
        assert kept == dict.fromkeys(client.scheduler_info()["workers"], 0)
    assert [r["status"] for r in serial] == ["done"] * 6
    files = _npz_bytes(tmp_path / "serial")
    assert len(files) == 7  # six explanations and the summary
    assert files == _npz_bytes(tmp_path / "dask")
    assert serial == parallel == dataset.read_summary(tmp_path / "dask")
    # client=None: a LocalCluster sized for this machine, started and closed by the call.
    dataset.explain_dataset(paths, "mobilenet_v2", tmp_path / "local", **SETTINGS)
    assert files == _npz_bytes(tmp_path / "local")


def test_seeds_come_from_the_image_ids_not_from_the_order(offline_data, tmp_path):
    paths = _write_images(tmp_path / "images", 4)
    forward = dataset.explain_dataset(paths, "mobilenet_v2", tmp_path / "a", client="serial",
                                      **SETTINGS)  # fmt: skip
    backward = dataset.explain_dataset(paths[::-1], "mobilenet_v2", tmp_path / "b",
                                       client="serial", **SETTINGS)  # fmt: skip
    assert backward == forward[::-1]
    a, b = _npz_bytes(tmp_path / "a"), _npz_bytes(tmp_path / "b")
    a.pop("summary.csv"), b.pop("summary.csv")
    assert a == b
    for row, path in zip(forward, paths, strict=True):
        assert row["image_id"] == dataset.image_id(path)
        assert row["seed"] == dataset.image_seed(0, row["image_id"])
        e = Explanation.load(tmp_path / "a" / row["file"])
        assert e.params["random_state"] == row["seed"]
        assert e.params["dataset"]["image_id"] == row["image_id"]
    other = dataset.explain_dataset(paths[:1], "mobilenet_v2", tmp_path / "c", client="serial",
                                    random_state=1, **SETTINGS)  # fmt: skip
    assert other[0]["seed"] != forward[0]["seed"]


def test_bad_files_are_recorded_as_failed_and_the_others_go_on(offline_data, tmp_path):
    good = _write_images(tmp_path / "images", 3)
    not_image = tmp_path / "images" / "notes.jpg"
    not_image.write_text("this is not a picture\n")
    truncated = tmp_path / "images" / "truncated.png"
    truncated.write_bytes(good[0].read_bytes()[:300])
    tiny = tmp_path / "images" / "tiny.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tiny)
    missing = tmp_path / "images" / "missing.png"
    paths = [good[0], not_image, good[1], truncated, missing, tiny, good[2]]
    rows = dataset.explain_dataset(
        paths, "mobilenet_v2", tmp_path / "out", client="serial", image_size=None, **SETTINGS
    )
    status = {Path(r["path"]).name: (r["status"], r["error"]) for r in rows}
    assert [status[p.name][0] for p in good] == ["done"] * 3
    assert status["notes.jpg"] == (
        "failed",
        "not an image: PIL cannot identify the file's format (22 bytes)",
    )
    assert status["truncated.png"][0] == "failed"
    assert status["truncated.png"][1].startswith("truncated or damaged image")
    assert status["missing.png"][0] == "failed"
    assert "cannot read the file: FileNotFoundError" in status["missing.png"][1]
    assert status["tiny.png"][0] == "failed" and "at least 8 x 8" in status["tiny.png"][1]
    assert [p.name for p in _explanations(tmp_path / "out")] == sorted(
        f"{dataset.image_id(p)}.npz" for p in good
    )
    # A re-run keeps the good ones and tries the failed ones again.
    again = dataset.explain_dataset(
        paths, "mobilenet_v2", tmp_path / "out", client="serial", image_size=None, **SETTINGS
    )
    assert [r["status"] for r in again] == [
        "skipped" if r["status"] == "done" else "failed" for r in rows
    ]


def test_summary_table_contents(offline_data, tmp_path):
    paths = _write_images(tmp_path / "images", 3)
    copy = tmp_path / "images" / "copy_of_0.png"
    copy.write_bytes(paths[0].read_bytes())
    rows = dataset.explain_dataset(
        [*paths, copy], "mobilenet_v2", tmp_path / "out", client="serial", **SETTINGS
    )
    with open(tmp_path / "out" / dataset.SUMMARY_NAME, newline="") as f:
        header = next(csv.reader(f))
    assert tuple(header) == dataset.SUMMARY_COLUMNS
    assert rows == dataset.read_summary(tmp_path / "out")
    assert [r["path"] for r in rows] == [str(p) for p in [*paths, copy]]
    # Two files with the same bytes: one id, one explanation, two rows.
    assert rows[3] == {**rows[0], "path": str(copy)}
    assert len(_explanations(tmp_path / "out")) == 3
    from helpers.imagenet import imagenet_class_names

    names = imagenet_class_names()
    for row in rows:
        e = Explanation.load(tmp_path / "out" / row["file"])
        p0 = e.predictions[0]
        assert row["status"] == "done" and row["error"] == ""
        assert row["file"] == f"{row['image_id']}.npz"
        assert row["label"] == e.labels[0] == row["top_labels"][0] == int(np.argmax(p0))
        assert row["class_name"] == names[row["label"]] == row["top_names"][0]
        assert row["probability"] == p0[row["label"]] == row["top_probabilities"][0]
        assert row["score"] == e.score[row["label"]]
        assert len(row["top_labels"]) == 5
        assert row["top_probabilities"] == sorted(row["top_probabilities"], reverse=True)
        assert e.image.shape == (224, 224, 3)  # image_size="model": MobileNetV2's input
    # Other settings into the same folder: nothing is taken from the first request.
    redone = dataset.explain_dataset(paths, "mobilenet_v2", tmp_path / "out", client="serial",
                                     **{**SETTINGS, "num_samples": 60})  # fmt: skip
    assert [r["status"] for r in redone] == ["done"] * 3


_RUN = """
import sys, time
from helpers.dataset import explain_dataset
from helpers.models import load_model


def slow_mobilenet():
    model = load_model("mobilenet_v2")

    def predict(images):
        time.sleep(0.1)  # so the run can be killed in the middle
        return model(images)

    predict.fingerprint = "slow:" + model.fingerprint()  # so that the run can resume
    return predict


if __name__ == "__main__":
    explain_dataset(sys.argv[1], slow_mobilenet, sys.argv[2], client="serial",
                    num_samples=50, segmentation="grid", segmentation_params={"n_rows": 4},
                    top_labels=1, progress=False)
"""


def test_a_killed_run_resumes_each_image_once(offline_data, tmp_path):
    paths = _write_images(tmp_path / "images", 10)
    manifest = tmp_path / "images.txt"
    manifest.write_text("# the dataset\n" + "\n".join(p.name for p in paths) + "\n")
    (tmp_path / "images.txt").rename(tmp_path / "images" / "images.txt")
    manifest = tmp_path / "images" / "images.txt"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(_RUN))
    out = tmp_path / "out"
    command = [sys.executable, str(script), str(manifest), str(out)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while len(_explanations(out)) < 3 and time.monotonic() < deadline:
        assert run.poll() is None, run.stdout.read().decode()
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    before = {p.name: p.stat().st_mtime_ns for p in _explanations(out)}
    assert 3 <= len(before) < len(paths), "the run was not killed in the middle"
    for name in before:  # whatever a kill leaves, a file that is there is whole
        Explanation.load(out / name)
    summary = dataset.read_summary(out)  # valid, and says what is not done yet
    assert {r["status"] for r in summary} <= {"done", "pending"}
    # A half-written file (a writer without atomic_path, a full disk) and a stale temporary
    # (old enough to be a killed write's: younger ones may be another process's, and stay).
    victim = sorted(before)[0]
    (out / victim).write_bytes((out / victim).read_bytes()[:1000])
    stale = out / f".{Path(victim).stem}.0123456789ab.part.npz"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = dataset.read_summary(out)
    status = {r["file"]: r["status"] for r in rows}
    assert all(status[name] == "skipped" for name in before if name != victim)
    assert status[victim] == "done"
    assert sum(s == "done" for s in status.values()) == len(paths) - len(before) + 1
    after = {p.name: p.stat().st_mtime_ns for p in _explanations(out)}
    assert sorted(after) == sorted(f"{dataset.image_id(p)}.npz" for p in paths)
    assert all(after[name] == before[name] for name in before if name != victim)
    # No stale temporary and no lock is left; only the killed write itself, if the kill came
    # in the middle of a save, may leave a fresh .part (it could be another process's).
    assert all(p.name.endswith(".part.npz") and p.stat().st_mtime > time.time() - 600
               for p in out.glob(".*")), list(out.glob(".*"))  # fmt: skip
    for name in after:
        Explanation.load(out / name)


_INTERRUPT_AT = [0]
_CALLS = [0]


def interrupting_mobilenet():
    """A model that raises KeyboardInterrupt (a Ctrl-C) on call number ``_INTERRUPT_AT``."""
    from helpers.models import load_model

    model = load_model("mobilenet_v2")

    def predict(images):
        _CALLS[0] += 1
        if _CALLS[0] == _INTERRUPT_AT[0]:
            raise KeyboardInterrupt
        return model(images)

    predict.fingerprint = model.fingerprint()  # the same outputs as the model's
    return predict


def test_ctrl_c_leaves_a_valid_summary_and_the_run_resumes(offline_data, tmp_path):
    paths = _write_images(tmp_path / "images", 5)
    _CALLS[0], _INTERRUPT_AT[0] = 0, 5  # two calls per image (50 samples, batches of 32)
    with pytest.raises(KeyboardInterrupt):
        dataset.explain_dataset(paths, interrupting_mobilenet, tmp_path / "out",
                                client="serial", **SETTINGS)  # fmt: skip
    summary = dataset.read_summary(tmp_path / "out")
    assert [r["status"] for r in summary] == ["done", "done", "pending", "pending", "pending"]
    _INTERRUPT_AT[0] = -1
    rows = dataset.explain_dataset(paths, interrupting_mobilenet, tmp_path / "out",
                                   client="serial", **SETTINGS)  # fmt: skip
    assert [r["status"] for r in rows] == ["skipped", "skipped", "done", "done", "done"]


def test_manifests_list_paths_relative_to_themselves(tmp_path):
    paths = _write_images(tmp_path / "data", 2)
    (tmp_path / "data" / "list.txt").write_text("\n# comment\nimage_00.png\n  image_01.png \n")
    (tmp_path / "data" / "list.csv").write_text("label,path\n1,image_00.png\n0,image_01.png\n")
    assert dataset.read_image_list(tmp_path / "data" / "list.txt") == paths
    assert dataset.read_image_list(str(tmp_path / "data" / "list.csv")) == paths
    (tmp_path / "data" / "bad.csv").write_text("file\nimage_00.png\n")
    with pytest.raises(ValueError, match="no 'path' column"):
        dataset.read_image_list(tmp_path / "data" / "bad.csv")
    with pytest.raises(ValueError, match="for one image, pass a list"):
        dataset.read_image_list(paths[0])


def test_a_loaded_model_or_a_missing_dask_is_refused_with_the_fix(offline_data, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    from helpers.models import load_model

    paths = _write_images(tmp_path / "images", 1)
    with pytest.raises(TypeError, match="not a loaded model"):
        dataset.explain_dataset(paths, load_model("mobilenet_v2"), tmp_path, client="serial")
    with pytest.raises(TypeError, match="needs arguments"):
        dataset.explain_dataset(paths, lambda images: images, tmp_path, client="serial")
    with pytest.raises(TypeError, match="sets \\['segments'\\] itself"):
        dataset.explain_dataset(paths, "mobilenet_v2", tmp_path, segments=np.zeros((2, 2)))
    with pytest.raises(TypeError, match="int random_state"):
        dataset.explain_dataset(paths, "mobilenet_v2", tmp_path, random_state=None)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    with pytest.raises(ImportError, match=r'pip install -e "\.\[scale\]"'):
        dataset.explain_dataset(paths, "mobilenet_v2", tmp_path)
    assert os.listdir(tmp_path) == ["images"]  # refused before writing anything


def test_the_benchmark_runs_in_quick_mode(offline_data):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dataset.py"
    run = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("serial", "1 worker", "2 workers"):
        assert re.search(rf"^{name} +[\d.]+ s +[\d.]+ images/min", run.stdout, re.M), run.stdout
    assert "identical files in all three runs: True" in run.stdout
