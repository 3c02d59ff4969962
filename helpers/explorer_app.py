"""The LIME explorer as an ipywidgets app: click superpixels, compare network and surrogate.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. :class:`ExplorerApp` draws an
:class:`~helpers.explorer.ExplorerState`: the masked image (click a superpixel to hide or show
it, through ``ipyevents``), the network's probability and the surrogate's prediction as large
numbers, a small scatter of every (network, surrogate) pair so far, and the controls (label,
hide color, kernel width, reset, show top-k). The same app runs inline in a notebook and alone under
Voilà (``make explore``, ``apps/explorer.ipynb``).

Each click costs one model call and one PNG encoding; ``benchmarks/bench_explorer.py``
measures the time until the browser shows the new numbers.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
from ipyevents import Event

from .explanation import Explanation
from .explorer import HIDE_COLORS, ExplorerState, hide_color_key
from .uncertainty import normal_intervals

#: The level of the clicked superpixel's interval.
INTERVAL_LEVEL = 0.9

__all__ = [
    "IMAGE_CLASS",
    "INTERVAL_LEVEL",
    "MODEL_CLASS",
    "SURROGATE_CLASS",
    "ExplorerApp",
    "default_explorer_inputs",
    "format_number",
    "scatter_svg",
]

#: CSS classes the browser test and the benchmark find the numbers and the image by.
MODEL_CLASS, SURROGATE_CLASS, IMAGE_CLASS = (
    "lime-explorer-model",
    "lime-explorer-surrogate",
    "lime-explorer-image",
)
_BOUNDARY = np.array([255, 221, 0], dtype=np.float64)  # yellow superpixel outlines


def format_number(value: float) -> str:
    """How the app prints a probability or prediction: four decimals.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (the
    browser test compares the page's text with it).

    Parameters
    ----------
    value
        A probability or a surrogate's prediction.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(0.123456), format_number(-0.5)
    ('0.1235', '-0.5000')
    """
    return f"{value:.4f}"


def scatter_svg(pairs: np.ndarray, *, size: int = 240) -> str:
    """A small SVG scatter of (network, surrogate) pairs, the last one highlighted.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it (the
    app draws it). The dashed diagonal is where the surrogate would be exactly right; both
    axes cover [0, 1] and any surrogate value outside it.

    Parameters
    ----------
    pairs
        ``(n, 2)`` (network, surrogate) values, e.g. :meth:`ExplorerState.pairs`; may be
        empty.
    size
        Width of the picture in pixels.

    Returns
    -------
    str
        An ``<svg>`` element, one circle per pair (the last one red and larger).

    Examples
    --------
    >>> svg = scatter_svg([[0.7, 0.67], [0.3, 0.31]])
    >>> svg.startswith("<svg"), svg.count("<circle")
    (True, 2)
    """
    pairs = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    lo = min(0.0, float(pairs.min())) if len(pairs) else 0.0
    hi = max(1.0, float(pairs.max())) if len(pairs) else 1.0
    left, bottom, top, right = 44, 34, 8, 10
    inner = size - max(left + right, top + bottom)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * inner

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * inner

    mid = y((lo + hi) / 2)
    parts = [
        f'<svg class="lime-explorer-scatter" width="{size}" height="{top + inner + bottom}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{inner}" height="{inner}" fill="#fafafa" '
        'stroke="#999"/>',
        f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" '
        'stroke="#888" stroke-dasharray="4 3"/>',
        f'<text x="{x(lo):.1f}" y="{y(lo) + 13:.1f}" text-anchor="middle">{lo:.3g}</text>',
        f'<text x="{x(hi):.1f}" y="{y(lo) + 13:.1f}" text-anchor="end">{hi:.3g}</text>',
        f'<text x="{left - 4}" y="{y(lo):.1f}" text-anchor="end">{lo:.3g}</text>',
        f'<text x="{left - 4}" y="{y(hi) + 9:.1f}" text-anchor="end">{hi:.3g}</text>',
        f'<text x="{left + inner / 2:.1f}" y="{y(lo) + 28:.1f}" text-anchor="middle">'
        "network</text>",
        f'<text x="14" y="{mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid:.1f})">surrogate</text>',
    ]
    for i, (a, b) in enumerate(pairs):
        last = i == len(pairs) - 1
        parts.append(
            f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="{5 if last else 3.5}" '
            f'fill="{"#d62728" if last else "#1f77b4"}" fill-opacity="{1 if last else 0.6}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class ExplorerApp:
    """The explorer's widgets around an :class:`~helpers.explorer.ExplorerState`.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. Display the app (or its
    :attr:`widget`) in a notebook; under Voilà the same cell makes the page.

    Parameters
    ----------
    state
        What to show: an explanation and its model (see :class:`ExplorerState`).
    scale
        Each image pixel is drawn as ``scale x scale`` screen pixels.
    num_labels
        How many classes the label chooser offers (those with the most probability over
        LIME's samples, see :meth:`ExplorerState.top_labels`).
    title
        Heading; default names the model.

    Attributes
    ----------
    widget
        The whole app, an ``ipywidgets.VBox``.
    image, numbers, scatter, label, hide_color, kernel_width, reset, top_k, show_top, status
        The parts, for notebooks and tests to read or drive.
    updates
        How many times the display has been redrawn (also in the page, ``data-updates``).
    last_update_seconds
        Time the last redraw took in Python (the state update, the model call, the PNG).

    Examples
    --------
    >>> from helpers.explain import explain
    >>> from helpers.toy_models import linear_grid_example
    >>> image, segments, model = linear_grid_example(2)
    >>> e = explain(image, model, segments=segments, num_samples=100, labels=[1], hide_color=0,
    ...             random_state=0, progress=False)
    >>> app = ExplorerApp.from_explanation(e, model)
    >>> app.click(3, 5)  # displayed pixel (3, 5) is image pixel (1, 2), in the first quarter
    >>> app.refresh()
    >>> app.state.sample.tolist(), app.updates
    ([0, 1, 1, 1], 2)
    """

    def __init__(
        self,
        state: ExplorerState,
        *,
        scale: int = 2,
        num_labels: int = 5,
        title: str | None = None,
    ):
        from skimage.segmentation import find_boundaries

        self.state = state
        self.scale = int(scale)
        self.updates = 0
        self.clicked: int | None = None  # the superpixel clicked last, whose interval is shown
        self._syncing = False
        self.last_update_seconds = float("nan")
        big = np.repeat(np.repeat(state.segments, self.scale, axis=0), self.scale, axis=1)
        self._outline = find_boundaries(big, mode="inner")
        names = getattr(state.model, "class_names", None)
        self._names = list(names) if names is not None else None
        model_name = getattr(state.model, "display_name", type(state.model).__name__)

        height, width = state.segments.shape
        self.image = widgets.Image(
            format="png",
            layout=widgets.Layout(
                width=f"{width * self.scale}px", height=f"{height * self.scale}px"
            ),
        )
        self.image.add_class(IMAGE_CLASS)
        self._events = Event(source=self.image, watched_events=["click"])
        self._events.on_dom_event(self._guarded(self._on_click))

        self.numbers = widgets.HTML()
        self.scatter = widgets.HTML()
        self.status = widgets.HTML()
        labels = state.top_labels(num_labels)
        if state.label not in labels:
            labels.insert(0, state.label)
        self.label = widgets.Dropdown(
            options=[(self._class_name(j), j) for j in labels],
            value=state.label,
            description="label",
        )
        colors = dict(HIDE_COLORS)
        if hide_color_key(state.hide_color) not in {hide_color_key(v) for v in colors.values()}:
            colors = {"the explanation's": state.hide_color, **colors}
        self._hide_colors = colors
        now = hide_color_key(state.hide_color)
        current = next(n for n, v in colors.items() if hide_color_key(v) == now)
        self.hide_color = widgets.Dropdown(
            options=list(colors),
            value=current,
            description="hide color",
            style={"description_width": "initial"},
        )
        self.kernel_width = widgets.FloatSlider(
            value=state.kernel_width,
            min=0.05,
            max=1.0,
            step=0.05,
            readout_format=".2f",
            continuous_update=False,
            description="kernel width",
            style={"description_width": "initial"},
        )
        self.reset = widgets.Button(description="Reset", icon="undo", tooltip="show everything")
        self.top_k = widgets.BoundedIntText(
            value=min(5, state.num_superpixels),
            min=0,
            max=state.num_superpixels,
            description="k",
            layout=widgets.Layout(width="110px"),
            style={"description_width": "20px"},
        )
        self.show_top = widgets.Button(
            description="Show top k", tooltip="keep only LIME's top-k superpixels"
        )

        self.label.observe(self._guarded(lambda c: state.set_label(c["new"])), "value")
        self.kernel_width.observe(
            self._guarded(lambda c: state.set_kernel_width(c["new"])), "value"
        )
        self.hide_color.observe(self._guarded(self._on_hide_color), "value")
        self.reset.on_click(self._guarded(lambda _: state.reset()))
        self.show_top.on_click(self._guarded(lambda _: state.show_top(self.top_k.value)))

        heading = widgets.HTML(
            f"<h3 style='margin:4px 0'>{html.escape(title or 'LIME explorer')}</h3>"
            f"<div>{html.escape(model_name)}. Click a superpixel to hide it, click again to "
            "show it; compare what the network says with what LIME's linear surrogate "
            "predicts.</div>"
        )
        parts: list[widgets.Widget] = [heading]
        if getattr(state.model, "untrained", False):
            parts.append(
                widgets.HTML(
                    "<h3 style='color:#c00'>UNTRAINED network: its predictions mean nothing.</h3>"
                )
            )
        controls = widgets.VBox(
            [
                self.label,
                self.hide_color,
                self.kernel_width,
                widgets.HBox([self.reset, self.top_k, self.show_top]),
            ]
        )
        legend = widgets.HTML(
            "<div style='font-size:12px;line-height:1.35;color:#555;max-width:260px'>"
            "Each dot is a sample you tried (red: this one). On the dashed line the surrogate "
            "equals the network.</div>"
        )
        right = widgets.VBox(
            [self.numbers, self.scatter, legend], layout=widgets.Layout(margin="0 16px")
        )
        parts += [widgets.HBox([self.image, right]), controls, self.status]
        self.widget = widgets.VBox(parts)
        self.widget.add_class("lime-explorer")
        self.refresh()

    # ----- building -------------------------------------------------------------------------
    @classmethod
    def default(cls, *, num_samples: int | None = None, **kwargs: Any) -> ExplorerApp:
        """The explorer on MobileNetV2 and the tree frog (see
        :func:`default_explorer_inputs`).

        Belongs with ``notebooks/06_explaining_predictions.ipynb``; ``apps/explorer.ipynb``
        (``make explore``) calls it, no notebook does.

        Parameters
        ----------
        num_samples
            LIME samples (default 1000, 300 under ``LIME_TUTORIAL_QUICK=1``).
        **kwargs
            The options of :class:`ExplorerApp` (``scale``, ``num_labels``, ``title``).

        Returns
        -------
        ExplorerApp
        """
        explanation, model = default_explorer_inputs(num_samples=num_samples)
        return cls(ExplorerState(explanation, model), **kwargs)

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, model: Callable[[np.ndarray], np.ndarray], **kwargs: Any
    ) -> ExplorerApp:
        """The explorer on any explanation and the model it explains.

        Introduced in ``notebooks/06_explaining_predictions.ipynb``.

        Parameters
        ----------
        explanation
            A LIME explanation of ``model``.
        model
            The classifier explained.
        **kwargs
            The options of :class:`ExplorerApp` (``scale``, ``num_labels``, ``title``).

        Returns
        -------
        ExplorerApp
        """
        return cls(ExplorerState(explanation, model), **kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ----- drawing ------------------------------------------------------------------------
    def _class_name(self, label: int) -> str:
        if self._names is not None and 0 <= label < len(self._names):
            return f"{self._names[label]} ({label})"
        return f"class {label}"

    def render(self) -> np.ndarray:
        """The picture shown: the masked image, enlarged, with the superpixels outlined.

        Returns
        -------
        numpy.ndarray
            ``(scale * H, scale * W, 3)`` uint8; superpixel borders are blended with yellow.
        """
        s = self.scale
        pixels = np.repeat(np.repeat(self.state.masked_image, s, axis=0), s, axis=1)
        if pixels.dtype != np.uint8:
            pixels = np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)
        pixels = pixels.copy()
        edge = pixels[self._outline].astype(np.float64)
        pixels[self._outline] = np.round(0.35 * edge + 0.65 * _BOUNDARY).astype(np.uint8)
        return pixels

    def numbers_html(self) -> str:
        """The two large numbers and the sample's distance and kernel weight, as HTML.

        Returns
        -------
        str
            The network's and the surrogate's number carry the CSS classes
            ``lime-explorer-model`` and ``lime-explorer-surrogate`` and their exact value in
            ``data-value``; the box carries the redraw count in ``data-updates``.
        """
        st = self.state
        hidden = st.num_superpixels - int(st.sample.sum())

        def big(name: str, css: str, value: float, color: str) -> str:
            return (
                f"<div style='margin:2px 0'><div style='font-size:13px;color:#555'>{name}</div>"
                f"<span class='{css}' data-value='{value!r}' style='font-size:40px;"
                f"font-weight:bold;color:{color};font-family:monospace'>"
                f"{format_number(value)}</span></div>"
            )

        network = big("network, on this masked image", MODEL_CLASS, st.model_probability, "#1f77b4")
        surrogate = big(
            "LIME surrogate, intercept + coef · sample",
            SURROGATE_CLASS,
            st.surrogate_prediction,
            "#d62728",
        )
        details = (
            f"<div style='font-size:12px;color:#555'>hidden: {hidden} of "
            f"{st.num_superpixels} superpixels · cosine distance {st.distance:.3f} · "
            f"kernel weight {st.weight:.3f}</div>"
        )
        label = html.escape(self._class_name(st.label))
        return (
            f"<div class='lime-explorer-numbers' data-updates='{self.updates}'>"
            f"<div style='font-size:14px'>P({label})</div>{network}{surrogate}{details}"
            f"{self.interval_html()}</div>"
        )

    def interval_html(self, level: float = INTERVAL_LEVEL) -> str:
        """The clicked superpixel's weight and its interval (:mod:`helpers.uncertainty`).

        Empty before the first click. The interval is the current surrogate's (label, hide
        color, kernel width), ``coef -/+ z * se`` with the HC3 standard error; one that holds 0
        says the weight's sign is not settled by these samples.

        Parameters
        ----------
        level
            The interval's level, strictly between 0 and 1.

        Returns
        -------
        str
            HTML; the element of class ``lime-explorer-interval`` carries the bounds in
            ``data-low`` and ``data-high``.
        """
        j = self.clicked
        if j is None:
            return ""
        fit = self.state.fit
        low, high = normal_intervals(fit.coef, fit.coef_se, level)
        lo, hi = float(low[j]), float(high[j])
        if not np.isfinite(lo):
            verdict = "not selected by the surrogate: no interval"
        elif lo <= 0.0 <= hi:
            verdict = "holds 0: the sign is not settled"
        else:
            verdict = "for the class" if lo > 0 else "against the class"
        return (
            f"<div class='lime-explorer-interval' data-low='{lo!r}' data-high='{hi!r}' "
            f"style='font-size:12px;color:#555'>superpixel {j}: weight "
            f"{format_number(float(fit.coef[j]))}, {level:.0%} interval "
            f"[{format_number(lo)}, {format_number(hi)}] ({verdict})</div>"
        )

    def refresh(self) -> None:
        """Redraw the image, the numbers and the scatter from the state."""
        self.updates += 1
        self.image.value = _png(self.render())
        self.scatter.value = scatter_svg(self.state.pairs())
        self.numbers.value = self.numbers_html()  # last: new numbers mean all is drawn

    # ----- events -------------------------------------------------------------------------
    def _guarded(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """Run a handler, redraw, time it, and show an error in the status line, not a log.

        After an error the state is as it was (see :class:`ExplorerState`), and so are the
        controls: a label, hide color or width the state refused is not left on show.
        """

        def run(event: Any) -> None:
            if self._syncing:  # a control being set back to the state's value
                return
            start = time.perf_counter()
            try:
                handler(event)
                self.refresh()
                self.status.value = ""
            except Exception as exc:  # shown to the learner; the page must stay usable
                self._sync_controls()
                self.status.value = (
                    f"<span style='color:#c00'>{html.escape(type(exc).__name__)}: "
                    f"{html.escape(str(exc))}</span>"
                )
            self.last_update_seconds = time.perf_counter() - start

        return run

    def _sync_controls(self) -> None:
        """Show the state's label, hide color and kernel width in the controls again."""
        st = self.state
        now = hide_color_key(st.hide_color)
        self._syncing = True
        try:
            if st.label in {value for _, value in self.label.options}:
                self.label.value = st.label
            self.hide_color.value = next(
                n for n, v in self._hide_colors.items() if hide_color_key(v) == now
            )
            self.kernel_width.value = st.kernel_width
        finally:
            self._syncing = False

    def click(self, row: float, col: float) -> None:
        """What a click on the image at displayed pixel ``(row, col)`` does.

        The superpixel under the pixel is toggled (:meth:`ExplorerState.toggle`); the click
        handler then redraws (:meth:`refresh`). Clicks on the image's border land on the
        nearest pixel.

        Parameters
        ----------
        row, col
            Position on the displayed image, in screen pixels (``scale`` per image pixel).
        """
        height, width = self.state.segments.shape
        r = min(max(int(row // self.scale), 0), height - 1)
        c = min(max(int(col // self.scale), 0), width - 1)
        j = self.state.superpixel_at(r, c)
        self.state.toggle(j)
        self.clicked = j

    def _on_click(self, event: dict[str, Any]) -> None:
        self.click(event["dataY"], event["dataX"])

    def _on_hide_color(self, change: dict[str, Any]) -> None:
        self.status.value = "Predicting LIME's samples with the new hide color…"
        self.state.set_hide_color(self._hide_colors[change["new"]])


def default_explorer_inputs(
    *, num_samples: int | None = None, random_state: int = 0
) -> tuple[Explanation, Any]:
    """The explorer's default content: MobileNetV2 (int8) and LIME on the tree frog.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it
    (``apps/explorer.ipynb`` does, through :meth:`helpers.explorer_app.ExplorerApp.default`).
    Deterministic: the same arguments give the same explanation in every process, so a test
    can compute what a served explorer shows.

    Parameters
    ----------
    num_samples
        LIME samples; default 1000, or 300 under ``LIME_TUTORIAL_QUICK=1`` (``make test``).
    random_state
        Seed of the segmentation and the samples.

    Returns
    -------
    explanation, model
        The explanation of the top class, and the model (an
        :class:`~helpers.models.ImageClassifier`).

    Raises
    ------
    helpers.data.DataFileError
        If the model or the image cannot be had.

    Examples
    --------
    >>> explanation, model = default_explorer_inputs(num_samples=300)  # doctest: +SKIP
    >>> model.name, explanation.labels  # doctest: +SKIP
    ('mobilenet_v2', (31,))
    """
    from .data import load_image
    from .explain import explain
    from .models import load_model
    from .settings import sample_budget

    model = load_model("mobilenet_v2")
    image = load_image("red_eyed_tree_frog.jpg", size=model.input_size)
    if num_samples is None:
        num_samples = sample_budget(1000, 300)
    explanation = explain(
        image, model, num_samples=num_samples, top_labels=1, random_state=random_state,
        progress=False,
    )  # fmt: skip
    return explanation, model
