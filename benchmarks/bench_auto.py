"""Benchmark: ``num_samples="auto"`` against lime's fixed 1000 samples, on real photos.

Run: ``.venv/bin/python benchmarks/bench_auto.py [--seeds R] [--quick] [--skip-designs]
[--skip-auto] [--images NAME ...]``
(the full run takes about half an hour on two cores: wrap it in the CPU lock).

In one run, with the int8 MobileNetV2 (LiteRT) at its 224 x 224 input, on six images made
from the registry's four photos (the tree frog, the cat and mouse, the dogs, the paper's
Figure 4 dog with a guitar, and two crops: the dogs photo's right half, a tabby cat, and the
cat-and-mouse photo's left half, which MobileNetV2 calls a guinea pig), each with its own
quickshift superpixels (seed 0) and its top class explained:

1. **designs at equal calls**: the top-5 Jaccard against a 10,000-sample fair-coin reference
   of the four designs that keep each superpixel half the time, at N = 128 ... 1024, over R
   seeds (the first N rows of one draw: exactly the samples of ``num_samples=N``, except
   ``"stratified"``, drawn at each N);
2. **auto vs fixed**: per image and seed, the model calls ``num_samples="auto"`` used, why it
   stopped, the top-5 Jaccard against the reference for "auto" and for lime's 1000 fair coins,
   and the 90 % interval coverage of the reference's weights
   (``Explanation.intervals(label, 0.9)``) for both;

then verdicts computed from the numbers against the goal of issue 22: the same top-5
agreement with the reference as lime's 1000 samples, with at most 1/3 of the calls on the
median image. The reference uses seed 10 000, which no run uses. Top 5 = the five largest
signed weights (:func:`helpers.metrics.top_k`), as in notebook 09.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from typing import NamedTuple

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The seed of every reference run (no compared run uses it).
REFERENCE_SEED = 10_000
K = 5
LEVEL = 0.9


def photos(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The six benchmark images at ``size``: four registry photos and two crops of them."""
    from helpers import data, images, paper

    dogs, cat_mouse = data.dogs(), data.cat_mouse()
    return {
        "tree_frog": data.tree_frog(size),
        "cat_mouse": data.cat_mouse(size),
        "dogs": data.dogs(size),
        "figure4_guitar": images.resize_image(paper.figure4_input(), size),
        "dogs_right_tabby": images.resize_image(dogs[:, dogs.shape[1] // 2 :], size),
        "cat_mouse_left": images.resize_image(cat_mouse[:, : cat_mouse.shape[1] // 2], size),
    }


class Case(NamedTuple):
    """One benchmark image: its superpixels, top class and 10,000-sample reference weights."""

    segments: np.ndarray
    label: int
    class_name: str
    p: float
    common: dict  # explain's keywords shared by every run on this image
    ref_coef: np.ndarray
    ref_top: frozenset


def reference_case(model, image: np.ndarray, num_samples: int) -> Case:
    """Quickshift superpixels (seed 0), the top class, and the fair-coin reference run.

    Shared by ``bench_auto.py``, ``calibration.py`` and ``focused_sampling.py``: the reference
    has ``num_samples`` samples and seed :data:`REFERENCE_SEED`, which no compared run uses.
    """
    from helpers import metrics, segmentation
    from helpers.explain import explain

    segments = segmentation.segment(image, random_state=0)
    label, class_name, p = model.top(image, k=1)[0]
    common = {"segments": segments, "labels": [label], "progress": False, "cache": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = explain(image, model, num_samples=num_samples, random_state=REFERENCE_SEED,
                      **common)  # fmt: skip
    ref_coef = ref.coef[label]
    return Case(segments, label, class_name, float(p), common, ref_coef, metrics.top_k(ref_coef, K))


def _coverage(explanation, label: int, reference: np.ndarray) -> float:
    """Share of superpixels whose 90 % interval holds the reference weight (nan: no intervals)."""
    intervals = getattr(explanation, "intervals", None)
    if intervals is None:
        return float("nan")
    low, high = intervals(label, level=LEVEL)
    return float(np.mean((low <= reference) & (reference <= high)))


#: Confidences of the softer rule replayed on each "auto" run: expected top-5 Jaccard >= c.
SOFT = (0.8, 0.9)


#: The rules replayed with HC3 over antithetic pairs (``clusters``): (measure, confidence).
PAIRED = (("set", 0.95), ("jaccard", 0.9), ("jaccard", 0.8))


def _replayed_rules(auto, label: int, agreement) -> dict[str, float]:
    """Where other stopping rules would have stopped the same run, and their agreement.

    The rules: "expected top-k Jaccard >= c" for c in :data:`SOFT` (keys ``calls_c``,
    ``j_c``), never stricter than the whole set's (an expected Jaccard is at least the
    probability that the set stays); and the rules of :data:`PAIRED` with standard errors that
    count each antithetic pair (rows 2i, 2i + 1) as one draw, which sees the pairs' negative
    correlation (``benchmarks/README.md``, calibration with ``--design antithetic``; keys
    ``pcalls_m_c``, ``pj_m_c``, and ``plate_m_c``, 1 when the rule had not stopped by the
    run's last round, where it is reported). The rounds are prefixes of one stream, so
    refitting the run's first N samples (once per round, for every rule) replays them
    exactly, with no model call.
    """
    from helpers.uncertainty import top_k_stability

    rules = {f"{c}": ("jaccard", c, False) for c in SOFT}
    rules |= {f"{m}_{c}": (m, c, True) for m, c in PAIRED}
    out: dict[str, float] = {}
    rounds = auto.params["auto_samples"]["rounds"]
    for end in rounds:
        e = _prefix(auto, end)
        data = (e.samples, e.predictions[:, label], e.kernel_weights, e.fits[label], K)
        for key, (measure, c, paired) in rules.items():
            calls_key = f"pcalls_{key}" if paired else f"calls_{key}"
            if calls_key in out:  # this rule stopped at an earlier round
                continue
            stability = top_k_stability(
                *data, surrogate=e.params["surrogate"], measure=measure,
                clusters=np.arange(end) // 2 if paired else None,
            )  # fmt: skip
            if stability >= c or end == rounds[-1]:
                out[calls_key] = end
                out[f"pj_{key}" if paired else f"j_{key}"] = agreement(e.coef[label])
                if paired:
                    out[f"plate_{key}"] = float(stability < c)  # not stopped by the run's end
    return out


def _replayed(rows, names, calls_key: str, j_key: str, j_fixed: np.ndarray, fixed: int) -> str:
    """'median image N calls (per image); Jaccard J, +d vs fixed' for one replayed rule."""
    per_image = {n: statistics.median(r[calls_key] for r in rows if r["image"] == n) for n in names}
    j = np.array([r[j_key] for r in rows])
    return (
        f"median image {statistics.median(per_image.values()):.0f} calls ("
        + ", ".join(f"{n} {calls:.0f}" for n, calls in per_image.items())
        + f"); Jaccard {j.mean():.3f}, {j.mean() - j_fixed.mean():+.3f} vs fixed {fixed}"
    )


def _prefix(explanation, n: int):
    """The explanation fitted on its first ``n`` samples (no model call)."""
    from helpers.fitting import fit_explanation

    e = explanation
    return fit_explanation(
        e.image, e.segments, e.samples[:n], e.predictions[:n], list(e.labels),
        settings=e.settings, params=e.params,
    )  # fmt: skip


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(values[~np.isnan(values)].mean()) if (~np.isnan(values)).any() else float("nan")


def _fmt(values, spec=".2f") -> str:
    return "  ".join("  n/a" if np.isnan(v) else format(v, spec) for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds per image (R)")
    parser.add_argument("--reference", type=int, default=10_000, help="fair-coin samples")
    parser.add_argument("--fixed", type=int, default=1000, help="lime's fixed num_samples")
    parser.add_argument("--max-samples", type=int, default=5000)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--images", nargs="*", help="a subset of the image names")
    parser.add_argument("--skip-designs", action="store_true", help="only auto vs fixed")
    parser.add_argument("--skip-auto", action="store_true", help="only the designs")
    parser.add_argument("--quick", action="store_true", help="CI mode: one image, tiny sizes")
    args = parser.parse_args(argv)
    sizes = (128, 256, 512, 1024)
    if args.quick:
        args.seeds, args.reference, args.fixed, args.max_samples = 1, 256, 128, 128
        args.images, sizes = ["tree_frog"], (64, 128)

    from helpers import metrics, models, segmentation
    from helpers.explain import explain
    from helpers.perturbation import HALF_DESIGNS, draw_samples
    from helpers.uncertainty import standard_errors

    model = models.load_model("mobilenet_v2")
    print(
        f"# bench_auto  seeds={args.seeds}  reference={args.reference} fair-coin samples  "
        f"fixed={args.fixed}  auto: max_samples={args.max_samples} "
        f"confidence={args.confidence} k={K}"
    )
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    print(f"# {model.description}, images at {model.input_size[0]} x {model.input_size[1]}")
    seeds = range(args.seeds)
    images = photos(model.input_size)
    names = args.images or list(images)
    designs: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    rows = []
    start_all = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        image = images[name]
        segments, label, class_name, p, common, ref_coef, ref_top = reference_case(
            model, image, args.reference
        )
        S = segmentation.num_superpixels(segments)

        def agreement(coef, ref_top=ref_top):
            return metrics.jaccard(metrics.top_k(coef, K), ref_top)

        # 1. designs at equal calls
        if not args.skip_designs:
            for design in HALF_DESIGNS:
                for seed in seeds:
                    if design != "stratified":
                        big = explain(image, model, num_samples=sizes[-1], design=design,
                                      random_state=seed, **common)  # fmt: skip
                    for n in sizes:
                        if design == "stratified":
                            z = draw_samples(n, S, seed, design=design)
                            e = explain(image, model, samples=z, random_state=seed, **common)
                        else:
                            from helpers.fitting import fit_explanation

                            e = fit_explanation(image, segments, big.samples[:n],
                                                big.predictions[:n], [label])  # fmt: skip
                        se, _ = standard_errors(
                            e.samples, e.predictions[:, label], e.kernel_weights,
                            e.fits[label], surrogate=e.params["surrogate"],
                        )  # fmt: skip
                        designs.setdefault((name, design, n), []).append(
                            (
                                agreement(e.coef[label]),
                                float(np.mean((e.coef[label] - ref_coef) ** 2)),
                                float(np.mean(se**2)),
                            )
                        )
        # 2. auto vs fixed
        for seed in [] if args.skip_auto else seeds:
            fixed = explain(image, model, num_samples=args.fixed, random_state=seed, **common)
            auto = explain(
                image, model, num_samples="auto", max_samples=args.max_samples,
                confidence=args.confidence, k=K, random_state=seed, **common,
            )  # fmt: skip
            record = auto.params["auto_samples"]
            rows.append(
                {
                    "image": name,
                    "seed": seed,
                    "S": S,
                    "class": class_name,
                    "p": float(p),
                    "calls": auto.params["num_samples"],
                    "stopped": record["stopped"],
                    "stability": record["stability"][-1],
                    "j_auto": agreement(auto.coef[label]),
                    "j_fixed": agreement(fixed.coef[label]),
                    "cover_auto": _coverage(auto, label, ref_coef),
                    "cover_fixed": _coverage(fixed, label, ref_coef),
                    **_replayed_rules(auto, label, agreement),
                }
            )
        print(f"# {name}: S={S}, label {label} {class_name} p={p:.2f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    print(f"# total {time.perf_counter() - start_all:.0f} s")
    if designs:
        _print_designs(designs, names, sizes)
    if rows:
        _print_auto(rows, names, args)
    return 0


def _print_designs(designs, names, sizes) -> None:
    from helpers.perturbation import HALF_DESIGNS

    def mean(i, d, n, field):
        return statistics.mean(row[field] for row in designs[(i, d, n)])

    def overall(d, n, field):
        return statistics.mean(mean(i, d, n, field) for i in names)

    columns = "".join(f"N={n:<6d}" for n in sizes)
    print("\n## 1. Designs at equal calls, against the fair-coin reference (mean over seeds)")
    print("(a) top-5 Jaccard; 'all' = mean over images")
    print(f"design      image              {columns}")
    for design in HALF_DESIGNS:
        for name in [*names, "all"]:
            values = [
                overall(design, n, 0) if name == "all" else mean(name, design, n, 0) for n in sizes
            ]
            print(f"{design:11s} {name:18s} " + "".join(f"{v:<8.2f}" for v in values))
    print("(b) squared error of the weights against the reference, relative to fair coins")
    print(f"design      image              {columns}")
    for design in HALF_DESIGNS:
        for name in [*names, "all"]:
            values = [
                overall(design, n, 1) / overall("bernoulli", n, 1)
                if name == "all"
                else mean(name, design, n, 1) / mean(name, "bernoulli", n, 1)
                for n in sizes
            ]
            print(f"{design:11s} {name:18s} " + "".join(f"{v:<8.2f}" for v in values))
    print("(c) sandwich standard error / actual error (sqrt of mean se^2 / mean squared error;")
    print("    below 1: the stop would trust the weights more than they deserve)")
    print(f"design      image              {columns}")
    for design in HALF_DESIGNS:
        for name in [*names, "all"]:
            values = [
                np.sqrt(overall(design, n, 2) / overall(design, n, 1))
                if name == "all"
                else np.sqrt(mean(name, design, n, 2) / mean(name, design, n, 1))
                for n in sizes
            ]
            print(f"{design:11s} {name:18s} " + "".join(f"{v:<8.2f}" for v in values))
    for design in HALF_DESIGNS[1:]:
        ratios = [mean(i, design, n, 1) / mean(i, "bernoulli", n, 1) for i in names for n in sizes]
        honest = [
            np.sqrt(mean(i, design, n, 2) / mean(i, design, n, 1)) for i in names for n in sizes
        ]
        print(
            f"verdict {design}: squared error {min(ratios):.2f}-{max(ratios):.2f} x the fair "
            f"coins' (images x N); sandwich se / error {min(honest):.2f}-{max(honest):.2f}"
            + (" (never below 0.9: a safe stop)" if min(honest) >= 0.9 else
               " (below 0.9 somewhere: the stop can come too early)")
        )  # fmt: skip


def _print_auto(rows, names, args) -> None:
    budget = args.fixed / 3
    print(f"\n## 2. num_samples='auto' vs lime's fixed {args.fixed} (fair coins)")
    print(
        "image              S   class (p)                  calls: median [min-max]  "
        "stopped (stable/max)  J auto  J fixed  cover90 auto  cover90 fixed"
    )
    per_image = {}
    for name in names:
        mine = [r for r in rows if r["image"] == name]
        calls = [r["calls"] for r in mine]
        stable = sum(r["stopped"] == "stable" for r in mine)
        stats = {
            "calls": statistics.median(calls),
            "j_auto": statistics.mean(r["j_auto"] for r in mine),
            "j_fixed": statistics.mean(r["j_fixed"] for r in mine),
            "cover_auto": _nanmean([r["cover_auto"] for r in mine]),
            "cover_fixed": _nanmean([r["cover_fixed"] for r in mine]),
        }
        per_image[name] = stats
        first = mine[0]
        label = f"{first['class']} ({first['p']:.2f})"
        print(
            f"{name:18s} {first['S']:<3d} {label:26s} "
            f"{stats['calls']:>6.0f} [{min(calls)}-{max(calls)}]{'':12s}"
            f"{stable}/{len(mine) - stable}{'':17s}"
            f"{stats['j_auto']:.2f}    {stats['j_fixed']:.2f}     "
            + _fmt([stats["cover_auto"]])
            + "          "
            + _fmt([stats["cover_fixed"]])
        )
    median_calls = statistics.median(s["calls"] for s in per_image.values())
    j_auto = np.array([r["j_auto"] for r in rows])
    j_fixed = np.array([r["j_fixed"] for r in rows])
    diff = j_auto - j_fixed
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    cover_auto = _nanmean([r["cover_auto"] for r in rows])
    cover_fixed = _nanmean([r["cover_fixed"] for r in rows])
    print(
        f"median image: {median_calls:.0f} calls by 'auto' = {median_calls / args.fixed:.2f} of "
        f"the fixed {args.fixed} (goal <= {budget:.0f}, 1/3)"
    )
    print(
        f"top-5 Jaccard vs reference, mean over images and seeds: auto {j_auto.mean():.3f}, "
        f"fixed {args.fixed} {j_fixed.mean():.3f}, difference {diff.mean():+.3f} (se {se:.3f})"
    )
    for c in SOFT:
        print(f"replayed, expected top-5 Jaccard >= {c}: "
              + _replayed(rows, names, f"calls_{c}", f"j_{c}", j_fixed, args.fixed))  # fmt: skip
    for measure, c in PAIRED:
        key = f"{measure}_{c}"
        late = int(sum(r[f"plate_{key}"] for r in rows))
        print(f"replayed, se over antithetic pairs, {measure} >= {c}: "
              + _replayed(rows, names, f"pcalls_{key}", f"pj_{key}", j_fixed, args.fixed)
              + f"; not stopped by the run's end: {late} of {len(rows)}")  # fmt: skip
    print(f"90 % interval coverage of the reference weights: auto {_fmt([cover_auto])}, "
          f"fixed {_fmt([cover_fixed])}")  # fmt: skip
    calls_ok = median_calls <= budget
    same = diff.mean() >= -2 * se if np.isfinite(se) else diff.mean() >= 0
    print(
        "verdict calls: "
        + (f"met ({median_calls:.0f} <= {budget:.0f})" if calls_ok else
           f"NOT met: {median_calls:.0f} calls on the median image, {median_calls - budget:.0f} "
           f"more than 1/3 of {args.fixed}")
    )  # fmt: skip
    print(
        "verdict agreement: "
        + (f"met (auto {diff.mean():+.3f} vs fixed, within 2 se or better)" if same else
           f"NOT met: auto agrees {-diff.mean():.3f} less with the reference than the fixed "
           f"{args.fixed} (more than 2 se = {2 * se:.3f})")
    )  # fmt: skip
    short = [n for n, s in per_image.items() if s["j_auto"] < s["j_fixed"] - 0.05]
    print(
        f"images where auto agrees less than the fixed {args.fixed} by > 0.05: "
        + (", ".join(f"{n} ({per_image[n]['j_auto']:.2f} vs {per_image[n]['j_fixed']:.2f}, "
                     f"{per_image[n]['calls']:.0f} calls)" for n in short) or "none")
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
