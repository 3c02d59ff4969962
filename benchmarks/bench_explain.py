"""Benchmark: what an explanation costs beyond the model calls it needs.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_explain.py [--quick]``).

In one run, on the same 299 x 299 image, segments and samples, with the seeded untrained
InceptionV3 (speed does not depend on the weight values), it measures

(a) the floor: inference alone on the N perturbed images, through the compiled
    ``helpers.models.classifier_fn`` (images built beforehand, not timed);
(b) ``helpers.explain.explain`` end to end (perturbing, inference, kernel, surrogates);
(c) ``lime`` 0.2.0.1 ``explain_instance`` with its defaults (``batch_size=10``) and
    ``model.predict`` as the classifier, the way its tutorial calls it;

and prints medians over repeats, the ratios b/a and b/c, a warm prediction-cache re-run,
peak RSS, and the memory of ``explain`` at N = 1 000 vs 10 000 with a cheap classifier.

Then the same floor and end-to-end measurement for the real int8 MobileNetV2 (LiteRT), on the
frog at its 224 x 224 input size: (d) inference alone on the N perturbed images, (e)
``helpers.explain.explain``, and the ratio e/d.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import resource
import statistics
import tempfile
import time
import warnings

import numpy as np

from helpers.segmentation import num_superpixels

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _image(size: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize

    from helpers import data

    try:
        frog = data.load_image("red_eyed_tree_frog.jpg")
    except data.DataFileError:  # the benchmark's speed does not depend on the picture
        frog = np.random.default_rng(0).integers(0, 256, size=(600, 800, 3), dtype=np.uint8)
    out = resize(frog, size, order=1, anti_aliasing=True, preserve_range=True)
    return np.round(out).astype(np.uint8)


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="samples per explanation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="CI mode: N=64, one repeat")
    parser.add_argument("--skip-lime", action="store_true")
    parser.add_argument("--skip-inception", action="store_true", help="only MobileNetV2")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 64, 1

    print(f"# bench_explain  N={args.n}  repeats={args.repeats}  batch={args.batch_size}")
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    if not args.skip_inception:
        _inception(args)
    _mobilenet(args)
    return 0


def _interleaved(runs: dict, repeats: int) -> dict[str, list[float]]:
    """Time each function ``repeats`` times, interleaved (a, b, a, b, ...)."""
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeats):
        for key, fn in runs.items():
            times[key].append(_median_time(fn, 1)[0])
    return times


def _floor_and_explain(image: np.ndarray, model, args):
    """Segments, samples, the perturbed batches, and the two timed runs for ``model``.

    ``floor`` runs the model alone on the batches (built beforehand, not timed); ``ours``
    runs ``helpers.explain.explain`` end to end on the same segments and samples.
    """
    from helpers import explain as ex
    from helpers import perturbation, segmentation
    from helpers.fitting import ConstantPredictionWarning

    segments = segmentation.segment(image)
    samples = perturbation.draw_samples(args.n, num_superpixels(segments), np.random.default_rng(0))
    batches = list(
        perturbation.perturb_batches(image, segments, samples, batch_size=args.batch_size)
    )
    model(batches[0])  # warm up (and trace a Keras model once)

    def floor():
        for batch in batches:
            model(batch)

    def ours():
        with warnings.catch_warnings():  # low classes can be exactly 0 (8-bit outputs)
            warnings.simplefilter("ignore", ConstantPredictionWarning)
            ex.explain(image, model, segments=segments, samples=samples,
                       batch_size=args.batch_size, progress=False)  # fmt: skip

    return segments, samples, batches, floor, ours


def _mobilenet(args) -> None:
    from helpers import models
    from helpers.data import DataFileError

    try:
        model = models.load_model("mobilenet_v2")
    except DataFileError as exc:
        print(f"# MobileNetV2 skipped: {exc}")
        return
    image = _image((224, 224))
    _, samples, _, floor, ours = _floor_and_explain(image, model, args)
    print(
        f"# MobileNetV2 int8 (LiteRT, {model.num_workers} interpreter(s) x {model.num_threads} "
        f"thread(s)), image 224x224, S={samples.shape[1]}"
    )

    times = _interleaved({"d": floor, "e": ours}, args.repeats)
    d, e = (statistics.median(times[k]) for k in ("d", "e"))
    rounded = {key: [round(t, 3) for t in values] for key, values in times.items()}
    print(f"(d) floor: inference only       {d:8.2f} s  ({args.n / d:5.1f} img/s)  {rounded['d']}")
    print(f"(e) helpers.explain             {e:8.2f} s  ({args.n / e:5.1f} img/s)  {rounded['e']}")
    print(f"    e/d = {e / d:.3f}   (target <= 1.10)")


def _inception(args) -> None:
    from profiling import peak_rss_of_explain  # benchmarks/profiling.py

    from helpers import explain as ex
    from helpers import models, perturbation

    image = _image((299, 299))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", models.UntrainedWeightsWarning)
        model = models.load_inception_v3("untrained", random_state=0, batch_size=args.batch_size)
    # (a) the floor, inference only on images built beforehand; (b) helpers.explain end to end
    segments, samples, batches, floor, ours = _floor_and_explain(image, model, args)
    print(f"# InceptionV3 (untrained), image 299x299, quickshift superpixels S={samples.shape[1]}")

    # (c) lime with its defaults and model.predict.
    from keras.applications.inception_v3 import preprocess_input

    from helpers.reference import lime_explain_with_samples

    def lime_predict(images):
        return model.model.predict(preprocess_input(images.astype(np.float32)), verbose=0)

    def theirs():
        with contextlib.redirect_stderr(io.StringIO()):  # lime's per-sample tqdm bar
            lime_explain_with_samples(image, lime_predict, segments, samples, top_labels=5)

    def perturb_only():
        for _ in perturbation.perturb_batches(image, segments, samples, batch_size=args.batch_size):
            pass

    # Repeats are interleaved (a, b, c, a, b, c, ...) so drifts of the machine hit all alike.
    runs = {"a": floor, "b": ours} if args.skip_lime else {"a": floor, "b": ours, "c": theirs}
    times = _interleaved(runs, args.repeats)
    batches.clear()  # free the images before the next measurements
    med = {key: statistics.median(values) for key, values in times.items()}
    a, b = med["a"], med["b"]
    rounded = {key: [round(t, 2) for t in values] for key, values in times.items()}
    print(f"(a) floor: inference only       {a:8.2f} s  ({args.n / a:5.1f} img/s)  {rounded['a']}")
    print(f"(b) helpers.explain             {b:8.2f} s  ({args.n / b:5.1f} img/s)  {rounded['b']}")
    print(f"    b/a = {b / a:.3f}   (target <= 1.05)")
    if "c" in med:
        c = med["c"]
        print(
            f"(c) lime explain_instance       {c:8.2f} s  ({args.n / c:5.1f} img/s)  {rounded['c']}"
        )
        print(f"    b/c = {b / c:.3f}   (target <= 0.75)")
    p, _ = _median_time(perturb_only, args.repeats)
    print(f"perturbation alone (in b)       {p:8.2f} s  for {args.n} images")

    # Warm prediction cache.
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIME_TUTORIAL_CACHE"] = tmp
        ex.explain(image, model, segments=segments, samples=samples,
                   batch_size=args.batch_size, progress=False, cache=True)  # fmt: skip
        warm, _ = _median_time(
            lambda: ex.explain(image, model, segments=segments, samples=samples,
                               batch_size=args.batch_size, progress=False, cache=True),
            max(args.repeats, 1),
        )  # fmt: skip
    print(f"warm cache re-run               {warm:8.3f} s   (target <= 2 s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process        {peak:8.0f} MB")

    n_small, n_large = (200, 2000) if args.quick else (1000, 10000)
    small, large = peak_rss_of_explain(n_small), peak_rss_of_explain(n_large)
    print(
        f"memory, cheap classifier: N={n_small}: {small:.0f} MB, N={n_large}: {large:.0f} MB, "
        f"growth {large - small:.0f} MB (target <= 100 MB)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
