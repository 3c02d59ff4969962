"""Benchmark: images per minute of ``helpers.dataset.explain_dataset``, serially and on Dask.

Run: ``.venv/bin/python benchmarks/bench_dataset.py [--n N] [--samples S] [--quick]``.

The images are the registry's four photos (tree frog, dogs, cat and mouse, the paper's dog with
a guitar), whole and cropped to each corner, each also mirrored: up to 40 distinct files,
resized to the model's input as ``explain_dataset`` does by default. Every image gets lime's
defaults (quickshift, 1000 samples) for its top label (the int8 model's fifth class is often
exactly 0 on every sample, which explains nothing). Three runs, each into a fresh folder:

serial
    ``client="serial"``: one process, the model on its default threads (one per core).
1 worker
    a ``LocalCluster`` with one single-threaded worker; its model gets both cores.
2 workers
    ``helpers.dataset.local_cluster()`` on 2 cores: two workers, one model thread each.

Cluster start-up is timed apart; each run's time includes building the model on every worker.
The files of the three runs are compared byte for byte. ``--quick`` (4 images, 50 samples) is
what ``tests/test_dataset.py`` runs to keep the script working; its rates mean nothing.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _photos(folder: Path, n: int) -> list[Path]:
    from PIL import Image

    from helpers import data, paper

    photos = {
        "tree_frog": data.tree_frog(),
        "dogs": data.dogs(),
        "cat_mouse": data.cat_mouse(),
        "dog_with_guitar": paper.figure4_input(),
    }
    views = []
    for corner in (None, (0, 0), (0, 1), (1, 0), (1, 1)):
        for mirrored in (False, True):
            for name, photo in photos.items():
                h, w = photo.shape[:2]
                if corner is not None:
                    ch, cw = 3 * h // 4, 3 * w // 4
                    y, x = corner[0] * (h - ch), corner[1] * (w - cw)
                    photo = photo[y : y + ch, x : x + cw]
                if mirrored:
                    photo = photo[:, ::-1]
                views.append((f"{name}_{corner}_{mirrored}", np.ascontiguousarray(photo)))
    if n > len(views):
        raise SystemExit(f"--n at most {len(views)} (the distinct views of the four photos)")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (_, pixels) in enumerate(views[:n]):
        path = folder / f"image_{i:02d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def _loadavg() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="images (at most 40)")
    parser.add_argument("--samples", type=int, default=1000, help="LIME samples per image")
    parser.add_argument("--model", default="mobilenet_v2", help="a helpers.models name")
    parser.add_argument("--quick", action="store_true", help="CI mode: 4 images, 50 samples")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.samples = 4, 50

    from distributed import Client

    from helpers import dataset

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_dataset  model={args.model}  images={args.n}  samples={args.samples}")
    print(f"# {platform.platform()}  cores={cores}  python {platform.python_version()}")
    print(f"# load average before: {_loadavg()}")
    settings = {"num_samples": args.samples, "top_labels": 1, "progress": False}
    root = Path(tempfile.mkdtemp(prefix="bench_dataset-"))
    try:
        paths = _photos(root / "images", args.n)
        results = {}
        runs = (("serial", None), ("1 worker", 1), ("2 workers", 2))
        for name, workers in runs:
            out = root / name.replace(" ", "_")
            if workers is None:
                start = time.perf_counter()
                rows = dataset.explain_dataset(paths, args.model, out, client="serial", **settings)
                seconds, startup = time.perf_counter() - start, 0.0
            else:
                start = time.perf_counter()
                with dataset.local_cluster(workers) as cluster, Client(cluster) as client:
                    client.wait_for_workers(workers)
                    startup = time.perf_counter() - start
                    start = time.perf_counter()
                    rows = dataset.explain_dataset(
                        paths, args.model, out, client=client, **settings
                    )
                    seconds = time.perf_counter() - start
            assert all(row["status"] == "done" for row in rows), rows
            results[name] = seconds
            per_minute = 60.0 * args.n / seconds
            print(
                f"{name:10s} {seconds:7.1f} s  {per_minute:6.1f} images/min  "
                f"{seconds / args.n:5.2f} s/image  (cluster start {startup:.1f} s)"
            )
        files = sorted(p.name for p in (root / "serial").glob("[!.]*"))
        same = all(
            filecmp.cmp(root / "serial" / f, root / other / f, shallow=False)
            for other in ("1_worker", "2_workers")
            for f in files
        )
        sizes = [(root / "serial" / f).stat().st_size for f in files if f.endswith(".npz")]
        print(f"identical files in all three runs: {same}")
        print(f"explanation file: {np.mean(sizes) / 1e6:.2f} MB on average")
        print(f"speed-up 2 workers / serial = {results['serial'] / results['2 workers']:.2f}")
        print(f"# load average after: {_loadavg()}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
