"""Execute the notebook series into ``build/``: what ``make run`` does.

For every notebook, in order, and whether or not an earlier one failed:

1. execute it in a fresh kernel, in the notebook's own folder, with matplotlib's inline
   backend (figures appear in the outputs, as in JupyterLab) and ``LIME_TUTORIAL_FIGURES``
   pointing at ``build/figures`` (where ``helpers.plotting.save_figure`` keeps its copies);
2. tidy the outputs for a static page: drop TensorFlow/absl/LiteRT log lines from the
   streams; a tqdm progress bar becomes its last line of plain text; a widget app (the LIME
   explorer) becomes a picture of its first state and any other widget a one-line note, both
   saying to use it in JupyterLab; warnings lose their file paths, and the model warnings a
   page states itself (stand-in or untrained network) show once, as a styled note;
3. write the executed notebook to ``build/notebooks`` and its page to ``build/html``: a
   *learner* page, in which each exercise's solution is folded under "Show a solution",
   hidden tests are left out and no tool marker (``# NBVAL_IGNORE_OUTPUT``, ``# fmt: skip``,
   nbgrader's) shows (``--pages teacher``: solutions open, hidden tests shown). Pages need no
   network: MathJax is copied beside them (``build/html/mathjax``, from the
   jupyter-server-mathjax package) and no remote script is loaded. A notebook that failed is
   written as far as it ran, with the traceback in the failing cell and a banner at the top.
   What the kernel process itself prints (TensorFlow echoes its log there too) goes to
   ``build/logs/<notebook>.log`` instead of the terminal.

Then it writes ``build/html/index.html`` (number, title, first learning objective, network
and time of each notebook, and the total time of the run), prints a table (notebook, status,
seconds, figures) and exits with status 1 if any notebook failed, naming each one and why
on one line. A stray ``Out:`` value (``True`` left by a cell's last line) is named as the
notebook runs.

Usage: ``python scripts/run_notebooks.py [--build build] [--timeout 3600]
[--pages learner|teacher] notebooks/*.ipynb``
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import html
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from helpers.settings import FIGURES_ENV

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
PREDICTIONS_PREFIX = "Predictions by: "
UNTRAINED_PREFIX = "UNTRAINED network: "
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FAILURE_TAG = "run-notebooks-failure"

# Lines that TensorFlow, absl and LiteRT write to stderr on their own, whatever the notebook
# does. Python warnings and tracebacks never look like these, so they stay.
_LOG_NOISE = [
    # absl/glog records, e.g. "I0000 00:00:1795625165.205576    4171 port.cc:153] oneDNN ...";
    # fatal ("F") records are kept: they say why a kernel died.
    re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\]"),
    # the older TensorFlow format, e.g. "2024-11-25 16:00:00.123456: I tensorflow/...:113] ..."
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\]"),
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    # the second line of TensorFlow's "This TensorFlow binary is optimized ..." record
    re.compile(r"^To enable the following instructions: .*rebuild TensorFlow"),
    re.compile(r"^INFO: Created TensorFlow Lite .*delegate"),
]
# Keras' "Downloading data from https://..." and the progress bar on the line after it.
_DOWNLOAD = re.compile(r"^Downloading data from https?://")
_PROGRESS_BAR = re.compile(r"━|\bus/step\b")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Result:
    """What happened to one notebook.

    Attributes
    ----------
    notebook
        The source notebook.
    status
        ``"ok"`` or ``"failed"``.
    seconds
        Wall-clock time of the execution, kernel start included.
    figures
        Number of ``image/png`` outputs in the executed notebook.
    reason
        Why it failed, on one line (empty when it did not).
    title, summary
        Title line and first learning objective of the notebook's first markdown cell.
    predictions_by
        ``"Predictions by: <network>"``, one per network the notebook names.
    stray_results
        ``Out:`` values that only a cell's last expression left behind (``"In [14]: True"``).
    page_problems
        What the page should not have and has (:func:`page_problems`).
    executed, html
        The files written (``None`` when writing failed).
    """

    notebook: Path
    status: str
    seconds: float
    figures: int = 0
    reason: str = ""
    title: str = ""
    summary: str = ""
    predictions_by: list[str] = field(default_factory=list)
    stray_results: list[str] = field(default_factory=list)
    page_problems: list[str] = field(default_factory=list)
    executed: Path | None = None
    html: Path | None = None

    @property
    def failed(self) -> bool:
        """Whether the notebook failed (to execute, or to be written)."""
        return self.status != "ok"


# --------------------------------------------------------------------------- the kernel


def kernel_env(figures_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the notebooks' kernels.

    Parameters
    ----------
    figures_dir
        Where ``helpers.plotting.save_figure`` writes its copies.
    base
        The environment to start from (default: this process's).

    Returns
    -------
    dict of str to str
        ``base`` with matplotlib's inline backend, whatever ``MPLBACKEND`` said (``make test``
        and CI set ``Agg``, under which a kernel shows no figure), and ``LIME_TUTORIAL_FIGURES``.
    """
    env = dict(os.environ if base is None else base)
    env["MPLBACKEND"] = INLINE_BACKEND
    env[FIGURES_ENV] = str(Path(figures_dir).resolve())
    return env


def kernel_start_options() -> dict[str, Any]:
    """Options for starting a kernel: encrypted sockets when jupyter_client and pyzmq can.

    ipykernel warns on the terminal, once per notebook, when its sockets are not encrypted;
    ``transport_encryption="auto"`` provisions CurveZMQ keys when the kernelspec supports them.
    """
    import zmq
    from jupyter_client.manager import KernelManager

    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        return {"transport_encryption": "auto"}
    return {}


# --------------------------------------------------------------------------- tidying outputs


def is_log_noise(line: str) -> bool:
    """Whether a line of output is a TensorFlow, absl or LiteRT log record."""
    return any(pattern.search(line) for pattern in _LOG_NOISE)


def clean_stream_text(text: str, name: str) -> str:
    """Drop log-noise lines from the text of a ``stdout``/``stderr`` stream output.

    On ``stderr`` the TensorFlow/absl/LiteRT records go (:func:`is_log_noise`); on both streams
    Keras' "Downloading data from ..." line goes, with the progress bar that follows it. Every
    other line is kept as it was.
    """
    kept = []
    after_download = False
    for line in text.splitlines(keepends=True):
        if _DOWNLOAD.search(line):
            after_download = True
            continue
        if after_download and _PROGRESS_BAR.search(line):
            after_download = False
            continue
        after_download = False
        if name == "stderr" and is_log_noise(line):
            continue
        kept.append(line)
    return "".join(kept)


def remove_log_noise(nb: NotebookNode) -> int:
    """Remove log noise from every stream output of ``nb``, in place.

    Adjacent outputs of the same stream are merged first (a record can arrive in pieces);
    outputs left empty are removed.

    Returns
    -------
    int
        The number of lines removed.
    """
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list[NotebookNode] = []
        for output in cell.outputs:
            previous = merged[-1] if merged else None
            if (
                output.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and previous.name == output.name
            ):
                previous.text += output.text
            else:
                merged.append(output)
        outputs = []
        for output in merged:
            if output.output_type == "stream":
                text = clean_stream_text(output.text, output.name)
                removed += output.text.count("\n") - text.count("\n")
                if not text.strip():
                    continue
                output.text = text
            outputs.append(output)
        cell.outputs = outputs
    return removed


def widget_note(source: str) -> NotebookNode:
    """The one-line note that takes a live widget's place in a static page."""
    text = (
        f"Interactive widget: open {source} in JupyterLab to use it; "
        "this page shows its first output."
    )
    return nbformat.v4.new_output(
        "display_data", data={"text/markdown": f"*{text}*", "text/plain": text}
    )


WidgetStates = dict[str, dict[str, Any]]


def widget_states(state: dict[str, dict[str, Any]], buffers: dict[str, Any]) -> WidgetStates:
    """Each widget model's last state, by model id, with its binary values in base64.

    Parameters
    ----------
    state
        nbclient's ``widget_state``: model id -> the state the kernel last sent.
    buffers
        nbclient's ``widget_buffers``: model id -> {path: {"data": base64, "path": [...]}}; an
        ``Image`` widget's picture is one of these (its ``value``).

    Returns
    -------
    dict
        model id -> state; a top-level binary value is its base64 text.
    """
    states: WidgetStates = {}
    for model_id, values in state.items():
        merged = dict(values)
        for entry in buffers.get(model_id, {}).values():
            path = entry.get("path") or []
            if len(path) == 1:
                merged[path[0]] = entry["data"]
        states[model_id] = merged
    return states


def _model(states: WidgetStates, ref: Any) -> dict[str, Any]:
    """The state a widget reference (``"IPY_MODEL_<id>"`` or an id) points at; {} if unknown."""
    if not isinstance(ref, str):
        return {}
    return states.get(ref.removeprefix("IPY_MODEL_"), {})


def progress_text(states: WidgetStates, model_id: str) -> str | None:
    """A tqdm progress bar's last state as the text tqdm prints outside a notebook.

    tqdm's notebook bar is an ``HBox`` of an ``HTML`` (description and percentage), a
    progress bar and an ``HTML`` (counts, times, rate).

    Returns
    -------
    str or None
        e.g. ``"model calls: 100%|██████████| 1000/1000 [00:05<00:00, 190img/s]"``; ``""`` for
        a bar that hid itself when it closed (``leave=False``); ``None`` when the widget is not
        a progress bar.
    """
    box = states.get(model_id, {})
    children = [_model(states, ref) for ref in box.get("children", [])]
    kinds = [child.get("_model_name") for child in children]
    if box.get("_model_name") != "HBoxModel" or len(kinds) != 3:
        return None
    if (
        kinds[0] != "HTMLModel"
        or kinds[2] != "HTMLModel"
        or not str(kinds[1]).endswith("ProgressModel")
    ):
        return None
    if _model(states, box.get("layout")).get("visibility") == "hidden":
        return ""
    left, bar, right = children

    def text(value: Any) -> str:
        return html.unescape(str(value or "")).replace("\u2007", " ")

    low, high = float(bar.get("min", 0) or 0), float(bar.get("max", 0) or 0)
    done = (float(bar.get("value", 0) or 0) - low) / (high - low) if high > low else 0.0
    filled = round(10 * min(max(done, 0.0), 1.0))
    return (
        f"{text(left.get('value'))}|{'█' * filled}{' ' * (10 - filled)}|{text(right.get('value'))}"
    )


# tqdm's text of a bar, e.g. "model calls:  40%|████      | 400/1000 [00:02<00:03, 190img/s]"
_TQDM_METER = re.compile(r"\d+%\|[^|]*\|\s*[\d.]+\w*/[\d.?]+\w*\s*\[")
_BOXES = {"VBoxModel": "column", "BoxModel": "column", "GridBoxModel": "column", "HBoxModel": "row"}
_CHOICES = {"DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel"}
_CONTROL_STYLE = (
    "display:inline-block; margin:2px 8px 2px 0; padding:1px 6px; border:1px solid #ccc; "
    "border-radius:3px; color:#555; font-size:0.9em"
)


def _control(description: str, value: Any) -> str:
    label = f"{html.escape(description)}: " if description else ""
    if isinstance(value, float):
        value = f"{value:g}"
    return f'<span style="{_CONTROL_STYLE}">{label}{html.escape(str(value))}</span>'


def snapshot_html(states: WidgetStates, model_id: str) -> tuple[str, bool]:
    """A static picture of a widget tree in the state it was left in, as HTML.

    Boxes become rows and columns, ``HTML`` and ``Label`` widgets their text, an ``Image``
    its picture (inline, base64), and each control a small box with its description and
    value. Nothing in it reacts to the mouse.

    Returns
    -------
    (str, bool)
        The HTML, and whether it shows anything beyond controls (a picture or some text).
    """
    state = states.get(model_id, {})
    name = state.get("_model_name", "")
    if name in _BOXES:
        parts = [snapshot_html(states, ref.removeprefix("IPY_MODEL_")) for ref in
                 state.get("children", []) if isinstance(ref, str)]  # fmt: skip
        inner = "".join(part for part, _ in parts)
        gap = "16px" if _BOXES[name] == "row" else "4px"
        return (
            f'<div style="display:flex; flex-direction:{_BOXES[name]}; gap:{gap}; '
            f'align-items:flex-start">{inner}</div>',
            any(shown for _, shown in parts),
        )
    if name in {"HTMLModel", "HTMLMathModel"}:
        value = str(state.get("value") or "")
        return f"<div>{value}</div>", bool(value.strip())
    if name == "LabelModel":
        value = str(state.get("value") or "")
        return f"<div>{html.escape(value)}</div>", bool(value.strip())
    if name == "ImageModel":
        data = state.get("value")
        if not isinstance(data, str) or not data:
            return "", False
        layout = _model(states, state.get("layout"))
        size = "".join(f"{key}:{layout[key]};" for key in ("width", "height") if layout.get(key))
        kind = html.escape(str(state.get("format") or "png"))
        return (
            f'<img src="data:image/{kind};base64,{data}" alt="the widget\'s first picture" '
            f'style="{size} max-width:100%">',
            True,
        )
    if name in _CHOICES:
        labels, index = state.get("_options_labels") or [], state.get("index")
        value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else ""
        return _control(str(state.get("description") or ""), value), False
    if name == "ButtonModel":
        return _control("", state.get("description") or "button"), False
    if "value" in state and name.endswith(("SliderModel", "TextModel", "CheckboxModel")):
        return _control(str(state.get("description") or ""), state["value"]), False
    return "", False


def widget_snapshot(states: WidgetStates, model_id: str, source: str) -> NotebookNode | None:
    """A widget's first output as a picture with the note to use it live, or ``None``.

    ``None`` when the widget tree holds no picture or text to show (its controls alone say
    little; :func:`widget_note` is enough).
    """
    body, shown = snapshot_html(states, model_id)
    if not shown:
        return None
    note = widget_note(source)
    text = note.data["text/plain"]
    page = (
        '<div class="lime-widget-snapshot" style="border:1px dashed #bbb; padding:8px; '
        f'pointer-events:none">{body}</div><p><em>{html.escape(text)}</em></p>'
    )
    return nbformat.v4.new_output("display_data", data={"text/html": page, "text/plain": text})


def replace_widgets(nb: NotebookNode, source: str, states: WidgetStates | None = None) -> int:
    """Replace each widget view in ``nb`` by what a static page can show, in place.

    A static page (HTML, or the executed notebook opened without a kernel) cannot run a
    widget. With the widgets' last states (:func:`widget_states`):

    - a tqdm progress bar becomes the plain text tqdm prints outside a notebook (a ``stdout``
      stream), or nothing when it hid itself;
    - a widget tree with a picture or text (an app such as the LIME explorer) becomes a
      static picture of its first state, with :func:`widget_note` under it;
    - any other widget (e.g. ``interactive``'s sliders, whose drawing is already among the
      cell's outputs: :func:`new_client` lets it through) becomes :func:`widget_note`.

    Widget state in the metadata is dropped.

    Parameters
    ----------
    nb
        An executed notebook.
    source
        How the note names the notebook to open, e.g. ``notebooks/04_kernel_weighting.ipynb``.
    states
        The widgets' states (default: none known, so every widget gets the note).

    Returns
    -------
    int
        The number of widget views replaced.
    """
    states = states or {}
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            replaced += 1
            model_id = str(view.get("model_id", ""))
            bar = progress_text(states, model_id)
            if bar is None and model_id not in states:  # no state: tell a bar by its text
                bar = "" if _TQDM_METER.search(output.data.get("text/plain", "")) else None
            if bar is not None:
                if bar:
                    outputs.append(nbformat.v4.new_output("stream", name="stdout", text=bar + "\n"))
                continue
            outputs.append(widget_snapshot(states, model_id, source) or widget_note(source))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


# The warnings a page states in its own words (helpers.plotting.model_note): in a page they
# become one styled note, or nothing when the page already says the same.
STATED_WARNINGS = ("StandInModelWarning", "UntrainedWeightsWarning")
# What Python's warnings module writes: "<file>:<line>: <Category>: <message>", then the
# source line, indented by two spaces.
_WARNING = re.compile(
    r"^(?P<where>\S.*?):(?P<line>\d+): (?P<category>\w*Warning): (?P<message>.*)$"
)
_NOTE_STYLE = "border-left:6px solid #c47f00; background:#c47f0014; padding:6px 10px; margin:4px 0"


def split_warnings(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Separate the warnings in a ``stderr`` text from the rest.

    Returns
    -------
    (str, list of (str, str))
        The text with each warning written as ``"<Category>: <message>"`` (no file path, no
        echo of the source line) and the stated warnings (:data:`STATED_WARNINGS`) left out;
        and the stated warnings taken out, as ``(category, message)``.
    """
    kept: list[str] = []
    stated: list[tuple[str, str]] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        match = _WARNING.match(lines[index].rstrip("\n"))
        if match is None:
            kept.append(lines[index])
            index += 1
            continue
        category, message = match["category"], match["message"]
        index += 1
        if index < len(lines) and lines[index].startswith("  "):  # the source line
            index += 1
        if category in STATED_WARNINGS:
            stated.append((category, message))
        else:
            kept.append(f"{category}: {message}\n")
    return "".join(kept), stated


def stated_note(category: str, message: str) -> NotebookNode:
    """A stated warning as a styled note (HTML) and one line of text, without file paths."""
    label = "Untrained network" if category == "UntrainedWeightsWarning" else "Note"
    text = html.escape(message, quote=False)
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": f'<div style="{_NOTE_STYLE}"><b>{label}:</b> {text}</div>',
            "text/plain": message,
        },
    )


def restyle_warnings(nb: NotebookNode) -> int:
    """Rewrite the warnings in ``nb``'s ``stderr`` outputs for a page, in place.

    Every warning loses its file path (a kernel's temporary file says nothing to a reader)
    and the echo of its source line. A stated warning (:data:`STATED_WARNINGS`: the
    stand-in or untrained network, which :func:`helpers.plotting.model_note` states) is
    shown once per page as a styled note where it first occurs, and not at all when
    another output of the page already says the same.

    Returns
    -------
    int
        The number of stated warnings taken out of ``stderr``.
    """
    said = "\n".join(_output_texts(nb, streams=("stdout",)))
    shown: set[str] = set()
    taken = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type != "stream" or output.name != "stderr":
                outputs.append(output)
                continue
            text, stated = split_warnings(output.text)
            taken += len(stated)
            for category, message in stated:
                if message in shown or message in said:
                    continue
                shown.add(message)
                outputs.append(stated_note(category, message))
            if text.strip():
                output.text = text
                outputs.append(output)
        cell.outputs = outputs
    return taken


# --------------------------------------------------------------------------- learner pages

PAGE_KINDS = ("learner", "teacher")
SOLUTION_SUMMARY = "Show a solution"
SOLUTION_TAG = "lime-solution"  # the tag of a cell a page adds to fold a code solution
_BEGIN_SOLUTION = re.compile(r"^\s*#{2,3} BEGIN SOLUTION\s*$")
_END_SOLUTION = re.compile(r"^\s*#{2,3} END SOLUTION\s*$")
_BEGIN_HIDDEN = re.compile(r"^\s*#{2,3} BEGIN HIDDEN TESTS\s*$")
_END_HIDDEN = re.compile(r"^\s*#{2,3} END HIDDEN TESTS\s*$")
# Lines that only speak to a tool: nbval's cell markers, formatter switches.
_MARKER_LINE = re.compile(r"^\s*#\s*(NBVAL_[A-Z_]+|fmt:\s*(off|on|skip))\s*$")
# Comments at the end of a line that only speak to a tool.
_MARKER_COMMENT = re.compile(r"\s*#\s*(fmt:\s*skip|noqa\b[:\w, ]*|type:\s*ignore\S*)\s*$")
# Any nbgrader marker line, wherever it is left (e.g. in a markdown cell).
_NBGRADER_LINE = re.compile(r"^\s*#{2,3} (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
# What nbgrader puts in place of a code solution in the student version.
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


def strip_tool_markers(source: str) -> str:
    """``source`` without the lines and end-of-line comments that only speak to a tool.

    Gone: ``# NBVAL_...`` lines, ``# fmt: off/on/skip`` lines and comments, ``# noqa`` and
    ``# type: ignore`` comments, and any nbgrader ``BEGIN``/``END`` line left. Blank lines
    at the start and end go too.
    """
    lines = []
    for line in source.splitlines():
        if _MARKER_LINE.match(line) or _NBGRADER_LINE.match(line):
            continue
        lines.append(_MARKER_COMMENT.sub("", line))
    return "\n".join(lines).strip("\n")


def _regions(lines: list[str], begin: re.Pattern, end: re.Pattern) -> list[tuple[int, int]]:
    """``(first, last)`` line numbers of each ``begin`` ... ``end`` region (markers included)."""
    found, start = [], None
    for number, line in enumerate(lines):
        if start is None and begin.match(line):
            start = number
        elif start is not None and end.match(line):
            found.append((start, number))
            start = None
    if start is not None:
        raise ValueError(
            f"a region opened by {lines[start].strip()!r} (line {start + 1}) is never closed; "
            "close it in the notebook"
        )
    return found


def without_hidden_tests(source: str) -> str:
    """``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks."""
    lines = source.splitlines()
    for first, last in reversed(_regions(lines, _BEGIN_HIDDEN, _END_HIDDEN)):
        del lines[first : last + 1]
    return "\n".join(lines)


def solution_stub(source: str) -> str:
    """``source`` with each solution region replaced by nbgrader's stub, at its indentation.

    The student version of ``make assignments`` shows the same.
    """
    lines = source.splitlines()
    for first, last in reversed(_regions(lines, _BEGIN_SOLUTION, _END_SOLUTION)):
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines[first : last + 1] = [indent + line for line in STUB]
    return "\n".join(lines)


def has_solution(source: str) -> bool:
    """Whether ``source`` holds an nbgrader solution region."""
    return any(_BEGIN_SOLUTION.match(line) for line in source.splitlines())


def folded(body: str, *, code: bool, open_: bool = False) -> str:
    """Markdown that shows ``body`` under a "Show a solution" fold (HTML ``<details>``).

    ``code=True`` shows ``body`` as highlighted Python; ``open_=True`` unfolds it.
    """
    if code:
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
        body = f"{fence}python\n{body}\n{fence}"
    state = " open" if open_ else ""
    return (
        f'<details class="lime-solution"{state}><summary>{SOLUTION_SUMMARY}</summary>\n\n'
        f"{body}\n\n</details>"
    )


def fold_markdown_solutions(source: str, *, open_: bool = False) -> str:
    """A markdown cell's source with each solution region folded (:func:`folded`)."""
    lines = source.splitlines()
    parts, start = [], 0
    for first, last in _regions(lines, _BEGIN_SOLUTION, _END_SOLUTION):
        parts.append("\n".join(lines[start:first]))
        inside = strip_tool_markers("\n".join(lines[first + 1 : last]))
        parts.append(folded(inside, code=False, open_=open_))
        start = last + 1
    parts.append("\n".join(lines[start:]))
    return "\n\n".join(part for part in (p.strip("\n") for p in parts) if part.strip())


def page_notebook(nb: NotebookNode, kind: str = "learner") -> NotebookNode:
    """The notebook a page shows: ``nb`` as a learner (or a teacher) should read it.

    ``nb`` itself is not changed (the executed notebook keeps every line). In the copy:

    - no tool markers (:func:`strip_tool_markers`) in any cell;
    - a code cell with a solution shows nbgrader's stub in place of the solution (as the
      student version does) and, below it, the whole code under "Show a solution", folded;
    - a markdown solution (a written answer and its rubric) is folded the same way;
    - hidden tests are removed, and a checks cell left empty loses its input.

    ``kind="teacher"``: solutions are unfolded, and hidden tests stay, after a comment that
    says they are hidden from students.

    Raises
    ------
    ValueError
        For an unknown ``kind``, or a solution or hidden-test region that is never closed.
    """
    if kind not in PAGE_KINDS:
        raise ValueError(f"page kind {kind!r}: use one of {', '.join(PAGE_KINDS)}")
    teacher = kind == "teacher"
    page = copy.deepcopy(nb)
    cells: list[NotebookNode] = []
    for cell in page.cells:
        source = cell.source
        if cell.cell_type == "markdown":
            cell.source = strip_tool_markers(fold_markdown_solutions(source, open_=teacher))
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if teacher:
            lines = source.splitlines()
            for first, _ in reversed(_regions(lines, _BEGIN_HIDDEN, _END_HIDDEN)):
                lines.insert(
                    first, "# Hidden tests: run by nbgrader autograde, not in the student version"
                )
            source = "\n".join(lines)
        else:
            source = without_hidden_tests(source)
        if has_solution(source) and not teacher:
            cell.source = strip_tool_markers(solution_stub(source))
            answer = nbformat.v4.new_markdown_cell(
                folded(strip_tool_markers(source), code=True), metadata={"tags": [SOLUTION_TAG]}
            )
            cells += [cell, answer]
            continue
        cell.source = strip_tool_markers(source)
        if cell.source.strip() or cell.outputs:
            cells.append(cell)
    page.cells = cells
    return page


# --------------------------------------------------------------------------- pages offline

MATHJAX_DIR = "mathjax"
# The configuration that jupyter-server-mathjax ships (TeX in, HTML-CSS out, with its own
# STIX web fonts: the only fonts in the package).
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
_MATHJAX_PARTS = ("MathJax.js", "config", "extensions", "fonts", "jax", "LICENSE")

# nbconvert's "lab" page, with no remote script: MathJax from beside the page, no require.js
# (only widgets and old outputs load modules with it; the pages have neither) and no mermaid
# loader (no notebook draws a mermaid diagram).
PAGE_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}},
  displayAlign: "center",
  messageStyle: "none",
  showMathMenu: false
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}
<style>
details.lime-solution { margin: 0.5em 0; padding: 0.3em 0.8em; border: 1px solid #cfd8e3;
  border-radius: 4px; background: #f7f9fc; }
details.lime-solution > summary { cursor: pointer; font-weight: 600; color: #2a6ebb; }
</style>
{%- endblock extra_css -%}
{%- block html_head_css -%}
<style>
/* nbconvert's lab CSS gives output <pre> `word-break: break-all`, which splits lines inside
   words and numbers. Output and code wrap at spaces instead, and break inside a word only when
   it alone is wider than the cell (no horizontal overflow). This block comes after
   nbconvert's CSS (extra_css comes before it), so these rules win at equal specificity. */
.jp-OutputArea-output pre,
.jp-InputArea-editor .highlight pre,
.jp-RenderedHTMLCommon pre {
  white-space: pre-wrap;
  word-break: normal;
  overflow-wrap: anywhere;
}
</style>
{%- endblock html_head_css -%}
"""


def mathjax_source() -> Path:
    """The folder of MathJax that the ``jupyter-server-mathjax`` package ships.

    Raises
    ------
    RuntimeError
        When the package is not installed, with the command that installs it.
    """
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise RuntimeError(
            "the pages need MathJax from the jupyter-server-mathjax package to show formulas "
            "offline; install it with `.venv/bin/python -m pip install -e '.[test]'` "
            "(make run does)"
        ) from exc
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def install_mathjax(html_dir: Path) -> Path:
    """Copy MathJax beside the pages (``<html_dir>/mathjax``); return its ``MathJax.js``.

    Only what the pages load is copied (no translations). An existing copy is replaced.
    """
    source = mathjax_source()
    target = Path(html_dir) / MATHJAX_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for part in _MATHJAX_PARTS:
        path = source / part
        if path.is_dir():
            shutil.copytree(path, target / part)
        elif path.is_file():
            shutil.copy2(path, target / part)
    return target / "MathJax.js"


_NOTEBOOK_LINK = re.compile(r'(href\s*=\s*["\'])(\d\d_[\w.-]+)\.ipynb(?=["\'#])')


def link_pages(page: str) -> str:
    """``page`` with its links to other notebooks of the series pointing at their pages.

    A notebook links to ``07_paper_figures.ipynb``; beside the pages that file does not exist,
    its page ``07_paper_figures.html`` does. Anchors are kept; other links are left alone.

    Examples
    --------
    >>> link_pages('<a href="07_paper_figures.ipynb#3">07</a> <a href="x.ipynb">x</a>')
    '<a href="07_paper_figures.html#3">07</a> <a href="x.ipynb">x</a>'
    """
    return _NOTEBOOK_LINK.sub(r"\1\2.html", page)


def page_exporter() -> HTMLExporter:
    """nbconvert's HTML exporter for the pages: :data:`PAGE_TEMPLATE`, MathJax beside them."""
    return HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"lime_page.html.j2": PAGE_TEMPLATE})],
        template_file="lime_page.html.j2",
        mathjax_url=MATHJAX_URL,
    )


_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)"
    r"|\bimport\s*\(\s*[\"']((?:https?:)?//[^\"']+)",
    re.IGNORECASE,
)


def remote_scripts(page: str) -> list[str]:
    """The addresses of the scripts an HTML page loads from the network (none is wanted)."""
    return [match.group(1) or match.group(2) for match in _REMOTE_SCRIPT.finditer(page)]


# --------------------------------------------------------------------------- reading results


def count_figures(nb: NotebookNode) -> int:
    """The number of ``image/png`` outputs in ``nb``."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


# A cell's last expression whose value nobody wanted: a flag, None, matplotlib's handles.
_STRAY = re.compile(
    r"^(True|False|None|\[?<matplotlib\..*>\]?|\(?<Figure size .*|Text\(.*\)|"
    r"\[?<Axes: .*>\]?|\[?Text\(.*)$",
    re.DOTALL,
)


def stray_results(nb: NotebookNode) -> list[str]:
    """The ``Out:`` values a reader should not see: ``"In [n]: value"`` for each.

    A value that only a cell's last expression left behind (``True`` after an ``assert``-like
    call, ``None``, a matplotlib object) is noise in a page; the fix belongs in the notebook
    (``;`` at the end of the line, or an assignment). :func:`run_series` names each one.
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            text = output.get("data", {}).get("text/plain", "") if output.output_type == (
                "execute_result") else ""  # fmt: skip
            if text and _STRAY.match(text.strip()):
                found.append(f"In [{cell.execution_count}]: {_one_line(text, 60)}")
    return found


def _output_texts(nb: NotebookNode, streams: Sequence[str] = ("stdout", "stderr")) -> Iterable[str]:
    """The text of every output: the ``streams`` named, and each display's plain text."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "stream":
                if output.name not in streams:
                    continue
                yield output.text
            elif "text/plain" in output.get("data", {}):
                yield output.data["text/plain"]


def predictions_by(nb: NotebookNode) -> list[str]:
    """The networks a notebook says its predictions come from: one line each, in order.

    Output lines starting with ``"Predictions by: "``, or ``"UNTRAINED network: "`` (how
    :func:`helpers.plotting.model_note` names an untrained network), give a network; what
    follows ``" | "`` on such a line (a comparison, e.g. the paper's network) is left out,
    and so is a name that only repeats the start of a longer one (a model's short name
    printed after its full description).

    Returns
    -------
    list of str
        ``"Predictions by: <network>"`` per network.
    """
    models: list[str] = []
    for text in _output_texts(nb):
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(PREDICTIONS_PREFIX):
                model = line.removeprefix(PREDICTIONS_PREFIX).split(" | ")[0].strip()
            elif line.startswith(UNTRAINED_PREFIX):
                model = line.removeprefix(UNTRAINED_PREFIX).strip()
                if "untrained" not in model.lower():
                    model += " (UNTRAINED)"
            else:
                continue
            if model and model not in models:
                models.append(model)
    return [
        PREDICTIONS_PREFIX + model
        for model in models
        if not any(other != model and other.startswith(model) for other in models)
    ]


def predictions_line(lines: Sequence[str]) -> str:
    """One line for the index out of :func:`predictions_by`'s: the networks joined by "; "."""
    models = [line.removeprefix(PREDICTIONS_PREFIX) for line in lines]
    return PREDICTIONS_PREFIX + "; ".join(models) if models else ""


def first_sentence(paragraph: str) -> str:
    """The first sentence of a paragraph; ``…`` marks one that runs on into a list."""
    text = " ".join(paragraph.split())
    match = re.match(r"(.+?[.!?])(?=\s+[^\sa-z]|$)", text)  # "e.g. lime" goes on
    if match:
        return match.group(1)
    return text.rstrip(":;, ") + "…" if text else ""


def first_objective(lines: Sequence[str]) -> str:
    """The first item under ``## Learning objectives``, as a sentence; ``""`` if none.

    The item is taken whole (over as many lines as it runs), its first letter capitalised
    and its closing ``;``/``,`` made a full stop: "split an image into superpixels ...;"
    becomes "Split an image into superpixels ....".
    """
    start = next(
        (i + 1 for i, line in enumerate(lines) if line.strip().lower() == "## learning objectives"),
        None,
    )
    if start is None:
        return ""
    item: list[str] = []
    for line in lines[start:]:
        stripped = line.strip()
        if stripped.startswith(("- ", "* ")):
            if item:
                break
            item.append(stripped[2:])
        elif item and stripped and not stripped.startswith("#"):
            item.append(stripped)
        elif item or stripped.startswith("#"):
            break
    text = " ".join(" ".join(item).split()).rstrip(";,. ")
    return text[:1].upper() + text[1:] + "." if text else ""


def describe(nb: NotebookNode) -> tuple[str, str]:
    """Title and one-sentence summary from the notebook's first markdown cell.

    Returns
    -------
    (str, str)
        The first line without its ``#``s, and the first learning objective
        (:func:`first_objective`); without objectives, the first sentence of the paragraph
        under ``## Overview`` (or of the first paragraph after the title).
    """
    cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if cell is None:
        return "", ""
    lines = cell.source.splitlines()
    title_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if title_at is None:
        return "", ""
    title = lines[title_at].lstrip("#").strip()
    objective = first_objective(lines)
    if objective:
        return title, objective
    start = next(
        (i + 1 for i, line in enumerate(lines) if line.strip().lower() == "## overview"),
        title_at + 1,
    )
    paragraph: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            if paragraph:
                break
            continue
        if line.lstrip().startswith(("#", "|", "- ", "* ", "1.")):
            break
        paragraph.append(line)
    return title, first_sentence(" ".join(paragraph))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell_label(nb: NotebookNode, index: int | None) -> str:
    """How a page names a cell: its prompt ``In [n]``, else its number and first line."""
    if index is None:
        return "the start (no cell ran)"
    cell = nb.cells[index]
    if cell.get("execution_count"):
        return f"In [{cell.execution_count}]"
    first = (cell.source.strip().splitlines() or [""])[0]
    return f"cell {index + 1} ({first[:40]!r})"


def failure_banner(where: str, message: str, *, traceback_below: bool) -> NotebookNode:
    """A markdown cell for the top of a failed notebook: where it stopped and with what error."""
    fence = "~~~~"
    detail = "The traceback is in that cell, below. " if traceback_below else ""
    return nbformat.v4.new_markdown_cell(
        f"**`make run`: this notebook stopped at {where} with an error.** {detail}"
        f"`make run` went on with the other notebooks.\n\n{fence}text\n{message}\n{fence}",
        metadata={"tags": [FAILURE_TAG]},
    )


# --------------------------------------------------------------------------- checking pages

# Tool markers as a reader would see them in a page's text.
_VISIBLE_MARKER = re.compile(
    r"NBVAL_[A-Z_]+|#\s*fmt:\s*(skip|off|on)\b|#{2,3} (BEGIN|END) (SOLUTION|HIDDEN TESTS)"
)
_STDERR_BLOCK = re.compile(
    r'data-mime-type="application/vnd\.jupyter\.stderr"[^>]*>\s*<pre>(.*?)</pre>', re.DOTALL
)
_PATH_WARNING = re.compile(r"\S+\.py:\d+: \w*Warning")


def page_problems(page: str) -> list[str]:
    """What a learner's page must not have, found in its HTML; ``[]`` when it is clean.

    Looks for a script loaded from the network, a tool marker in the visible text, a
    warning with a file path in a ``stderr`` output and a widget view left for a front end.
    """
    problems = [f"loads a remote script: {url}" for url in remote_scripts(page)]
    visible = html.unescape(
        re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", page, flags=re.S))
    )
    problems += [f"shows the tool marker {m.group(0)!r}" for m in _VISIBLE_MARKER.finditer(visible)]
    for block in _STDERR_BLOCK.findall(page):
        for match in _PATH_WARNING.finditer(html.unescape(re.sub(r"<[^>]+>", "", block))):
            problems.append(f"shows a warning with a file path: {match.group(0)}")
    if WIDGET_VIEW in page:
        problems.append("keeps a widget view that only a live front end can show")
    return problems


# --------------------------------------------------------------------------- running


def new_client(
    nb: NotebookNode,
    folder: Path,
    timeout: int,
    on_cell_execute: Callable[..., None] | None = None,
) -> NotebookClient:
    """An nbclient that runs ``nb`` in ``folder`` and stops at the first error.

    ``on_cell_execute(cell=..., cell_index=...)`` is called before each code cell runs.

    nbclient normally imitates a front end's Output widgets: it collects their outputs into
    the widget state and sends that state back to the kernel on the shell channel. Sending
    while it waits for the cell's reply on the same channel can miss the reply until the cell
    times out (jupyter/nbclient#312: an ``interactive`` cell then takes ``timeout`` seconds).
    Without that imitation (an empty widget registry) nothing is sent back, and what a widget
    prints or draws lands in the cell's outputs, which is what a static page needs. The
    widgets' states are still recorded (``client.widget_state``, only read: nothing is sent),
    so that :func:`replace_widgets` can draw a progress bar's last text or an app's first
    picture.
    """
    client = NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(Path(folder).resolve())}},
        on_cell_execute=on_cell_execute,
    )
    client.widget_registry = {}
    return client


def execute_notebook(
    source: Path,
    executed_dir: Path,
    html_dir: Path,
    env: dict[str, str],
    *,
    timeout: int = 3600,
    exporter: HTMLExporter | None = None,
    log_dir: Path | None = None,
    pages: str = "learner",
) -> Result:
    """Execute one notebook and write it, executed and as HTML, whether it fails or not.

    Parameters
    ----------
    source
        The notebook to run; its folder is the kernel's working directory.
    executed_dir, html_dir
        Where ``<name>.ipynb`` and ``<name>.html`` go.
    env
        The kernel's environment (:func:`kernel_env`).
    timeout
        Seconds allowed per cell.
    exporter
        The HTML exporter to use (default :func:`page_exporter`; the page loads MathJax from
        ``<html_dir>/mathjax``, see :func:`install_mathjax`).
    log_dir
        Where ``<name>.log`` gets the kernel process's own stdout and stderr (default: they
        go to this process's).
    pages
        ``"learner"`` (solutions folded, no hidden tests) or ``"teacher"`` (solutions open,
        hidden tests shown): see :func:`page_notebook`.

    Returns
    -------
    Result
        Status, time, figures and the summary of the notebook.
    """
    source = Path(source)
    nb = nbformat.read(source, as_version=4)
    title, summary = describe(nb)
    current: dict[str, int | None] = {"cell": None}  # the code cell running (or that failed)

    def on_cell_execute(cell: NotebookNode, cell_index: int) -> None:
        current["cell"] = cell_index

    client = new_client(nb, source.parent, timeout, on_cell_execute)
    options = kernel_start_options()
    log = None if log_dir is None else Path(log_dir) / f"{source.stem}.log"
    error, traceback_below = "", False
    with contextlib.ExitStack() as stack:
        if log is not None:
            log_file = stack.enter_context(open(log, "w"))
            options.update(stdout=log_file, stderr=log_file)
        start = time.perf_counter()
        try:
            client.execute(env=env, **options)
        except CellExecutionError as exc:
            error, traceback_below = f"{exc.ename}: {exc.evalue}", True
        except Exception as exc:  # timeouts, a dead kernel, a kernel that does not start, ...
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            where = f" (the kernel's own output: {log})" if log is not None else ""
            error = f"{type(exc).__name__}: {message}{where}"
        seconds = time.perf_counter() - start

    states = widget_states(client.widget_state, client.widget_buffers)
    replace_widgets(nb, _relative(source), states)
    remove_log_noise(nb)
    restyle_warnings(nb)
    result = Result(
        notebook=source,
        status="failed" if error else "ok",
        seconds=seconds,
        figures=count_figures(nb),
        title=title,
        summary=summary,
        predictions_by=predictions_by(nb),
        stray_results=stray_results(nb),
    )
    if error:
        where = _cell_label(nb, current["cell"])
        first_line = _one_line(error.splitlines()[0] if error.strip() else "unknown error")
        result.reason = f"{where}: {first_line}"
        banner = failure_banner(
            where, _ANSI.sub("", error).strip(), traceback_below=traceback_below
        )
        nb.cells.insert(0, banner)

    executed = Path(executed_dir) / source.name
    nbformat.write(nb, executed)
    result.executed = executed
    try:
        body, _ = (exporter or page_exporter()).from_notebook_node(
            page_notebook(nb, pages), resources={"metadata": {"name": source.stem}}
        )
        body = link_pages(body)
        page = Path(html_dir) / f"{source.stem}.html"
        page.write_text(body, encoding="utf-8")
        result.html = page
        result.page_problems = page_problems(body)
    except Exception as exc:  # the notebook ran; say why its page is missing
        result.status = "failed"
        result.reason = _one_line(
            "; ".join(filter(None, [result.reason, f"HTML export: {type(exc).__name__}: {exc}"]))
        )
    return result


def _relative(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_series(
    notebooks: Sequence[Path],
    build: Path,
    *,
    timeout: int = 3600,
    env: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = print,
    pages: str = "learner",
) -> list[Result]:
    """Execute every notebook in order into ``build/``; one failure does not stop the rest.

    Parameters
    ----------
    notebooks
        The notebooks, in the order of the series.
    build
        Gets ``notebooks/``, ``html/`` (with ``index.html``) and ``figures/``.
    timeout
        Seconds allowed per cell.
    env
        Base environment of the kernels (default: this process's); see :func:`kernel_env`.
    progress
        Called with one line per notebook as it starts and ends, one per stray ``Out:``
        value (:func:`stray_results`) and one per problem of its page (:func:`page_problems`)
        (``None``: silent).
    pages
        ``"learner"`` or ``"teacher"`` pages (:func:`page_notebook`).

    Returns
    -------
    list of Result
        One per notebook, in order.
    """
    build = Path(build)
    started = time.perf_counter()
    dirs = [build / name for name in ("notebooks", "html", "figures", "logs")]
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    executed_dir, html_dir, figures_dir, log_dir = dirs
    kernel = kernel_env(figures_dir, env)
    page_notebook(nbformat.v4.new_notebook(), pages)  # an unknown kind fails before any run
    install_mathjax(html_dir)
    exporter = page_exporter()
    results = []
    for number, notebook in enumerate(notebooks, start=1):
        if progress:
            progress(f"[{number}/{len(notebooks)}] {Path(notebook).name} ...")
        result = execute_notebook(
            Path(notebook),
            executed_dir,
            html_dir,
            kernel,
            timeout=timeout,
            exporter=exporter,
            log_dir=log_dir,
            pages=pages,
        )
        if progress:
            detail = f": {result.reason}" if result.failed else ""
            figures = f"{result.figures} figure{'' if result.figures == 1 else 's'}"
            progress(
                f"[{number}/{len(notebooks)}] {result.notebook.name} {result.status} "
                f"({result.seconds:.1f} s, {figures}){detail}"
            )
            for stray in result.stray_results:
                progress(f"    a stray Out: value to remove from the notebook: {stray}")
            for problem in result.page_problems:
                progress(f"    its page {problem}")
        results.append(result)
    write_index(results, html_dir / "index.html", total_seconds=time.perf_counter() - started)
    return results


# --------------------------------------------------------------------------- reporting


def summary_table(results: Sequence[Result]) -> str:
    """The table printed at the end: notebook, status, seconds, figures, and a total row."""
    width = max([len("notebook"), *(len(r.notebook.name) for r in results)])
    rows = [f"{'notebook':<{width}}  {'status':<6}  {'seconds':>7}  {'figures':>7}"]
    rows.append("-" * len(rows[0]))
    for r in results:
        rows.append(f"{r.notebook.name:<{width}}  {r.status:<6}  {r.seconds:7.1f}  {r.figures:7d}")
    rows.append("-" * len(rows[0]))
    failed = sum(r.failed for r in results)
    status = "ok" if not failed else f"{failed} bad"
    total = sum(r.seconds for r in results)
    figures = sum(r.figures for r in results)
    rows.append(f"{'total':<{width}}  {status:<6}  {total:7.1f}  {figures:7d}")
    return "\n".join(rows)


def failure_lines(results: Sequence[Result]) -> list[str]:
    """One line per failed notebook: its name and why it failed."""
    return [f"{r.notebook.name}: {r.reason}" for r in results if r.failed]


def _inline_markdown(text: str) -> str:
    """Escape ``text`` for HTML and render the little inline markdown a summary line uses."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", out)


_INDEX_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem; border-bottom: 1px solid #ddd; }
td.num, td.status { text-align: right; white-space: nowrap; }
td.status { text-align: left; }
tfoot td { font-weight: bold; border-top: 2px solid #999; }
.summary { margin: 0.2rem 0 0; }
.model { margin: 0.2rem 0 0; font-size: 0.9em; color: #444; }
.failed { color: #b00020; font-weight: bold; }
.reason { margin: 0.2rem 0 0; font-size: 0.9em; color: #b00020; }
"""


def notebook_number(path: Path, position: int) -> str:
    """The number a notebook goes by: its file name's leading digits (``"07"``), else
    ``position`` with two digits."""
    match = re.match(r"(\d+)_", Path(path).name)
    return match.group(1) if match else f"{position:02d}"


def _duration(seconds: float) -> str:
    """``"7 min 57 s"`` (or ``"42 s"``)."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def write_index(
    results: Sequence[Result], path: Path, *, total_seconds: float | None = None
) -> Path:
    """Write ``index.html``: the notebooks in order with time, summary and model.

    Each row gives the notebook's number (``00``, ``01``, ... as in its file name), links its
    page and shows its title, its first learning objective, one ``Predictions by: ...`` line
    (:func:`predictions_line`; none when it named no network), its status (with the reason
    when it failed), seconds and number of figures. The total time of the run is stated
    above the table and in its last row.

    Parameters
    ----------
    results
        The notebooks' results, in order.
    path
        Where the page goes.
    total_seconds
        Wall-clock time of the whole run (default: the sum of the notebooks' times).
    """
    rows = []
    for position, r in enumerate(results):
        name = html.escape(r.notebook.name)
        title = _inline_markdown(r.title or r.notebook.stem)
        link = f'<a href="{html.escape(r.html.name)}">{title}</a>' if r.html else title
        parts = [f"{link}<br><small>{name}</small>"]
        if r.summary:
            parts.append(f'<p class="summary">{_inline_markdown(r.summary)}</p>')
        model = predictions_line(r.predictions_by)
        if model:
            parts.append(f'<p class="model">{html.escape(model)}</p>')
        if r.failed:
            parts.append(f'<p class="reason">{html.escape(r.reason)}</p>')
        status = '<span class="failed">failed</span>' if r.failed else "ok"
        number = notebook_number(r.notebook, position)
        rows.append(
            f"<tr><td class='num'>{number}</td><td>{''.join(parts)}</td>"
            f"<td class='status'>{status}</td><td class='num'>{r.seconds:.0f} s</td>"
            f"<td class='num'>{r.figures}</td></tr>"
        )
    notebooks_seconds = sum(r.seconds for r in results)
    total = notebooks_seconds if total_seconds is None else total_seconds
    figures = sum(r.figures for r in results)
    failed = sum(r.failed for r in results)
    verdict = "all ran" if not failed else f"{failed} of {len(results)} failed"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LIME, step by step: the executed notebooks</title>
<style>{_INDEX_STYLE}</style>
</head>
<body>
<h1>LIME, step by step</h1>
<p>The notebooks in order, as executed by <code>make run</code> on
{datetime.now().strftime("%Y-%m-%d %H:%M")}: {len(results)} notebooks, {verdict}.
<strong>Total time of the run: {_duration(total)}</strong> ({total:.0f} s, of which
{notebooks_seconds:.0f} s running the notebooks). Open a notebook in JupyterLab to run it
yourself and use its widgets. The figures saved by <code>save_figure</code> are in
<a href="../figures/">../figures/</a>.</p>
<table>
<thead><tr><th>#</th><th>notebook</th><th>status</th><th>time</th><th>figures</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
<tfoot><tr><td></td><td>total (the whole run)</td><td class='status'>{verdict}</td>
<td class='num'>{total:.0f} s</td><td class='num'>{figures}</td></tr></tfoot>
</table>
</body>
</html>
"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def pages_verdict(results: Sequence[Result], kind: str = "learner") -> str:
    """One line on the pages written: clean, or how many have problems (named as they ran)."""
    pages = [r for r in results if r.html is not None]
    bad = [r.notebook.name for r in pages if r.page_problems]
    if not bad:
        return (
            f"Pages: {len(pages)} {kind} pages; none loads a remote script or shows a tool "
            "marker, a warning with a file path or a widget placeholder."
        )
    return f"Pages: {len(bad)} of {len(pages)} have problems (listed above): {', '.join(bad)}."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the series from the command line; 0 when every notebook ran, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks, in order")
    parser.add_argument("--build", type=Path, default=Path("build"), help="output directory")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument(
        "--pages",
        choices=PAGE_KINDS,
        default="learner",
        help="learner pages fold each solution under 'Show a solution' and leave hidden tests "
        "out; teacher pages show both (default: learner)",
    )
    args = parser.parse_args(argv)
    # nbconvert warns, once per page, that matplotlib's images have no alt text.
    logging.getLogger("traitlets").setLevel(logging.ERROR)

    def say(line: str) -> None:
        print(line, flush=True)

    results = run_series(
        args.notebooks, args.build, timeout=args.timeout, progress=say, pages=args.pages
    )
    print()
    print(summary_table(results))
    print()
    build = args.build
    print(
        f"Executed notebooks: {build / 'notebooks'}  HTML ({args.pages} pages, readable "
        f"offline): {build / 'html' / 'index.html'}  figures: {build / 'figures'}"
    )
    print(pages_verdict(results, args.pages))
    failures = failure_lines(results)
    if failures:
        print(f"\n{len(failures)} of {len(results)} notebooks failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
