"""The rules of LIME's settings: a named choice, the kernel width, K, the hide color and when
``num_samples="auto"`` stops.

Belongs with ``notebooks/07_paper_figures.ipynb``, whose recipes are made of these settings;
no notebook imports it. :class:`helpers.recipes.Settings` checks itself with these rules when
it is made, and the steps that take a setting directly (:func:`helpers.kernels.exponential_kernel`,
:func:`helpers.perturbation.hidden_image`, :func:`helpers.surrogates.fit_surrogate`) check it
with the same rule. The other inputs' rules are in :mod:`helpers.validation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "KERNEL_WIDTH_RANGE",
    "check_choice",
    "check_hide_color",
    "check_hide_color_range",
    "check_kernel_width",
    "check_num_features",
    "check_stopping",
]

#: Kernel widths outside this range cannot be squared in float64 (over- or underflow).
KERNEL_WIDTH_RANGE = (1e-150, 1e150)


def check_choice(value: Any, options: tuple[str, ...], name: str) -> str:
    """Validate a named choice (a design, distance, kernel, surrogate or segmentation).

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (:class:`helpers.recipes.Settings` checks its choices with it).

    Parameters
    ----------
    value
        The name given.
    options
        The names accepted.
    name
        What the message calls it.

    Returns
    -------
    str
        ``value``.

    Raises
    ------
    ValueError
        For a name not in ``options``.

    Examples
    --------
    >>> check_choice("ridge", ("ridge", "ols"), "surrogate")
    'ridge'
    >>> check_choice("lasso", ("ridge", "ols"), "surrogate")
    Traceback (most recent call last):
    ...
    ValueError: Unknown surrogate 'lasso'; choose one of ('ridge', 'ols').
    """
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {options}.")
    return value


def check_kernel_width(kernel_width: Any) -> float:
    """Validate a kernel width: a positive finite number whose square is a float64.

    Belongs with ``notebooks/04_kernel_weighting.ipynb``; no notebook calls it
    (:func:`helpers.kernels.exponential_kernel` and :class:`helpers.recipes.Settings` do).

    Parameters
    ----------
    kernel_width
        The width ``w`` of the exponential kernel.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For booleans, non-numbers, non-finite or non-positive values, and widths outside
        :data:`KERNEL_WIDTH_RANGE`, whose square over- or underflows.

    Examples
    --------
    >>> check_kernel_width(0.25)
    0.25
    >>> check_kernel_width(1e300)
    Traceback (most recent call last):
    ...
    ValueError: kernel_width=1e+300 is outside [1e-150, 1e+150]: ... Fix: ...
    """
    if (
        isinstance(kernel_width, bool)
        or not isinstance(kernel_width, int | float | np.integer | np.floating)
        or not np.isfinite(kernel_width)
        or kernel_width <= 0
    ):
        raise ValueError(f"kernel_width must be a positive number, got {kernel_width!r}.")
    width = float(kernel_width)
    low, high = KERNEL_WIDTH_RANGE
    if not low <= width <= high:
        raise ValueError(
            f"kernel_width={width:.6g} is outside [{low:.6g}, {high:.6g}]: its square cannot be "
            "computed in float64, so every weight would be 0 or 1. Fix: use a width on the "
            "scale of the distances, which lie in [0, 1] (lime: 0.25)."
        )
    return width


def check_num_features(num_features: Any) -> int | None:
    """Validate K, the number of superpixels a surrogate keeps: ``None`` (all) or an int >= 1.

    Belongs with ``notebooks/05_surrogate_fitting.ipynb``; no notebook calls it
    (:func:`helpers.surrogates.fit_surrogate` and :class:`helpers.recipes.Settings` do).

    Parameters
    ----------
    num_features
        The number to check.

    Returns
    -------
    int or None

    Raises
    ------
    ValueError
        For booleans, non-integers and numbers below 1.

    Examples
    --------
    >>> check_num_features(np.int64(10)), check_num_features(None)
    (10, None)
    """
    if num_features is None:
        return None
    if isinstance(num_features, bool) or not isinstance(num_features, int | np.integer):
        raise ValueError(f"num_features must be an integer or None, got {num_features!r}.")
    if num_features < 1:
        raise ValueError(f"num_features must be at least 1 (or None for all), got {num_features}.")
    return int(num_features)


def check_stopping(
    num_samples: Any,
    max_samples: Any,
    confidence: Any,
    k: Any,
    *,
    first_round: int,
    samples_given: bool = False,
) -> tuple[int, float, int]:
    """Validate ``num_samples="auto"`` and when it stops: ``max_samples``, ``confidence``, ``k``.

    Belongs with ``notebooks/09_evaluating_explanations.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` checks ``num_samples="auto"`` with it, at the door).
    Whether ``k`` is below the number of superpixels is checked once they are known.

    Parameters
    ----------
    num_samples
        ``"auto"`` (any other string is refused; integers are
        :func:`helpers.validation.check_num_samples`'s).
    max_samples
        The most samples drawn: an integer, at least ``first_round``.
    confidence
        The top-k stability at which sampling stops: a number strictly between 0 and 1.
    k
        How many superpixels the stable top set holds: an integer of at least 1.
    first_round
        The samples of the first round (:data:`helpers.auto_samples.FIRST_ROUND`).
    samples_given
        Whether samples were passed to :func:`~helpers.explain.explain` too (refused).

    Returns
    -------
    max_samples, confidence, k
        As ``int``, ``float``, ``int``.

    Raises
    ------
    ValueError
        For a string other than ``"auto"``, samples given with ``"auto"``, or a number out of
        range; ``TypeError`` for a number of the wrong type. Each message says the fix.

    Examples
    --------
    >>> check_stopping("auto", np.int64(5000), 0.95, 5, first_round=128)
    (5000, 0.95, 5)
    >>> check_stopping("auto", 100, 0.95, 5, first_round=128)
    Traceback (most recent call last):
    ...
    ValueError: max_samples=100 is fewer than the 128 samples of the first round of ...
    """
    if not (isinstance(num_samples, str) and num_samples == "auto"):
        raise ValueError(
            f"num_samples must be an integer or 'auto', got {num_samples!r}. Fix: "
            "num_samples='auto' to sample until the top superpixels are stable, or a number "
            "(lime's default is 1000)."
        )
    if samples_given:
        raise ValueError(
            "num_samples='auto' draws its own samples, round by round, so it cannot take "
            "samples=. Fix: drop samples= to sample until the top superpixels are stable, or "
            "drop num_samples='auto' to explain with the samples given."
        )
    for name, value in (("max_samples", max_samples), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}.")
    if max_samples < first_round:
        raise ValueError(
            f"max_samples={max_samples} is fewer than the {first_round} samples of the first "
            f"round of num_samples='auto'. Fix: max_samples >= {first_round}, or a fixed "
            "num_samples for fewer samples."
        )
    if k < 1:
        raise ValueError(
            f"k, the size of the top set that must be stable, is {k}: it must be >= 1."
        )
    if isinstance(confidence, bool) or not isinstance(confidence, int | float | np.number):
        raise TypeError(f"confidence must be a number between 0 and 1, got {confidence!r}.")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(
            f"confidence must lie strictly between 0 and 1 (a probability that the top {k} "
            f"stays the same), got {confidence!r}. Fix: e.g. confidence=0.95, the default."
        )
    return int(max_samples), float(confidence), int(k)


def check_hide_color(hide_color: Any, image: np.ndarray | None = None) -> Any:
    """Validate a hide color: ``None``, ``"blur"``, ``"gray"``, a number or one value per channel.

    Belongs with ``notebooks/02_perturbation.ipynb``; no notebook calls it
    (:func:`helpers.perturbation.hidden_image` and :func:`helpers.recipes.resolve` do).
    With ``image``, a colour must lie in the image's range (0..255 for uint8, [0, 1] for
    floats) and have one value or one per channel, and ``"gray"`` is refused (it is
    resolved to a number by :func:`helpers.recipes.resolve` first).

    Parameters
    ----------
    hide_color
        The hide color.
    image
        The image it is used on, or ``None`` to check the form only.

    Returns
    -------
    object
        ``hide_color`` itself (it is recorded in the explanation as given).

    Raises
    ------
    ValueError
        For another string, a colour that is not finite numbers, or outside the image's range.

    Examples
    --------
    >>> check_hide_color(None), check_hide_color([0, 128, 255])
    (None, [0, 128, 255])
    >>> check_hide_color(300, np.zeros((8, 8, 3), np.uint8))
    Traceback (most recent call last):
    ...
    ValueError: hide_color=300 is outside 0..255, the range of this uint8 image. Fix: ...
    """
    if hide_color is None or (isinstance(hide_color, str) and hide_color == "blur"):
        return hide_color
    if isinstance(hide_color, str):
        if hide_color == "gray":
            if image is not None:
                check_hide_color_range(hide_color, image)  # raises, with the fix
            return hide_color
        raise ValueError(
            f"hide_color={hide_color!r} is not understood. Use None (segment mean), a number, "
            "an RGB triple, 'gray' or 'blur'."
        )
    channels = 3 if image is None else image.shape[-1]
    try:
        color = np.asarray(hide_color, dtype=np.float64)
    except (TypeError, ValueError):
        color = np.full(2, np.nan)  # not numbers: reported below
    if (
        isinstance(hide_color, bool)
        or color.ndim > 1
        or color.size not in (1, channels)
        or not np.isfinite(color).all()
    ):
        raise ValueError(
            f"hide_color must be None, a number or one value per channel ({channels}), "
            f"'gray' or 'blur'; got {hide_color!r}."
        )
    if image is not None:
        check_hide_color_range(hide_color, image)
    return hide_color


def check_hide_color_range(hide_color: Any, image: np.ndarray) -> None:
    """A hide color already checked in form must lie in the image's range.

    Belongs with ``notebooks/02_perturbation.ipynb``; no notebook calls it
    (:func:`check_hide_color` and :func:`helpers.recipes.resolve` do). ``None`` and
    ``"blur"`` are always in range; ``"gray"`` must have been resolved to a number first.

    Parameters
    ----------
    hide_color
        ``None``, ``"blur"``, a number or one value per channel.
    image
        The image it is used on: 0..255 for uint8, [0, 1] for floats.

    Raises
    ------
    ValueError
        For ``"gray"`` (with the fix) or a colour outside the image's range.

    Examples
    --------
    >>> check_hide_color_range(0.5, np.zeros((8, 8, 3), np.float32))
    >>> check_hide_color_range(128, np.zeros((8, 8, 3), np.float32))
    Traceback (most recent call last):
    ...
    ValueError: hide_color=128 is outside [0, 1], the range of this float image ... Fix: ...
    """
    if hide_color is None:
        return
    if isinstance(hide_color, str):
        if hide_color == "blur":
            return
        raise ValueError(
            f"hide_color={hide_color!r} is a setting of explain (the paper's gray, resolved in "
            "the image's scale); here give the colour itself. Fix: hide_color=helpers.paper.GRAY "
            "(154) for a uint8 image, or helpers.recipes.MID_GRAY (128)."
        )
    color = np.asarray(hide_color, dtype=np.float64)
    if color.size not in (1, image.shape[-1]):
        raise ValueError(
            f"hide_color must be one value or one per channel ({image.shape[-1]}); "
            f"got {hide_color!r}."
        )
    if image.dtype == np.uint8 and (color.min() < 0 or color.max() > 255):
        raise ValueError(
            f"hide_color={hide_color!r} is outside 0..255, the range of this uint8 image. "
            "Fix: give a colour in 0..255, e.g. 128 for mid-gray."
        )
    if image.dtype != np.uint8 and (color.min() < 0 or color.max() > 1):
        raise ValueError(
            f"hide_color={hide_color!r} is outside [0, 1], the range of this float image (a "
            "colour in 0..255 would be passed to the model as it is). Fix: divide it by 255, "
            f"e.g. hide_color={color.max() / 255:.3g}, or use a uint8 image."
        )
