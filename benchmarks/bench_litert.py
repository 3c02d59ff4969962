"""Benchmark: the fastest correct way to run a batch through the int8 MobileNetV2 on this CPU.

Run: ``.venv/bin/python benchmarks/bench_litert.py [--n N] [--repeats R]``.

The LiteRT graphs take one image at a time, so a "batch" is a loop. In one run, on the same
N perturbed frog images, it times (medians over interleaved repeats, images per second):

- one interpreter, 1 thread: the plain loop at batch 1;
- one interpreter, 2 threads: LiteRT splits each image's work across the cores (the default);
- two interpreters, 1 thread each: the batch is split in two halves run side by side;

each on images already at 224 x 224, and on 299 x 299 images that must be resized, where the
resize either happens inside each worker (overlapping the other worker's inference) or for
the whole batch before inference. Every variant's output is checked equal to the plain loop's.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from helpers.segmentation import num_superpixels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="images per timed call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="CI mode: N=16, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 16, 1

    from helpers import data, models, perturbation, segmentation
    from helpers.classifiers import _resize_batch

    print(f"# bench_litert  N={args.n}  repeats={args.repeats}")
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    frog = data.load_image("red_eyed_tree_frog.jpg", size=(299, 299))
    segments = segmentation.segment(frog, random_state=0)
    samples = perturbation.draw_samples(args.n, num_superpixels(segments), np.random.default_rng(0))
    big = perturbation.perturb(frog, segments, samples)  # (N, 299, 299, 3)
    small = _resize_batch(big, (224, 224))

    variants = {
        "1 interpreter x 1 thread": models.load_litert("mobilenet_v2", num_threads=1),
        "1 interpreter x 2 threads": models.load_litert(
            "mobilenet_v2", num_workers=1, num_threads=2
        ),
        "2 interpreters x 1 thread": models.load_litert(
            "mobilenet_v2", num_workers=2, num_threads=1
        ),
    }
    reference = variants["1 interpreter x 1 thread"](small)
    calls = {}
    for name, model in variants.items():
        assert np.array_equal(model(small), reference), name
        assert np.array_equal(model(big), variants["1 interpreter x 1 thread"](big)), name
        calls[f"{name}, 224 input"] = lambda m=model: m(small)
        calls[f"{name}, 299 input, resize in the workers"] = lambda m=model: m(big)
    two = variants["2 interpreters x 1 thread"]
    calls["2 interpreters x 1 thread, 299 input, resize first"] = lambda: two(
        _resize_batch(big, (224, 224))
    )
    calls["resize alone (299 -> 224, PIL bilinear)"] = lambda: _resize_batch(big, (224, 224))

    times: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(args.repeats):  # interleaved, so drifts of the machine hit all alike
        for key, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    base = statistics.median(times["1 interpreter x 1 thread, 224 input"])
    for key, values in times.items():
        t = statistics.median(values)
        print(f"{key:58s} {args.n / t:7.1f} img/s   x{base / t:4.2f} vs the plain loop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
