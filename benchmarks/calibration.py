"""Calibration of the weights' intervals and of the top-k stability, on real photos.

Run: ``.venv/bin/python benchmarks/calibration.py [--seeds R] [--images ...] [--quick]``
(about 5 minutes of model calls on two cores at the defaults: wrap it in the CPU lock).

With the int8 MobileNetV2 (LiteRT) at its 224 x 224 input, on three registry photos (the tree
frog, the cat and mouse, the dogs), each with quickshift superpixels (seed 0) and its top
class explained with lime's settings (fair coins, cosine kernel of width 0.25, ridge
alpha = 1):

1. a 10,000-sample reference (seed 10 000, which no run uses): the weights the intervals
   should hold;
2. for each seed 0..R-1, lime's 1000 samples, and their first 300 rows (exactly the samples
   of ``num_samples=300`` with that seed: fair coins are drawn row by row), each fitted;
3. for each N, the share of (superpixel, seed) pairs whose 90 % interval holds the
   reference's weight, for the sandwich variants HC0, HC1, HC3 (the one the fits carry,
   :func:`helpers.uncertainty.coef_covariance`) and a pairs bootstrap
   (:func:`helpers.uncertainty.bootstrap_covariance`, 200 resamples, seeded);
4. the top-5 stability (:meth:`helpers.explanation.Explanation.top_k_stability`, ``"set"``
   and ``"jaccard"``) against what happened: the share of seeds whose top 5 is the
   reference's, and their mean top-5 Jaccard with it;
5. the time of one ``intervals`` call (the fit carries its errors), one
   :func:`helpers.uncertainty.standard_errors` (computing them again) and one
   ``top_k_stability``;

6. the standard errors against the weights' actual standard deviation over the seeds;

with ``--design antithetic`` the runs draw antithetic pairs (the reference stays fair coins)
and HC3 is compared with ``hc3_pairs``, HC3 with each pair as one cluster
(:func:`helpers.uncertainty.coef_covariance` with ``clusters=np.arange(N) // 2``), which sees
the pairs' negative correlation;

then a verdict computed from the numbers against issue 22's target: HC3's 90 % intervals
cover the reference for >= 85 % of the (superpixel, seed) pairs on every image at N = 300
and N = 1000. Part of the miss is the reference's own sampling error (its variance is
N / 10,000 of the run's), which no interval around the run can absorb: with perfect errors,
coverage would be P(|Z| <= 1.645 / sqrt(1 + N / 10,000)): 0.893 at N = 300, 0.883 at 1000.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from statistics import NormalDist

import numpy as np
from bench_auto import K, reference_case

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LEVEL = 0.9
TARGET = 0.85
ESTIMATORS = ("hc0", "hc1", "hc3", "bootstrap")


def photos(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The registry photos measured, at ``size``."""
    from helpers import data

    return {
        "tree_frog": data.tree_frog(size),
        "cat_mouse": data.cat_mouse(size),
        "dogs": data.dogs(size),
    }


def covered(explanation, label: int, reference: np.ndarray, estimator: str, seed: int):
    """Per superpixel: does the 90 % interval of ``estimator`` hold the reference? And its se.

    ``"hc3_pairs"`` is HC3 with each antithetic pair as one cluster (rows 2i and 2i + 1).
    """
    from helpers import uncertainty

    fit = explanation.fits[label]
    args = (explanation.samples, explanation.predictions[:, label], explanation.kernel_weights)
    if estimator == "hc3":
        low, high = explanation.intervals(label, level=LEVEL)
        return (low <= reference) & (reference <= high), fit.coef_se
    if estimator == "bootstrap":
        cov = uncertainty.bootstrap_covariance(*args, fit, reps=200, random_state=seed)
    elif estimator == "hc3_pairs":
        pairs = np.arange(len(explanation.samples)) // 2
        cov = uncertainty.coef_covariance(*args, fit, clusters=pairs)
    else:
        cov = uncertainty.coef_covariance(*args, fit, estimator=estimator)
    se = np.sqrt(np.diag(cov)[1:])
    low, high = uncertainty.normal_intervals(fit.coef, se, LEVEL)
    return (low <= reference) & (reference <= high), se


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds per image (R)")
    parser.add_argument("--reference", type=int, default=10_000, help="reference samples")
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--images", nargs="*", help="a subset of the image names")
    parser.add_argument(
        "--design", choices=("bernoulli", "antithetic"), default="bernoulli",
        help="the runs' design (the reference is always fair coins); antithetic compares HC3 "
        "with HC3 over pairs (hc3_pairs)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="CI mode: one image, tiny sizes")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.reference, args.sizes, args.images = 2, 256, [64, 128], ["tree_frog"]
    sizes = sorted(args.sizes)
    estimators = ESTIMATORS if args.design == "bernoulli" else ("hc3", "hc3_pairs")

    from helpers import metrics, models, segmentation, uncertainty
    from helpers.explain import explain
    from helpers.fitting import fit_explanation

    model = models.load_model("mobilenet_v2")
    print(f"# calibration  seeds={args.seeds}  reference={args.reference}  N={sizes}  "
          f"level={LEVEL}  k={K}  design={args.design}")  # fmt: skip
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    print(f"# {model.description}, images at {model.input_size[0]} x {model.input_size[1]}")
    images = photos(model.input_size)
    names = args.images or list(images)
    cover: dict[tuple[str, int, str], list[np.ndarray]] = {}
    spread: dict[tuple[str, int, str], list[np.ndarray]] = {}  # weights ("coef") and se
    stab: dict[tuple[str, int], dict[str, list[float]]] = {}
    info, times = {}, {"intervals": [], "standard_errors": [], "top_k_stability": []}
    start_all = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        image = images[name]
        segments, label, class_name, p, common, ref_coef, ref_top = reference_case(
            model, image, args.reference
        )
        info[name] = (segmentation.num_superpixels(segments), class_name, p)
        for seed in range(args.seeds):
            big = explain(image, model, num_samples=sizes[-1], random_state=seed,
                          design=args.design, **common)  # fmt: skip
            for n in sizes:
                e = fit_explanation(image, segments, big.samples[:n], big.predictions[:n],
                                    [label])  # fmt: skip
                spread.setdefault((name, n, "coef"), []).append(e.coef[label])
                for estimator in estimators:
                    held, se = covered(e, label, ref_coef, estimator, seed)
                    cover.setdefault((name, n, estimator), []).append(held)
                    spread.setdefault((name, n, estimator), []).append(se)
                t = time.perf_counter()
                e.intervals(label, level=LEVEL)
                times["intervals"].append(time.perf_counter() - t)
                t = time.perf_counter()
                uncertainty.standard_errors(e.samples, e.predictions[:, label],
                                            e.kernel_weights, e.fits[label])  # fmt: skip
                times["standard_errors"].append(time.perf_counter() - t)
                t = time.perf_counter()
                p_set = e.top_k_stability(label, K)
                times["top_k_stability"].append(time.perf_counter() - t)
                row = stab.setdefault((name, n), {"set": [], "jac": [], "same": [], "j": []})
                row["set"].append(p_set)
                row["jac"].append(_jaccard_stability(e, label))
                row["same"].append(float(metrics.top_k(e.coef[label], K) == ref_top))
                row["j"].append(metrics.jaccard(metrics.top_k(e.coef[label], K), ref_top))
        S, class_name, p = info[name]
        print(f"# {name}: S={S}, {class_name} p={p:.2f}, {time.perf_counter() - start:.0f} s",
              flush=True)  # fmt: skip
    print(f"# total {time.perf_counter() - start_all:.0f} s")
    _print_coverage(cover, names, sizes, info, args.seeds, estimators)
    _print_spread(spread, names, sizes, estimators)
    _print_stability(stab, names, sizes)
    for what, values in times.items():
        print(f"time of one {what} call: median {1e3 * statistics.median(values):.1f} ms "
              f"(max {1e3 * max(values):.1f} ms, {len(values)} calls)")  # fmt: skip
    return 0


def _jaccard_stability(e, label: int) -> float:
    from helpers import uncertainty

    return uncertainty.top_k_stability(
        e.samples, e.predictions[:, label], e.kernel_weights, e.fits[label], K, measure="jaccard"
    )


def _print_spread(spread, names, sizes, estimators) -> None:
    """Each estimator's se against the weights' actual spread over the seeds (no reference)."""
    print("\n## standard errors / the weights' standard deviation over the seeds")
    print("(median over superpixels; below 1: the errors understate the run-to-run spread)")
    print("image        N      " + "".join(f"{e:>10s}" for e in estimators))
    for name in names:
        for n in sizes:
            sd = np.std(spread[(name, n, "coef")], axis=0, ddof=1)
            ratios = [np.median(np.mean(spread[(name, n, e)], axis=0) / sd) for e in estimators]
            print(f"{name:12s} {n:<6d} " + "".join(f"{r:10.2f}" for r in ratios))


def _print_coverage(cover, names, sizes, info, seeds, estimators) -> None:
    print("\n## 90 % intervals: share of (superpixel, seed) pairs holding the reference weight")
    print(f"({seeds} seeds; 'all' pools the images; target >= {TARGET:.2f} for HC3)")
    print(
        "image        S   class                 N      " + "".join(f"{e:>10s}" for e in estimators)
    )
    for name in [*names, "all"]:
        for n in sizes:
            values = []
            for estimator in estimators:
                parts = [np.concatenate(cover[(i, n, estimator)]) for i in
                         (names if name == "all" else [name])]  # fmt: skip
                values.append(float(np.mean(np.concatenate(parts))))
            S, cls, _ = info[name] if name != "all" else ("", "", 0)
            print(f"{name:12s} {S!s:3s} {cls[:20]:20s} {n:<6d} "
                  + "".join(f"{v:10.3f}" for v in values))  # fmt: skip
    ideal = {n: 2 * NormalDist().cdf(1.6448536 / np.sqrt(1 + n / 10_000)) - 1 for n in sizes}
    print("with exact errors, the reference's own noise leaves: "
          + ", ".join(f"N={n}: {v:.3f}" for n, v in ideal.items()))  # fmt: skip
    misses = [
        f"{name} N={n}: {np.mean(np.concatenate(cover[(name, n, 'hc3')])):.3f}"
        for name in names
        for n in sizes
        if np.mean(np.concatenate(cover[(name, n, "hc3")])) < TARGET
    ]
    print(
        "verdict HC3: "
        + (f"calibrated: >= {TARGET:.2f} on every image at every N" if not misses else
           f"NOT calibrated on {', '.join(misses)} (< {TARGET:.2f})")
    )  # fmt: skip
    for estimator in (e for e in estimators if e != "hc3"):
        gap = statistics.mean(
            np.mean(np.concatenate(cover[(i, n, estimator)]))
            - np.mean(np.concatenate(cover[(i, n, "hc3")]))
            for i in names
            for n in sizes
        )
        print(f"{estimator} vs hc3: {gap:+.3f} coverage on average over images and N")


def _print_stability(stab, names, sizes) -> None:
    print(f"\n## top-{K} stability against repeated runs (the reference's top {K})")
    print(
        "image        N      predicted P(set stays)  observed share same set  "
        "predicted E[Jaccard]  observed mean Jaccard"
    )
    for name in [*names, "all"]:
        for n in sizes:
            rows = [stab[(i, n)] for i in (names if name == "all" else [name])]
            get = lambda key, rows=rows: float(np.mean([v for r in rows for v in r[key]]))  # noqa: E731
            print(f"{name:12s} {n:<6d} {get('set'):>10.3f}{'':14s}{get('same'):>10.3f}{'':15s}"
                  f"{get('jac'):>10.3f}{'':12s}{get('j'):>10.3f}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
