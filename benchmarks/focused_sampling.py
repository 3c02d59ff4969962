"""Benchmark: focused sampling (BayesLIME) against antithetic pairs and lime's fair coins.

Run: ``.venv/bin/python benchmarks/focused_sampling.py [--seeds R] [--quick]
[--images NAME ...]`` (the full run takes about twelve minutes on two cores: wrap it in the
CPU lock).

Issue 22, item 4: draw the next round where the surrogate is least certain, and keep it only
if it saves model calls at equal agreement with the reference. The protocol is
``bench_auto.py``'s, whose images, reference run and prefix refits are imported from it:
the int8 MobileNetV2 at its input size, quickshift superpixels (seed 0), the top class
explained, a 10,000-sample fair-coin reference (seed 10 000), top 5 = the five largest
signed weights (:func:`helpers.metrics.top_k`), compared by Jaccard index
(:func:`helpers.metrics.jaccard`).

What is compared, per image and seed, at N = 128, 256, 512, 1024 (the rounds of
``num_samples="auto"``):

- **fair coins** (lime's ``"bernoulli"``): the first N rows of one 1024-row draw, which are
  the samples of ``num_samples=N``; lime's **fixed 1000** is the first 1000 of them;
- **antithetic** (what "auto" draws): the first N rows of one 1024-row antithetic draw;
- **focused**: the first round is antithetic's first 128 samples (so the same predictions);
  before each later round (totals doubling), a pool of ``--pool`` times the round's size of
  fair-coin rows is drawn (seeded by the run's seed and the round), each candidate ``z`` is
  scored by the current surrogate's predictive variance ``x' S x`` with ``x = (1, z)`` and
  ``S`` the HC3 covariance of the intercept and weights
  (:func:`helpers.uncertainty.coef_covariance`), and only the highest-scoring candidates go
  to the model; the surrogate is then refitted on every sample so far, with lime's kernel
  weights (:func:`helpers.fitting.fit_explanation`);
- **focused x kernel**: the same, the score multiplied by the candidate's kernel weight (a
  sample with little weight barely moves the weighted fit, however uncertain it is there).

BayesLIME (Slack et al., NeurIPS 2021) scores candidates from the sampling distribution by
the predictive variance of its Bayesian linear surrogate and draws the batch with
probabilities proportional to ``exp(variance / temperature)``; at the small temperatures it
uses that is close to taking the top scores, which is what is done here, deterministically.
The risk: the fitted weights depend on where the samples are, so focusing can move them away
from the fair-coin reference. The Jaccard index against that reference measures exactly that.

The verdict is computed: the smallest N at which each design's mean top-5 Jaccard (over
images and seeds) reaches the fixed 1000's, and whether focused sampling gets there with
fewer calls than antithetic pairs ("pays").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from bench_auto import REFERENCE_SEED, K, _prefix, photos, reference_case

#: The five images of ``bench_auto.py``'s issue-22 runs (``benchmarks/README.md``).
IMAGES = ("tree_frog", "cat_mouse", "dogs", "figure4_guitar", "dogs_right_tabby")
#: Mixed into the pool's seed, so no pool repeats a draw of the compared designs.
POOL_SALT = 224
DESIGNS = ("focused", "focused x kernel", "antithetic", "fair coins")


def focused_rounds(explanation, label, ends, predict, *, seed, pool=10, kernel=False):
    """Continue ``explanation`` (fitted on its first ``ends[0]`` samples) round by round.

    Before each round, ``pool`` times the round's size of fair-coin candidates are drawn
    (seeded by ``seed`` and the round's end) and scored by the current fit's predictive
    variance ``x' S x`` (``x`` = 1 then the candidate's row, ``S`` the HC3 covariance of
    the intercept and weights), times the candidate's kernel weight when ``kernel``; the
    highest-scoring ones (ties: the earlier drawn) are predicted by ``predict(rows)`` and
    the surrogate is refitted on every sample. Returns ``{end: explanation}`` for every end
    and the share of superpixels kept in each round's chosen rows.
    """
    from helpers.fitting import fit_explanation, sample_weights
    from helpers.uncertainty import coef_covariance

    e = explanation
    S = e.samples.shape[1]
    settings = e.settings
    fits, kept = {ends[0]: e}, {}
    for end in ends[1:]:
        n = end - len(e.samples)
        rng = np.random.default_rng([POOL_SALT, seed, end])
        candidates = rng.integers(0, 2, size=(pool * n, S), dtype=np.uint8)
        cov = coef_covariance(
            e.samples, e.predictions[:, label], e.kernel_weights, e.fits[label],
            surrogate=settings.surrogate,
        )  # fmt: skip
        x = np.hstack([np.ones((len(candidates), 1)), candidates])
        score = np.einsum("ij,jk,ik->i", x, cov, x)
        if kernel:
            _, weights = sample_weights(
                candidates, distance=settings.distance, kernel=settings.kernel,
                kernel_width=settings.kernel_width, image=e.image, segments=e.segments,
                hide_color=settings.hide_color,
            )  # fmt: skip
            score = score * weights
        chosen = candidates[np.argsort(-score, kind="stable")[:n]]
        kept[end] = float(chosen.mean())
        samples = np.concatenate([e.samples, chosen])
        predictions = np.concatenate([e.predictions, predict(chosen)])
        e = fit_explanation(
            e.image, e.segments, samples, predictions, [label], settings=settings,
            params=e.params,
        )  # fmt: skip
        fits[end] = e
    return fits, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per image (R)")
    parser.add_argument("--reference", type=int, default=10_000, help="fair-coin samples")
    parser.add_argument("--fixed", type=int, default=1000, help="lime's fixed num_samples")
    parser.add_argument("--pool", type=int, default=10, help="candidates per focused sample")
    parser.add_argument("--images", nargs="*", help="image names (default: the five)")
    parser.add_argument("--quick", action="store_true", help="CI mode: one image, tiny sizes")
    args = parser.parse_args(argv)
    sizes = (128, 256, 512, 1024)
    if args.quick:
        args.seeds, args.reference, args.fixed, args.pool = 1, 256, 128, 4
        args.images, sizes = ["tree_frog"], (64, 128)
    if args.fixed > sizes[-1]:
        parser.error(f"--fixed must be at most {sizes[-1]} (a prefix of the fair coins)")

    from helpers import metrics, models, segmentation
    from helpers.explain import explain
    from helpers.prediction import predict_samples

    model = models.load_model("mobilenet_v2")
    print(
        f"# focused_sampling  seeds={args.seeds}  reference={args.reference} fair-coin "
        f"samples (seed {REFERENCE_SEED})  fixed={args.fixed}  pool={args.pool} x round  k={K}"
    )
    print(f"# {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}")
    print(f"# {model.description}, images at {model.input_size[0]} x {model.input_size[1]}")
    images = photos(model.input_size)
    names = args.images or list(IMAGES)
    rows = []  # one per (image, seed): Jaccard per design and N, the fixed's, kept shares
    start_all = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        image = images[name]
        case = reference_case(model, image, args.reference)
        label, common = case.label, case.common
        S = segmentation.num_superpixels(case.segments)

        def agreement(e, label=label, ref_top=case.ref_top):
            return metrics.jaccard(metrics.top_k(e.coef[label], K), ref_top)

        for seed in range(args.seeds):
            fair = explain(image, model, num_samples=sizes[-1], design="bernoulli",
                           random_state=seed, **common)  # fmt: skip
            anti = explain(image, model, num_samples=sizes[-1], design="antithetic",
                           random_state=seed, **common)  # fmt: skip
            row = {"image": name, "seed": seed, "fixed": agreement(_prefix(fair, args.fixed))}
            for n in sizes:
                row[("fair coins", n)] = agreement(_prefix(fair, n))
                row[("antithetic", n)] = agreement(_prefix(anti, n))
            first = _prefix(anti, sizes[0])

            def predict(new, image=image, segments=case.segments, hide=anti.settings.hide_color):
                return predict_samples(image, segments, new, model, hide_color=hide,
                                       progress=False, cache=False)  # fmt: skip

            for design, kernel in (("focused", False), ("focused x kernel", True)):
                fits, kept = focused_rounds(first, label, sizes, predict, seed=seed,
                                            pool=args.pool, kernel=kernel)  # fmt: skip
                for n in sizes:
                    row[(design, n)] = agreement(fits[n])
                row[(design, "kept")] = kept
            rows.append(row)
        print(f"# {name}: S={S}, label {label} {case.class_name} p={case.p:.2f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    print(f"# total {time.perf_counter() - start_all:.0f} s")
    _report(rows, names, sizes, args.fixed)
    return 0


def _report(rows, names, sizes, fixed) -> None:
    def mean(design, n, image=None):
        return statistics.mean(r[(design, n)] for r in rows if image in (None, r["image"]))

    fixed_mean = statistics.mean(r["fixed"] for r in rows)
    columns = "".join(f"N={n:<6d}" for n in sizes)
    print("\n## Top-5 Jaccard against the fair-coin reference (mean over seeds)")
    print(f"design            image              {columns}")
    for design in DESIGNS:
        for name in [*names, "all"]:
            image = None if name == "all" else name
            values = "".join(f"{mean(design, n, image):<8.2f}" for n in sizes)
            print(f"{design:17s} {name:18s} {values}")
    for name in [*names, "all"]:
        mine = [r["fixed"] for r in rows if name in ("all", r["image"])]
        print(f"fixed {fixed:<11d} {name:18s} {statistics.mean(mine):.2f}")
    print("\nsuperpixels kept in the rows focused sampling chose (fair coins: 0.50), mean:")
    for design in DESIGNS[:2]:
        kept = "  ".join(
            f"N={n} {statistics.mean(r[(design, 'kept')][n] for r in rows):.2f}" for n in sizes[1:]
        )
        print(f"  {design:17s} {kept}")
    print("\nfocused - antithetic, paired over images x seeds (mean, se):")
    for design in DESIGNS[:2]:
        parts = []
        for n in sizes[1:]:
            diff = np.array([r[(design, n)] - r[("antithetic", n)] for r in rows])
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            parts.append(f"N={n} {diff.mean():+.3f} ({se:.3f})")
        print(f"  {design:17s} " + "  ".join(parts))

    def reaches(design):
        return next((n for n in sizes if mean(design, n) >= fixed_mean), None)

    print(f"\nmean top-5 Jaccard of lime's fixed {fixed} fair coins: {fixed_mean:.3f}")
    at = {d: reaches(d) for d in DESIGNS}
    for design in DESIGNS:
        where = f"reaches it at N = {at[design]}" if at[design] else f"not by N = {sizes[-1]}"
        print(f"  {design}: {where}")
    anti = at["antithetic"]
    for design in DESIGNS[:2]:
        mine = at[design]
        if mine is not None and (anti is None or mine < anti):
            verdict = f"PAYS: {mine} calls vs " + (
                f"{anti} for antithetic" if anti else f"more than {sizes[-1]} for antithetic"
            )
        elif mine is None:
            verdict = (
                f"does NOT pay: it does not reach the fixed {fixed}'s agreement by "
                f"N = {sizes[-1]}"
                + (f" (antithetic does at {anti})" if anti else " (nor does antithetic)")
            )
        else:
            verdict = f"does NOT pay: {mine} calls, antithetic {anti}"
        print(f"verdict {design}: {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
