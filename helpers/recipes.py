"""The settings of LIME, each default written once: :class:`Settings`, :data:`RECIPES`.

Belongs with ``notebooks/07_paper_figures.ipynb``, which compares the three recipes through
``explain(..., recipe=...)``. A :class:`Settings` holds the choices that shape an explanation
besides the segments and the samples: the sampling design, the hide color (``hide_color``), the
distance, the kernel and its width, the surrogate and its number of features. It is frozen and
checked when made, so a :class:`Settings` is always valid; :func:`helpers.explain.explain` takes
one (or a recipe's name) and records it in ``Explanation.params``.

Two grays are meant: :data:`helpers.paper.GRAY` (154, measured on the paper's Figure 4; what
``hide_color="gray"`` means) and :data:`MID_GRAY` (128, the middle of 0..255, the explorer's
and ``notebooks/02_perturbation.ipynb``'s gray).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

from .kernels import DISTANCES, KERNELS
from .paper import GRAY as PAPER_GRAY
from .perturbation import DESIGNS
from .setting_checks import (
    check_choice,
    check_hide_color,
    check_hide_color_range,
    check_kernel_width,
    check_num_features,
)
from .surrogates import SURROGATES

__all__ = [
    "FROM_RECIPE",
    "MID_GRAY",
    "RECIPES",
    "FromRecipe",
    "Settings",
    "resolve",
]

#: The middle gray of 0..255: the explorer's and notebook 02's "mid gray" (not the paper's).
MID_GRAY = 128


class FromRecipe(enum.Enum):
    """The type of :data:`FROM_RECIPE`: an argument of :func:`helpers.explain.explain` left to
    the recipe.

    Belongs with ``notebooks/07_paper_figures.ipynb``; no notebook names it.

    Attributes
    ----------
    FROM_RECIPE
        The one member.
    """

    FROM_RECIPE = "from the recipe"

    def __repr__(self) -> str:
        return "FROM_RECIPE"


#: Default of every setting argument of :func:`helpers.explain.explain`: take the recipe's.
FROM_RECIPE = FromRecipe.FROM_RECIPE


@dataclass(frozen=True)
class Settings:
    """Every choice of a LIME explanation besides segments and samples, checked when made.

    Belongs with ``notebooks/07_paper_figures.ipynb``, which prints the paper's; the
    defaults are ``lime`` 0.2.0.1's ``LimeImageExplainer`` (:data:`RECIPES` ``["lime"]``).

    Attributes
    ----------
    recipe
        The name of the preset these settings started from (recorded, not used).
    design
        How samples are drawn (:data:`helpers.perturbation.DESIGNS`).
    hide_color
        What hidden superpixels become (:func:`helpers.perturbation.hidden_image`); ``"gray"``
        is the paper's gray, turned into a number in the image's scale by :func:`resolve`.
    distance, kernel, kernel_width
        :data:`helpers.kernels.DISTANCES`, :data:`helpers.kernels.KERNELS` and ``w``.
    surrogate, num_features
        :data:`helpers.surrogates.SURROGATES` and K (``None``: every superpixel).

    Raises
    ------
    ValueError
        For an unknown name, a kernel width that is not usable, a ``num_features`` below 1
        or a hide color that is not understood.

    Examples
    --------
    >>> Settings().kernel_width, Settings(surrogate="ols").surrogate
    (0.25, 'ols')
    >>> Settings(kernel="gauss")
    Traceback (most recent call last):
    ...
    ValueError: Unknown kernel 'gauss'; choose one of ('lime', 'paper').
    """

    recipe: str = "lime"
    design: str = "bernoulli"
    hide_color: Any = None
    distance: str = "cosine"
    kernel: str = "lime"
    kernel_width: float = 0.25
    surrogate: str = "ridge"
    num_features: int | None = None

    def __post_init__(self) -> None:
        check_choice(self.design, DESIGNS, "design")
        check_choice(self.distance, DISTANCES, "distance")
        check_choice(self.kernel, KERNELS, "kernel")
        check_choice(self.surrogate, SURROGATES, "surrogate")
        check_kernel_width(self.kernel_width)
        check_num_features(self.num_features)
        check_hide_color(self.hide_color)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (checked like a new one).

        Parameters
        ----------
        **changes
            New values of any fields.

        Returns
        -------
        Settings
        """
        return dataclasses.replace(self, **changes)

    def fit_params(self) -> dict[str, Any]:
        """The six settings that weight and fit (what ``Explanation.params`` records of a fit).

        Returns
        -------
        dict
            ``hide_color``, ``distance``, ``kernel``, ``kernel_width``, ``surrogate`` and
            ``num_features``.
        """
        return {
            "hide_color": self.hide_color,
            "distance": self.distance,
            "kernel": self.kernel,
            "kernel_width": self.kernel_width,
            "surrogate": self.surrogate,
            "num_features": self.num_features,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Settings:
        """The settings an explanation recorded (``Explanation.params``); missing ones are lime's.

        Parameters
        ----------
        params
            A saved explanation's ``params``.

        Returns
        -------
        Settings
            ``design`` is lime's when the samples were given (recorded as ``None``).
        """
        known = {f.name for f in dataclasses.fields(cls)}
        given = {k: v for k, v in params.items() if k in known}
        if given.get("design") is None:
            given.pop("design", None)
        if not isinstance(given.get("recipe", "lime"), str):
            given.pop("recipe")
        return cls(**given)


#: The three recipes of LIME for images, as presets of :func:`helpers.explain.explain` (each
#: setting can still be given explicitly).
RECIPES: dict[str, Settings] = {
    # lime 0.2.0.1's LimeImageExplainer defaults.
    "lime": Settings(),
    # The KDD'16 paper: uniform number of kept superpixels, exp(-D^2/sigma^2) on an L2 pixel
    # distance, K-LASSO with K = 10, hidden superpixels gray as in its Figure 4. The paper
    # gives no sigma for images; 0.25 on the relative distance is this project's choice.
    "paper": Settings(
        recipe="paper",
        design="uniform_count",
        hide_color="gray",
        distance="pixel_l2",
        kernel="paper",
        surrogate="k_lasso",
        num_features=10,
    ),
    # The MATLAB write-up: per-sample keep rate, hidden in black, fraction hidden as distance,
    # exp(-d^2/sigma^2) with sigma = 0.35, weighted least squares.
    "matlab": Settings(
        recipe="matlab",
        design="keep_rate",
        hide_color=0,
        distance="hidden_fraction",
        kernel="paper",
        kernel_width=0.35,
        surrogate="ols",
    ),
}


def resolve(
    recipe: str | Settings = "lime",
    image: np.ndarray | None = None,
    *,
    design: str | FromRecipe = FROM_RECIPE,
    hide_color: Any = FROM_RECIPE,
    distance: str | FromRecipe = FROM_RECIPE,
    kernel: str | FromRecipe = FROM_RECIPE,
    kernel_width: float | FromRecipe = FROM_RECIPE,
    surrogate: str | FromRecipe = FROM_RECIPE,
    num_features: int | FromRecipe | None = FROM_RECIPE,
) -> Settings:
    """The settings of ``recipe`` with every explicitly given value on top, for ``image``.

    Belongs with ``notebooks/07_paper_figures.ipynb``; no notebook calls it
    (:func:`helpers.explain.explain` does). With an ``image``, ``hide_color="gray"`` becomes
    the paper's gray in the image's scale (154 for uint8, 154/255 for floats) and the hide color is
    checked against the image's range.

    Parameters
    ----------
    recipe
        A key of :data:`RECIPES` (``"lime"``, ``"paper"``, ``"matlab"``) or a
        :class:`Settings`.
    image
        The image explained (checked already), or ``None``.
    design, hide_color, distance, kernel, kernel_width, surrogate, num_features
        Settings that override the recipe's; :data:`FROM_RECIPE` keeps the recipe's.

    Returns
    -------
    Settings

    Raises
    ------
    ValueError
        For an unknown recipe, and as :class:`Settings` and
        :func:`helpers.setting_checks.check_hide_color`.

    Examples
    --------
    >>> resolve("paper", np.zeros((8, 8, 3), np.uint8)).hide_color
    154
    >>> settings = resolve("lime", kernel_width=0.5)
    >>> settings.kernel_width, settings.surrogate, settings.recipe
    (0.5, 'ridge', 'lime')
    """
    if isinstance(recipe, Settings):
        base = recipe
    elif isinstance(recipe, str) and recipe in RECIPES:
        base = RECIPES[recipe]
    else:
        raise ValueError(
            f"Unknown recipe {recipe!r}; choose one of {tuple(RECIPES)} or pass a Settings."
        )
    given = {
        "design": design, "hide_color": hide_color, "distance": distance, "kernel": kernel,
        "kernel_width": kernel_width, "surrogate": surrogate, "num_features": num_features,
    }  # fmt: skip
    changes = {name: value for name, value in given.items() if value is not FROM_RECIPE}
    fill = changes.get("hide_color", base.hide_color)
    if image is not None and isinstance(fill, str) and fill == "gray":
        changes["hide_color"] = PAPER_GRAY if image.dtype == np.uint8 else PAPER_GRAY / 255.0
    settings = base.replace(**changes) if changes else base  # checked once, when made
    if image is not None:
        check_hide_color_range(settings.hide_color, image)
    return settings
