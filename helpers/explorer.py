"""The LIME explorer's logic: hide superpixels, compare the network with its surrogate.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. LIME claims *local fidelity*:
near the image, the linear surrogate ``intercept + coef · z`` predicts what the network says
about the image with the superpixels of sample ``z`` hidden. :class:`ExplorerState` lets a
learner test that claim one sample at a time. It holds a sample and, for the chosen label, the
network's probability on the masked image next to the surrogate's prediction for that sample,
with the sample's cosine distance and kernel weight. It has no user interface; the widgets of
:mod:`helpers.explorer_app` drive it.

Model calls are spent only where they are needed: one per new sample (outputs are kept, so
going back to a sample is free), none to change the label or the kernel width (the surrogate
is refitted on the explanation's stored samples and predictions), and one pass over the
stored samples for each new hide color (the stored predictions were made with the
explanation's ``hide_color``, so another one needs its own).

Every change is checked and computed before anything is changed: a refused width, label or
hide color, or a model that fails, leaves the state as it was.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import kernels
from .explanation import Explanation
from .fitting import ConstantPredictionWarning, fit_label
from .paper import GRAY as PAPER_GRAY
from .perturbation import hidden_image, perturb
from .prediction import predict_samples
from .recipes import MID_GRAY, Settings
from .setting_checks import check_kernel_width
from .surrogates import SurrogateFit
from .validation import check_predictions

__all__ = [
    "HIDE_COLORS",
    "ExplorerState",
    "Visit",
    "hide_color_key",
]

#: The hide colors the explorer offers, by name (values for uint8 images): those of
#: ``notebooks/02_perturbation.ipynb``, with both grays named apart (the middle of 0..255 and
#: the paper's, :data:`helpers.recipes.MID_GRAY` and :data:`helpers.paper.GRAY`).
HIDE_COLORS: dict[str, Any] = {
    "segment mean": None,
    f"mid gray ({MID_GRAY})": MID_GRAY,
    f"paper's gray ({PAPER_GRAY})": PAPER_GRAY,
    "black": 0,
    "blur": "blur",
}
_UNCHANGED: Any = object()  # "keep the current hide color" (None is a hide color)


def hide_color_key(hide_color: Any, channels: int = 3) -> str:
    """A canonical name of a ``hide_color``, equal for values that give the same hidden image.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (the
    explorer keys its stored predictions by it). ``0``, ``0.0``, ``(0, 0, 0)`` and
    ``[0, 0, 0]`` all name black on a ``channels``-channel image.

    Parameters
    ----------
    hide_color
        ``None``, a string such as ``"blur"``, a number or one value per channel.
    channels
        The image's number of channels, to which a single number is broadcast.

    Returns
    -------
    str
        JSON text: ``null``, the quoted string, or the list of channel values as floats.

    Examples
    --------
    >>> hide_color_key(0) == hide_color_key((0.0, 0.0, 0.0)), hide_color_key(128)
    (True, '[128.0, 128.0, 128.0]')
    >>> hide_color_key(None), hide_color_key("blur")
    ('null', '"blur"')
    """
    if hide_color is None or isinstance(hide_color, str):
        return json.dumps(hide_color)
    color = np.broadcast_to(np.asarray(hide_color, dtype=np.float64), (channels,))
    return json.dumps(color.tolist())


@dataclass(frozen=True)
class Visit:
    """One sample the learner has looked at, with one hide color, and the network's outputs on it.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook names it
    (:attr:`ExplorerState.history` is a list of them).

    Attributes
    ----------
    sample
        ``(S,)`` uint8, 1 = superpixel shown.
    hide_color
        What the hidden superpixels became.
    probabilities
        ``(K,)`` the network's output on the masked image.
    """

    sample: np.ndarray  #: (S,) uint8, 1 = superpixel shown
    hide_color: Any  #: what the hidden superpixels became
    probabilities: np.ndarray  #: (K,) the network's output on the masked image


class ExplorerState:
    """A sample over an explanation's superpixels and what the network and surrogate say.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``.

    Parameters
    ----------
    explanation
        A LIME explanation (:func:`helpers.explain.explain`) of ``model`` on one image. Its
        samples and predictions are reused to refit the surrogate for another label or kernel
        width without calling the model.
    model
        The classifier the explanation explains: ``(B, H, W, 3)`` images to ``(B, K)``
        probabilities.
    label
        The label to follow; default: the explanation's first (the top class).
    batch_size
        Images per model call when a new hide color makes the stored samples be predicted
        again.

    Attributes
    ----------
    sample
        ``(S,)`` uint8 copy of the current sample (1 = shown, 0 = hidden).
    label, hide_color, kernel_width
        The current label, hide color and kernel width.
    model_probability
        The network's probability of ``label`` on the masked image.
    surrogate_prediction
        The surrogate's prediction for the sample, ``intercept + coef @ sample``.
    distance, weight
        The sample's distance to the original (all ones) and its kernel weight: for lime's
        recipe, :func:`helpers.kernels.cosine_distance` and
        :func:`helpers.kernels.exponential_kernel` at the current width. An explanation made
        with another distance or kernel (``params["distance"]``, ``params["kernel"]``) keeps
        its own.
    model_calls
        Images the explorer has sent to the model so far.

    Examples
    --------
    A model linear in the four quarters of an image, explained with 100 samples:

    >>> from helpers.explain import explain
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(2)
    >>> e = explain(image, model, segments=segments, num_samples=100, labels=[1], hide_color=0,
    ...             random_state=0, progress=False)
    >>> state = ExplorerState(e, model)
    >>> state.toggle(state.superpixel_at(0, 0))  # hide the top-left quarter
    >>> state.sample.tolist(), round(state.model_probability, 3), state.model_calls
    ([0, 1, 1, 1], 0.3, 2)
    >>> state.pairs().round(2).tolist()  # (network, surrogate) for each sample seen
    [[0.7, 0.67], [0.3, 0.31]]
    >>> state.set_kernel_width(1.0)  # refitted from the stored predictions: no model call
    >>> state.model_calls
    2
    """

    def __init__(
        self,
        explanation: Explanation,
        model: Callable[[np.ndarray], np.ndarray],
        *,
        label: int | None = None,
        batch_size: int = 32,
    ):
        self.explanation = explanation
        self.model = model
        self.batch_size = int(batch_size)
        self.image = explanation.image
        self.segments = explanation.segments
        self.num_superpixels = int(explanation.samples.shape[1])
        self.num_classes = int(explanation.predictions.shape[1])
        settings = Settings.from_params(explanation.params)  # lime's for what is not recorded
        self.surrogate = settings.surrogate
        self.num_features = settings.num_features
        self.distance_name = settings.distance
        self.kernel_name = settings.kernel
        self._fit_width = float(settings.kernel_width)
        self._fit_hide_color = settings.hide_color
        self.model_calls = 0
        self._predictions = {self._key(self._fit_hide_color): explanation.predictions}
        self._hidden_images: dict[str, np.ndarray] = {}
        self._fits: dict[tuple[int, str, float], SurrogateFit] = {}
        self._visits: dict[tuple[str, bytes], Visit] = {}
        self.label = explanation.labels[0] if label is None else self._check_label(label)
        self.hide_color = self._fit_hide_color
        self.kernel_width = self._fit_width
        self._sample = np.ones(self.num_superpixels, dtype=np.uint8)
        self._show()

    # ----- reading ---------------------------------------------------------------------
    @property
    def sample(self) -> np.ndarray:
        """A copy of the current sample, ``(S,)`` uint8."""
        return self._sample.copy()

    @property
    def fit(self) -> SurrogateFit:
        """The surrogate for the current label, hide color and kernel width."""
        return self._surrogate(self.label, self.hide_color, self.kernel_width)

    @property
    def coef(self) -> np.ndarray:
        """The current surrogate's weight per superpixel, ``(S,)``."""
        return self.fit.coef

    @property
    def intercept(self) -> float:
        """The current surrogate's intercept."""
        return self.fit.intercept

    @property
    def probabilities(self) -> np.ndarray:
        """The network's whole output ``(K,)`` on the current masked image."""
        return self._current.probabilities

    @property
    def masked_image(self) -> np.ndarray:
        """The image the network sees: hidden superpixels replaced by the hide color."""
        return self._masked_image(self._sample, self.hide_color)

    def top_labels(self, k: int = 5) -> list[int]:
        """The ``k`` classes with the most probability on average over LIME's samples.

        These are the labels whose surrogates have something to explain; a class the
        network never gives any probability has a constant target and all-zero weights.

        Parameters
        ----------
        k
            How many classes.

        Returns
        -------
        list of int
            Class indices, highest mean first, over the samples predicted with the current
            hide color.
        """
        mean = self._predictions[self._key(self.hide_color)].mean(axis=0)
        order = np.argsort(-mean, kind="stable")[: int(k)]
        return [int(j) for j in order]

    def superpixel_at(self, row: int, col: int) -> int:
        """The superpixel under pixel ``(row, col)`` of the image.

        Parameters
        ----------
        row, col
            The pixel, counted from the top-left corner.

        Returns
        -------
        int
            Its superpixel's label.

        Raises
        ------
        ValueError
            For a pixel outside the image.
        """
        height, width = self.segments.shape
        row, col = int(row), int(col)
        if not (0 <= row < height and 0 <= col < width):
            raise ValueError(
                f"Pixel ({row}, {col}) is outside the {height} x {width} image; rows run "
                f"0..{height - 1} and columns 0..{width - 1}."
            )
        return int(self.segments[row, col])

    def surrogate_at(self, sample: np.ndarray) -> float:
        """The current surrogate's prediction for any sample: ``intercept + coef @ sample``.

        Parameters
        ----------
        sample
            ``(S,)`` 0/1 values (not checked).

        Returns
        -------
        float
            No model call is made.
        """
        fit = self.fit
        return float(fit.intercept + fit.coef @ np.asarray(sample, dtype=np.float64))

    @property
    def history(self) -> list[Visit]:
        """Every (sample, hide color) looked at so far, each once, the most recently seen last."""
        return list(self._visits.values())

    def pairs(self) -> np.ndarray:
        """``(n, 2)`` array of (network, surrogate) for every sample seen with the current hide
        color.

        Both columns are for the current label, and the surrogate column is the current
        surrogate's, so changing the kernel width moves the points up or down: the record
        shows how well *this* surrogate matches the network on all the samples tried so far.
        Rows are in the order of :attr:`history`; the last row is the current sample.

        Returns
        -------
        numpy.ndarray
            ``(n, 2)`` float64.
        """
        key = self._key(self.hide_color)
        rows = [
            (float(v.probabilities[self.label]), self.surrogate_at(v.sample))
            for (color, _), v in self._visits.items()
            if color == key
        ]
        return np.array(rows, dtype=np.float64).reshape(-1, 2)

    # ----- changing the sample -------------------------------------------------------------
    def toggle(self, superpixel: int) -> None:
        """Hide superpixel ``superpixel`` if it is shown, show it if it is hidden.

        A sample not seen before with the current hide color costs one model call.

        Parameters
        ----------
        superpixel
            A label ``0..S-1``.

        Raises
        ------
        TypeError
            For a label that is not an int.
        ValueError
            For a label outside ``0..S-1``.
        """
        j = self._check_superpixel(superpixel)
        sample = self._sample.copy()
        sample[j] = 1 - sample[j]
        self._show(sample=sample)

    def set_sample(self, sample: Sequence[int] | np.ndarray) -> None:
        """Use ``sample`` (``S`` values of 0/1) as the current sample.

        Parameters
        ----------
        sample
            One value per superpixel, 1 = shown.

        Raises
        ------
        ValueError
            For another length or values other than 0 and 1.
        """
        sample = np.asarray(sample)
        if sample.shape != (self.num_superpixels,) or not np.isin(sample, (0, 1)).all():
            raise ValueError(
                f"sample must be {self.num_superpixels} values of 0 or 1, one per superpixel; "
                f"got shape {sample.shape}."
            )
        self._show(sample=sample.astype(np.uint8))

    def reset(self) -> None:
        """Show every superpixel again (the original image)."""
        self._show(sample=np.ones(self.num_superpixels, dtype=np.uint8))

    def show_top(self, k: int) -> None:
        """Show only the ``k`` superpixels with the largest positive weights, hide the rest.

        This is the image LIME shows as its explanation (``image_and_mask`` with
        ``positive_only=True, hide_rest=True``), for the current surrogate. Fewer than ``k``
        are shown when fewer have a positive weight.

        Parameters
        ----------
        k
            How many superpixels to show, 0 or more.

        Raises
        ------
        TypeError
            For a ``k`` that is not an int.
        ValueError
            For a negative ``k``.
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise TypeError(f"k must be an int, got {k!r}.")
        if k < 0:
            raise ValueError(f"k must be 0 or more, got {k}.")
        coef = self.coef
        order = [j for j in np.argsort(-coef, kind="stable") if coef[j] > 0][:k]
        sample = np.zeros(self.num_superpixels, dtype=np.uint8)
        sample[order] = 1
        self._show(sample=sample)

    # ----- changing the settings ---------------------------------------------------------
    def set_label(self, label: int) -> None:
        """Follow another class. Refits from the stored predictions: no model calls.

        Parameters
        ----------
        label
            A class index of the model's output (any class, not only the explained ones).

        Raises
        ------
        TypeError
            For a label that is not an int.
        ValueError
            For a label outside the model's classes.
        """
        self._show(label=self._check_label(label))

    def set_kernel_width(self, kernel_width: float) -> None:
        """Refit the surrogate with another kernel width: no model calls.

        The explanation's samples and predictions are weighted again with the kernel at the
        new width, ``exponential_kernel(distances, kernel_width)``, and fitted with the
        explanation's surrogate settings: what :func:`helpers.explain.explain` gives for the
        same samples and this width.

        Parameters
        ----------
        kernel_width
            A positive number.

        Raises
        ------
        ValueError
            For a width that is not a positive finite number whose square is a float
            (:func:`helpers.setting_checks.check_kernel_width`), or whose weights cannot be fitted
            (all zero); either way nothing changes.
        """
        self._show(kernel_width=check_kernel_width(kernel_width))

    def set_hide_color(self, hide_color: Any) -> None:
        """Use another ``hide_color`` for hidden superpixels (``None``, a colour or ``"blur"``).

        The network sees the new hide color at once. The surrogate has to be fitted on
        predictions made with the same hide color, so for one not used before the
        explanation's samples are predicted again (``num_samples`` model calls, once per
        hide color).

        Parameters
        ----------
        hide_color
            As for :func:`helpers.perturbation.hidden_image`.

        Raises
        ------
        ValueError
            For a hide color :func:`helpers.perturbation.hidden_image` refuses; nothing
            changes.
        """
        self._hidden(hide_color)  # validates hide_color before anything is predicted
        key = self._key(hide_color)
        if key not in self._predictions:  # kept even if the refit below fails: they are right
            self._predictions[key] = predict_samples(
                self.image, self.segments, self.explanation.samples, self._call_model,
                hide_color=hide_color, batch_size=self.batch_size, progress=False, cache=False,
            )  # fmt: skip
        self._show(hide_color=hide_color)

    # ----- internals ---------------------------------------------------------------------
    def _distances(self, samples: np.ndarray, hide_color: Any) -> np.ndarray:
        """The explanation's distance of each sample to the original (lime's: cosine)."""
        return kernels.sample_distances(
            samples, self.distance_name, image=self.image, hidden=self._hidden(hide_color),
            segments=self.segments,
        )  # fmt: skip

    def _kernel(self, distances: np.ndarray, width: float) -> np.ndarray:
        """The explanation's kernel (lime's by default) at ``width``."""
        return kernels.exponential_kernel(distances, width, kernel=self.kernel_name)

    def _key(self, hide_color: Any) -> str:
        return hide_color_key(hide_color, self.image.shape[-1])

    def _check_label(self, label: int) -> int:
        if isinstance(label, bool) or not isinstance(label, int | np.integer):
            raise TypeError(f"label must be a class index (int), got {label!r}.")
        if not 0 <= int(label) < self.num_classes:
            raise ValueError(f"label {label} is outside the model's 0..{self.num_classes - 1}.")
        return int(label)

    def _check_superpixel(self, superpixel: int) -> int:
        if isinstance(superpixel, bool) or not isinstance(superpixel, int | np.integer):
            raise TypeError(f"superpixel must be an int, got {superpixel!r}.")
        if not 0 <= int(superpixel) < self.num_superpixels:
            raise ValueError(
                f"superpixel {superpixel} does not exist; there are {self.num_superpixels} "
                f"(0..{self.num_superpixels - 1})."
            )
        return int(superpixel)

    def _call_model(self, images: np.ndarray) -> np.ndarray:
        """The model on a batch, counted in :attr:`model_calls`."""
        self.model_calls += len(images)
        return np.asarray(self.model(images))

    def _hidden(self, hide_color: Any) -> np.ndarray:
        """The hidden image for ``hide_color`` (computed once per value)."""
        key = self._key(hide_color)
        if key not in self._hidden_images:
            self._hidden_images[key] = hidden_image(self.image, self.segments, hide_color)
        return self._hidden_images[key]

    def _surrogate(self, label: int, hide_color: Any, width: float) -> SurrogateFit:
        """LIME's surrogate for ``label``, from the stored samples' predictions with this
        hide color (kept once fitted)."""
        key = (label, self._key(hide_color), width)
        if key in self._fits:
            return self._fits[key]
        e = self.explanation
        same = self._key(hide_color) == self._key(self._fit_hide_color)
        if same and width == self._fit_width and label in e.fits:
            fit = e.fits[label]  # exactly the explanation's own numbers
        else:
            distances = e.distances if same else self._distances(e.samples, hide_color)
            with warnings.catch_warnings():  # a class never predicted: zero weights, quietly
                warnings.simplefilter("ignore", ConstantPredictionWarning)
                fit = fit_label(
                    e.samples, self._predictions[self._key(hide_color)][:, label],
                    self._kernel(distances, width), surrogate=self.surrogate,
                    num_features=self.num_features, label=label,
                )  # fmt: skip
        self._fits[key] = fit
        return fit

    def _masked_image(self, sample: np.ndarray, hide_color: Any) -> np.ndarray:
        hidden = self._hidden(hide_color)
        return perturb(self.image, self.segments, sample[None], hidden=hidden)[0]

    def _show(
        self,
        *,
        sample: np.ndarray | None = None,
        label: int | None = None,
        hide_color: Any = _UNCHANGED,
        kernel_width: float | None = None,
    ) -> None:
        """Make the given sample, label, hide color and width current, with every number.

        Everything is computed first (the model call, the surrogate, the distance and the
        kernel weight); the state changes only when all of it succeeded, so an error leaves
        the state, its numbers and its history as they were.
        """
        sample = self._sample if sample is None else sample
        label = self.label if label is None else label
        hide_color = self.hide_color if hide_color is _UNCHANGED else hide_color
        width = self.kernel_width if kernel_width is None else kernel_width
        key = (self._key(hide_color), sample.tobytes())
        visit = self._visits.get(key)
        if visit is None:
            output = self._call_model(self._masked_image(sample, hide_color)[None])
            output = check_predictions(output, 1, self.num_classes)
            visit = Visit(sample.copy(), hide_color, output[0])
        fit = self._surrogate(label, hide_color, width)
        distance = float(self._distances(sample[None], hide_color)[0])
        weight = float(self._kernel(np.array([distance]), width)[0])
        # Nothing can fail from here on.
        self._visits.pop(key, None)  # (re)inserted last: the record ends with the current sample
        self._visits[key] = visit
        self._current = visit
        self._sample = sample.copy()
        self.label, self.hide_color, self.kernel_width = label, hide_color, width
        self.model_probability = float(visit.probabilities[label])
        shown = self._sample.astype(np.float64)
        self.surrogate_prediction = float(fit.intercept + fit.coef @ shown)
        self.distance, self.weight = distance, weight
