"""``explain(..., num_samples="auto")``: samples drawn in rounds until the top k is stable.

Belongs with ``notebooks/09_evaluating_explanations.ipynb``, whose stability section asks how
many samples an explanation needs; :func:`helpers.explain.explain` runs the rounds. Each round
draws new samples, asks the model about them only (the predictions of earlier rounds are
kept), and fits the surrogates again on every sample so far; sampling stops when, for every
label explained, the probability that its top ``k`` superpixels stay the same with more
samples (:func:`helpers.uncertainty.top_k_stability`; with ``measure="jaccard"``, their
expected Jaccard index with the large-sample top ``k``) reaches ``confidence``, or when
``max_samples`` are used.

The rounds (:func:`round_ends`) are fixed in advance: a first round of :data:`FIRST_ROUND`
samples, then the total doubles (128, 256, 512, ..., capped at ``max_samples``). Doubling
keeps the number of looks small (each look is a chance to stop on a fluke) and the rounds
even, so that antithetic pairs are never split. All the rounds continue *one* stream
(:func:`draw_rounds`): the samples of an "auto" run that stopped after ``N`` are the first
``N`` of that stream, exactly the samples of ``explain(..., num_samples=N, design=...)`` with
the same seed and design, and so the same weights ("bernoulli", "antithetic" and "sobol";
for "sobol" one scrambled Sobol sequence, whose every round but a capped last one ends on a
power of two).

Why :data:`AUTO_DESIGN` is ``"antithetic"`` (``benchmarks/README.md``, 'num_samples="auto"'):
against a 10,000-sample fair-coin reference, with MobileNetV2 on two registry photos over 8
seeds, antithetic pairs gave 0.5-0.75 times the squared error of lime's fair coins at N = 256
to 1024. Sobol did not hold up: on the tree frog its error at N = 1024 was 1.5 times the fair
coins' (thresholded at 1/2, a scrambled Sobol sequence is a fraction of a factorial design that
aliases interactions with single superpixels), and the sandwich standard errors the stop
relies on underestimated it there. For antithetic pairs those standard errors err on the safe
side (they ignore the pairs' negative correlation), so the stop comes late rather than early.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .explanation import Explanation
from .files import jsonable
from .fitting import _fit_explanation
from .perturbation import DESIGNS, _draw_samples
from .recipes import Settings
from .setting_checks import check_choice
from .uncertainty import top_k_stability
from .validation import check_random_state

__all__ = ["AUTO_DESIGN", "FIRST_ROUND", "draw_rounds", "round_ends"]

#: Samples in the first round of ``num_samples="auto"`` (row 0, the original, included).
FIRST_ROUND = 128
#: The design that replaces lime's fair coins (``"bernoulli"``) under ``num_samples="auto"``:
#: each row is still fair coins (each superpixel kept half the time), each odd row the
#: complement of the one before; less error against a fair-coin reference for the same calls
#: (measured, see the module docstring and ``benchmarks/bench_auto.py``).
AUTO_DESIGN = "antithetic"


def round_ends(max_samples: int, first_round: int = FIRST_ROUND) -> tuple[int, ...]:
    """The total samples after each round: ``first_round``, doubling, capped at ``max_samples``.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` does, for ``num_samples="auto"``).

    Parameters
    ----------
    max_samples
        The most samples used; the last round ends there. At least ``first_round``.
    first_round
        Samples of the first round.

    Returns
    -------
    tuple of int
        Increasing totals; the last is ``max_samples``.

    Raises
    ------
    ValueError
        If ``max_samples < first_round`` or ``first_round < 2``.

    Examples
    --------
    >>> round_ends(5000)
    (128, 256, 512, 1024, 2048, 4096, 5000)
    >>> round_ends(128), round_ends(300)
    ((128,), (128, 256, 300))
    """
    max_samples, first_round = int(max_samples), int(first_round)
    if first_round < 2 or max_samples < first_round:
        raise ValueError(
            f"Rounds need first_round >= 2 and max_samples >= first_round; got "
            f"first_round={first_round}, max_samples={max_samples}."
        )
    ends = [first_round]
    while 2 * ends[-1] < max_samples:
        ends.append(2 * ends[-1])
    if ends[-1] < max_samples:
        ends.append(max_samples)
    return tuple(ends)


def draw_rounds(
    num_superpixels: int,
    ends: Sequence[int],
    random_state: int | np.random.Generator | None,
    design: str = AUTO_DESIGN,
) -> Iterator[np.ndarray]:
    """The new samples of each round: ``ends[0]`` rows, then ``ends[i] - ends[i - 1]``.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` does, for ``num_samples="auto"``). Row 0 of the first
    round is the original (all ones). Every round continues the same stream: for
    ``"sobol"``, one scrambled Sobol sequence; for ``"bernoulli"`` and ``"antithetic"`` (with
    even ends: pairs are never split), the same Generator. So the rounds stacked are the samples
    :func:`helpers.perturbation.draw_samples` draws at once for ``ends[-1]``, bit for bit;
    ``"stratified"`` (and the other recipes' designs) draw each round on its own.

    Parameters
    ----------
    num_superpixels
        S, the columns.
    ends
        Increasing totals after each round (:func:`round_ends`).
    random_state
        Seed or Generator (:func:`helpers.validation.check_random_state`).
    design
        One of :data:`helpers.perturbation.DESIGNS`.

    Yields
    ------
    numpy.ndarray
        ``(n_i, S)`` uint8 0/1 rows, the new samples of round ``i``.

    Raises
    ------
    ValueError
        For an unknown design or ends that do not increase from at least 1.

    Examples
    --------
    >>> from helpers.perturbation import draw_samples
    >>> rounds = list(draw_rounds(6, (4, 8, 16), random_state=0))
    >>> [len(r) for r in rounds], rounds[0][0].tolist()
    ([4, 4, 8], [1, 1, 1, 1, 1, 1])
    >>> bool((np.concatenate(rounds) == draw_samples(16, 6, 0, design="antithetic")).all())
    True
    """
    rng, _ = check_random_state(random_state)
    check_choice(design, DESIGNS, "design")
    ends = [int(e) for e in ends]
    if not ends or ends[0] < 1 or any(b <= a for a, b in itertools.pairwise(ends)):
        raise ValueError(f"Round ends must increase from at least 1, got {ends}.")
    yield from _draw_rounds(int(num_superpixels), ends, rng, design)


def _draw_rounds(S: int, ends: Sequence[int], rng: np.random.Generator, design: str):
    """:func:`draw_rounds` for checked input."""
    if design == "sobol":
        from scipy.stats import qmc

        engine = qmc.Sobol(d=S, scramble=True, seed=rng)  # as _draw_samples makes it

    start = 0
    for end in ends:
        n = end - start
        if design == "sobol":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2
                new = (engine.random(n) < 0.5).astype(np.uint8)
            if start == 0:
                new[0] = 1
        else:
            new = _draw_samples(n, S, rng, design, keep_original=start == 0)
        yield new
        start = end


def _explain_until_stable(
    image: np.ndarray,
    segments: np.ndarray,
    rng: np.random.Generator,
    settings: Settings,
    predict: Callable[[np.ndarray], np.ndarray],
    choose_labels: Callable[[np.ndarray], list[int]],
    params: dict[str, Any],
    hidden: np.ndarray,
    *,
    max_samples: int,
    confidence: float,
    k: int,
    measure: str = "set",
) -> Explanation:
    """The rounds of ``num_samples="auto"`` for checked input; see the module docstring.

    ``predict(samples)`` asks the model about new samples only; ``choose_labels(scores)``
    picks the labels from the original's scores (row 0, known after the first round).
    """
    S = int(segments.max()) + 1
    if k >= S:
        raise ValueError(
            f"k={k}: the top {k} of {S} superpixels is always the same set, so it cannot "
            f"tell when to stop. Fix: k below {S} (the default is 5), or a finer segmentation."
        )
    if settings.num_features is not None and k > settings.num_features:
        raise ValueError(
            f"k={k} is more than num_features={settings.num_features}, the superpixels the "
            f"surrogate keeps, so its top {k} includes weights that are 0 by construction. "
            f"Fix: k <= {settings.num_features}, or a larger num_features."
        )
    ends = round_ends(max_samples)
    samples = np.empty((0, S), np.uint8)
    predictions = None
    labels: list[int] = []
    stability: list[float] = []
    stopped = "max_samples"
    for new in _draw_rounds(S, ends, rng, settings.design):
        scores = predict(new)  # the new rows only: no sample is shown to the model twice
        samples = np.concatenate([samples, new])
        predictions = scores if predictions is None else np.concatenate([predictions, scores])
        if not labels:
            labels = choose_labels(predictions[0])
        with warnings.catch_warnings(record=True) as caught:  # warn once, for the last fit
            warnings.simplefilter("always")
            explanation = _fit_explanation(
                image, segments, samples, predictions, labels, settings, params, hidden
            )
        stability.append(min(_stability(explanation, label, k, measure) for label in labels))
        if stability[-1] >= confidence:
            stopped = "stable"
            break
    for warning in caught:
        warnings.warn(warning.message, stacklevel=3)
    record = {
        "max_samples": max_samples,
        "confidence": confidence,
        "k": k,
        "measure": measure,
        "rounds": list(ends[: len(stability)]),
        "stability": stability,
        "stopped": stopped,
    }
    return dataclasses.replace(
        explanation, params={**explanation.params, "auto_samples": jsonable(record)}
    )


def _stability(explanation: Explanation, label: int, k: int, measure: str) -> float:
    """The top-k stability of one label's fit; 1 for a constant score (all weights stay 0)."""
    target = explanation.predictions[:, label]
    if np.ptp(target) == 0.0:  # warned about (ConstantPredictionWarning); nothing can move
        return 1.0
    stability = top_k_stability(
        explanation.samples, target, explanation.kernel_weights, explanation.fits[label], k,
        surrogate=explanation.params["surrogate"], measure=measure,
    )  # fmt: skip
    return 0.0 if np.isnan(stability) else float(stability)  # nan: too few samples to tell
