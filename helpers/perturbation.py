"""Step 2 of LIME: 0/1 samples over superpixels and the perturbed images they stand for.

Introduced in ``notebooks/02_perturbation.ipynb``. A sample ``z`` in ``{0, 1}^S`` keeps
superpixel ``j`` when ``z[j] == 1`` and replaces it by the *hidden image* when ``z[j] == 0``.
Perturbed images are built for a whole batch at once (no Python loop over samples or
superpixels), and :func:`perturb_batches` streams them so memory is bounded by one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .segmentation import num_superpixels, relabel
from .setting_checks import check_choice, check_hide_color
from .validation import check_batch_size, check_random_state, check_samples

__all__ = [
    "DESIGNS",
    "HALF_DESIGNS",
    "KEEP_RATE_SCALE",
    "draw_samples",
    "hidden_image",
    "perturb",
    "perturb_batches",
]


#: Designs that keep each superpixel with probability 1/2, as lime does (notebook 09 compares
#: their stability per model call).
HALF_DESIGNS = ("bernoulli", "antithetic", "stratified", "sobol")
#: Every design: the above, the paper's ``"uniform_count"`` and the MATLAB ``"keep_rate"``.
DESIGNS = (*HALF_DESIGNS, "uniform_count", "keep_rate")

#: MATLAB recipe: superpixel ``j`` of a sample is kept when ``u_j > KEEP_RATE_SCALE * r``,
#: with one ``r ~ U(0, 1)`` per sample and ``u_j ~ U(0, 1)``, so it is kept with probability
#: ``1 - 0.8 r``: between 0.2 and 1, 0.6 on average.
KEEP_RATE_SCALE = 0.8


def draw_samples(
    num_samples: int,
    num_superpixels: int,
    random_state: int | np.random.Generator | None,
    *,
    keep_original: bool = True,
    design: str = "bernoulli",
) -> np.ndarray:
    """Draw ``num_samples`` 0/1 samples over ``num_superpixels`` superpixels.

    Introduced in ``notebooks/02_perturbation.ipynb``; the designs other than lime's are
    compared in ``notebooks/09_evaluating_explanations.ipynb``.

    Parameters
    ----------
    num_samples
        N, the number of rows (row 0 included).
    num_superpixels
        S, the number of columns (:func:`helpers.segmentation.num_superpixels`).
    random_state
        Seed or Generator (:func:`helpers.validation.check_random_state`); ``None`` draws a
        fresh seed.
    keep_original
        Make row 0 all ones, the original image, as lime does.
    design
        ``"bernoulli"`` (lime's: independent fair coins, the default);
        ``"antithetic"``: half the rows are Bernoulli, the other half their complements
        ``1 - z``; ``"stratified"``: the number of kept superpixels follows the quantiles of
        Binomial(S, 1/2) evenly, each row a random subset of that size; ``"sobol"``: a
        scrambled Sobol sequence thresholded at 1/2 (balanced columns). These four keep each
        superpixel with probability 1/2. Two designs follow other recipes
        (``notebooks/07_paper_figures.ipynb``): ``"uniform_count"``, the paper's, draws the
        number of kept superpixels uniformly from 1..S, then that many superpixels uniformly;
        ``"keep_rate"``, the MATLAB write-up's, draws one rate ``r ~ U(0, 1)`` per sample and
        keeps each superpixel when a uniform number exceeds ``KEEP_RATE_SCALE * r``.

    Returns
    -------
    numpy.ndarray
        ``(num_samples, num_superpixels)`` uint8 array of 0/1. Row 0 is all ones (the original
        image) when ``keep_original``, as in lime.

    Raises
    ------
    ValueError
        For an unknown ``design``, or a size below 1.

    Examples
    --------
    >>> z = draw_samples(6, 4, random_state=0)
    >>> z.shape, z.dtype, z[0].tolist()
    ((6, 4), dtype('uint8'), [1, 1, 1, 1])
    >>> a = draw_samples(6, 4, random_state=0, design="antithetic")
    >>> bool((a[0::2] + a[1::2] == 1).all())  # each odd row complements the row before it
    True
    """
    rng, _ = check_random_state(random_state)
    n, S = int(num_samples), int(num_superpixels)
    if n < 1 or S < 1:
        raise ValueError(
            f"num_samples and num_superpixels must be positive, got {num_samples}, "
            f"{num_superpixels}."
        )
    return _draw_samples(n, S, rng, check_choice(design, DESIGNS, "design"), keep_original)


def _draw_samples(
    n: int, S: int, rng: np.random.Generator, design: str, keep_original: bool = True
) -> np.ndarray:
    """:func:`draw_samples` for checked input: ``n, S >= 1``, a Generator, a known design."""
    if design == "bernoulli":
        samples = rng.integers(0, 2, size=(n, S), dtype=np.uint8)
    elif design == "antithetic":
        half = rng.integers(0, 2, size=(-(-n // 2), S), dtype=np.uint8)
        if keep_original:
            half[0] = 1
        samples = np.empty((2 * len(half), S), np.uint8)
        samples[0::2], samples[1::2] = half, 1 - half
        samples = samples[:n]
    elif design == "stratified":
        from scipy.stats import binom

        u = (np.arange(n) + rng.uniform(size=n)) / n
        counts = binom.ppf(u, S, 0.5).astype(np.int64)
        order = rng.permuted(np.tile(np.arange(S), (n, 1)), axis=1)
        samples = (np.argsort(order, axis=1) < counts[:, None]).astype(np.uint8)
        samples = samples[rng.permutation(n)]
    elif design == "sobol":
        import warnings

        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2
            points = qmc.Sobol(d=S, scramble=True, seed=rng).random(n)
        samples = (points < 0.5).astype(np.uint8)
    elif design == "uniform_count":
        counts = rng.integers(1, S + 1, size=n)
        order = rng.permuted(np.tile(np.arange(S), (n, 1)), axis=1)
        samples = (np.argsort(order, axis=1) < counts[:, None]).astype(np.uint8)
    elif design == "keep_rate":
        rates = rng.uniform(size=(n, 1))
        samples = (rng.uniform(size=(n, S)) > KEEP_RATE_SCALE * rates).astype(np.uint8)
    if keep_original:
        samples[0] = 1
    return samples


def hidden_image(
    image: np.ndarray, segments: np.ndarray, hide_color: Any = None, *, blur_sigma: float = 5.0
) -> np.ndarray:
    """The image that hidden superpixels are replaced by (lime's ``fudged_image``).

    Introduced in ``notebooks/02_perturbation.ipynb``.

    Parameters
    ----------
    image
        ``(H, W, C)`` the image explained.
    segments
        ``(H, W)`` integer superpixel labels (made contiguous here when ``hide_color`` is
        ``None``).
    hide_color
        ``None``: every superpixel gets its own mean colour (lime's default; for uint8 images
        the mean is truncated to an integer, exactly as lime's assignment does);
        a number or an RGB triple: that constant colour (e.g. ``0`` black, ``(128,)*3`` gray,
        in the image's own scale); ``"blur"``: the image blurred by a Gaussian of
        ``blur_sigma`` pixels.
    blur_sigma
        Standard deviation, in pixels, of the blur (``hide_color="blur"`` only).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.

    Raises
    ------
    ValueError
        For a string other than ``"blur"``, or a colour that is not one finite number or one
        per channel.

    Examples
    --------
    >>> image = np.array([[[0, 0, 0], [10, 20, 30], [100, 100, 100], [200, 200, 200]]], np.uint8)
    >>> segments = np.array([[0, 0, 1, 1]])
    >>> hidden_image(image, segments)[0].tolist()  # each superpixel's mean colour
    [[5, 10, 15], [5, 10, 15], [150, 150, 150], [150, 150, 150]]
    >>> hidden_image(image, segments, (0, 0, 255))[0, 0].tolist()
    [0, 0, 255]
    """
    image = np.asarray(image)
    return _hidden_image(image, relabel(segments), check_hide_color(hide_color, image), blur_sigma)


def _hidden_image(
    image: np.ndarray, segments: np.ndarray, hide_color: Any, blur_sigma: float = 5.0
) -> np.ndarray:
    """:func:`hidden_image` for checked input: labels ``0..S-1``, a valid hide color."""
    image = np.ascontiguousarray(image)  # so that the reshaped views below write into ``hidden``
    if hide_color is None:
        labels = segments.ravel()
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [labels.size]])
        flat = image.reshape(-1, image.shape[-1])
        means = np.empty((starts.size, image.shape[-1]), dtype=np.float64)
        for c in range(image.shape[-1]):
            # Contiguous slices in pixel order: np.mean sums them exactly as lime's does.
            values = np.ascontiguousarray(flat[order, c])
            for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
                means[k, c] = np.mean(values[s:e])
        hidden = np.empty_like(image)
        hidden.reshape(-1, image.shape[-1])[:] = means[labels]  # cast like lime's assignment
        return hidden
    if isinstance(hide_color, str):  # "blur", the only string left after the checks
        from scipy.ndimage import gaussian_filter

        blurred = gaussian_filter(image.astype(np.float64), sigma=(blur_sigma, blur_sigma, 0))
        if image.dtype == np.uint8:
            return np.clip(np.round(blurred), 0, 255).astype(np.uint8)
        return blurred.astype(image.dtype)
    hidden = np.empty_like(image)
    hidden[:] = hide_color
    return hidden


def _as_pixels(array: np.ndarray) -> np.ndarray:
    """View ``(H, W, C)`` as ``H*W`` opaque pixels (one C*itemsize-byte value each).

    Copying whole pixels instead of single channel values makes composing a batch several
    times faster, and the bytes are copied unchanged (bit-equal results).
    """
    a = np.ascontiguousarray(array)
    pixel = np.dtype((np.void, a.shape[-1] * a.itemsize))
    return a.reshape(-1, a.shape[-1]).view(pixel).reshape(-1)


def _compose(
    image: np.ndarray, image_px: np.ndarray, hidden_px: np.ndarray, flat_labels: np.ndarray,
    samples: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The perturbed images of ``samples``: the hidden image, then the kept pixels copied in."""
    keep = np.asarray(samples).astype(bool)[:, flat_labels]  # (N, H*W): is the pixel kept?
    out = np.empty(keep.shape, dtype=image_px.dtype)
    out[:] = hidden_px
    np.copyto(out, image_px, where=keep)
    return out.reshape(-1).view(image.dtype).reshape(len(keep), *image.shape)


def perturb(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    *,
    hide_color: Any = None,
    hidden: np.ndarray | None = None,
) -> np.ndarray:
    """All perturbed images of ``samples`` at once: ``(N, H, W, C)``, for small ``N``.

    Introduced in ``notebooks/02_perturbation.ipynb``. Pixel values are bit-equal to lime's
    ``data_labels`` for the same image, segments (labelled ``0..S-1``), samples and
    ``hide_color``. Segments with other labels are made contiguous first (:func:`relabel`), so
    column ``j`` of ``samples`` is the ``j``-th smallest label. ``hidden`` (the hidden image,
    :func:`hidden_image`) may be passed to skip computing it from ``hide_color``.

    Parameters
    ----------
    image
        ``(H, W, C)`` the image explained.
    segments
        ``(H, W)`` integer superpixel labels.
    samples
        ``(N, S)`` 0/1 rows, ``N >= 1``: 1 keeps a superpixel, 0 hides it.
    hide_color
        What hidden superpixels become (see :func:`hidden_image`); ignored when ``hidden``
        is given.
    hidden
        The hidden image itself, ``(H, W, C)`` like ``image``.

    Returns
    -------
    numpy.ndarray
        ``(N, H, W, C)``, the dtype of ``image``. For large ``N`` use
        :func:`perturb_batches`, which holds one batch at a time.

    Raises
    ------
    ValueError
        If ``samples`` is not ``(N, S)`` 0/1 for the ``S`` superpixels of ``segments``.

    Examples
    --------
    >>> image = np.array([[[0, 0, 0], [10, 20, 30], [100, 100, 100], [200, 200, 200]]], np.uint8)
    >>> segments = np.array([[0, 0, 1, 1]])
    >>> images = perturb(image, segments, np.array([[1, 0], [0, 1]]))
    >>> images.shape
    (2, 1, 4, 3)
    >>> images[0, 0].tolist()  # superpixel 1 hidden: its mean colour
    [[0, 0, 0], [10, 20, 30], [150, 150, 150], [150, 150, 150]]
    """
    image = np.asarray(image)
    labels = relabel(segments)
    samples = check_samples(samples, num_superpixels(labels), min_rows=1)
    if hidden is None:
        hidden = _hidden_image(image, labels, check_hide_color(hide_color, image))
    return _compose(image, _as_pixels(image), _as_pixels(hidden), labels.ravel(), samples)


def perturb_batches(
    image: np.ndarray,
    segments: np.ndarray,
    samples: np.ndarray,
    *,
    hide_color: Any = None,
    batch_size: int = 32,
) -> Iterator[np.ndarray]:
    """Yield the perturbed images of ``samples`` in batches of ``batch_size``.

    Introduced in ``notebooks/02_perturbation.ipynb``. Memory is bounded by one batch
    (``batch_size * H * W * C`` values), whatever the number of samples.

    Parameters
    ----------
    image, segments, samples, hide_color
        As for :func:`perturb`.
    batch_size
        Images per batch; the last batch may be smaller.

    Yields
    ------
    numpy.ndarray
        ``(B, H, W, C)`` perturbed images, the rows of ``samples`` in order; equal, batch
        for batch, to :func:`perturb` of the same rows.

    Raises
    ------
    ValueError
        For a ``batch_size`` that is not a positive integer, or ``samples`` as for
        :func:`perturb` (checked at the first ``next``).

    Examples
    --------
    >>> image = np.zeros((1, 4, 3), np.uint8)
    >>> segments = np.array([[0, 0, 1, 1]])
    >>> [b.shape for b in perturb_batches(image, segments, np.ones((5, 2)), batch_size=2)]
    [(2, 1, 4, 3), (2, 1, 4, 3), (1, 1, 4, 3)]
    """
    batch_size = check_batch_size(batch_size)
    image = np.asarray(image)
    labels = relabel(segments)
    samples = check_samples(samples, num_superpixels(labels), min_rows=1)
    hidden = _hidden_image(image, labels, check_hide_color(hide_color, image))
    yield from _perturb_batches(image, labels, samples, hidden, batch_size)


def _perturb_batches(
    image: np.ndarray, segments: np.ndarray, samples: np.ndarray, hidden: np.ndarray,
    batch_size: int,
) -> Iterator[np.ndarray]:  # fmt: skip
    """:func:`perturb_batches` for checked input and a hidden image already made."""
    image_px = _as_pixels(image)
    hidden_px = _as_pixels(hidden)
    flat_labels = segments.ravel()
    for start in range(0, len(samples), batch_size):
        batch = samples[start : start + batch_size]
        yield _compose(image, image_px, hidden_px, flat_labels, batch)
