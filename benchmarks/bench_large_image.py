"""Benchmark: peak memory and time of one explanation of a 4000 x 3000 image, default settings.

Run: ``.venv/bin/python benchmarks/bench_large_image.py [--samples N] [--batch-size B]``.

A fresh process explains the tree frog enlarged to 4000 x 3000 (12 MP) with ``explain``'s
defaults (quickshift superpixels with lime's parameters, 1000 samples, batches of 32, the
segment-mean fill) and a cheap classifier (the mean colour), so that what is measured is
LIME's own cost, not a network's. It prints the warnings ``explain`` gives (the expected peak
and the fix), the time of each step, and the process's peak resident memory (``VmHWM``).
Then the same at the advised batch size, and with the image resized to 299 x 299 first.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import sys, time, warnings
    import numpy as np
    from helpers import data, images, segmentation
    from helpers.explain import explain
    height, width, n, batch = (int(v) for v in sys.argv[1:5])
    image = images.resize_image(data.tree_frog(), (height, width))
    def model(x):  # three "classes" from the mean colour: LIME's cost, not a network's
        return x.reshape(len(x), -1, 3).mean(axis=1) / 255.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        segments = segmentation.segment(image, random_state=0)
        segmented = time.perf_counter() - start
        explain(image, model, segments=segments, num_samples=n, batch_size=batch,
                random_state=0, progress=False)
        total = time.perf_counter() - start
    for w in caught:
        print("warning:", w.category.__name__, str(w.message)[:160])
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
    print(f"{width} x {height}, S = {segments.max() + 1}, batch {batch}: segmentation "
          f"{segmented:.1f} s, total {total:.1f} s, peak memory {peak:.0f} MiB")
    """
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--advised-batch-size", type=int, default=4)
    args = parser.parse_args(argv)
    runs = [
        (3000, 4000, args.batch_size),
        (3000, 4000, args.advised_batch_size),
        (299, 299, args.batch_size),
    ]
    for height, width, batch in runs:
        out = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(height), str(width), str(args.samples), str(batch)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(out.stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
