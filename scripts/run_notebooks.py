"""Execute the notebook series into ``build/``: what ``make run`` does.

For every notebook, in order, and whether or not an earlier one failed:

1. execute it in a fresh kernel, in the notebook's own folder, with matplotlib's inline
   backend (figures appear in the outputs, as in JupyterLab) and ``LIME_TUTORIAL_FIGURES``
   pointing at ``build/figures`` (where ``helpers.plotting.save_figure`` keeps its copies);
2. tidy the outputs: drop TensorFlow/absl/LiteRT log lines from the streams, and replace each
   widget by a one-line note to use it in JupyterLab (a static page cannot run a widget; what
   an ``interactive`` widget drew for its initial values stays in the outputs);
3. write the executed notebook to ``build/notebooks`` and its HTML to ``build/html``; a notebook
   that failed is written as far as it ran, with the traceback in the failing cell and a
   banner at the top. What the kernel process itself prints (TensorFlow echoes its log there
   too) goes to ``build/logs/<notebook>.log`` instead of the terminal.

Then it writes ``build/html/index.html``, prints a table (notebook, status, seconds, figures)
and exits with status 1 if any notebook failed, naming each one and why on one line.

Usage: ``python scripts/run_notebooks.py [--build build] [--timeout 3600] notebooks/*.ipynb``
"""

from __future__ import annotations

import argparse
import contextlib
import html
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from helpers.settings import FIGURES_ENV

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
PREDICTIONS_PREFIX = "Predictions by: "
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
        Title line and first sentence of the notebook's first markdown cell.
    predictions_by
        Lines starting with ``"Predictions by: "`` printed by the notebook.
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


def replace_widgets(nb: NotebookNode, source: str) -> int:
    """Replace each widget view in ``nb`` by :func:`widget_note`, in place.

    A static page (HTML, or the executed notebook opened without a kernel) cannot run a
    widget. What an ``interactive`` widget drew for its initial values is already among the
    cell's outputs (:func:`new_client` lets it through), so the view itself is replaced by a
    note saying where to use the widget. Widget state in the metadata is dropped.

    Parameters
    ----------
    nb
        An executed notebook.
    source
        How the note names the notebook to open, e.g. ``notebooks/04_kernel_weighting.ipynb``.

    Returns
    -------
    int
        The number of widget views replaced.
    """
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                replaced += 1
                output = widget_note(source)
            outputs.append(output)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


# --------------------------------------------------------------------------- reading results


def count_figures(nb: NotebookNode) -> int:
    """The number of ``image/png`` outputs in ``nb``."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def _output_texts(nb: NotebookNode) -> Iterable[str]:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "stream":
                yield output.text
            elif "text/plain" in output.get("data", {}):
                yield output.data["text/plain"]


def predictions_by(nb: NotebookNode) -> list[str]:
    """The distinct output lines that start with ``"Predictions by: "``, in order.

    A line that only repeats the start of a longer one (a model's short name printed after
    its full description) is left out.
    """
    lines: list[str] = []
    for text in _output_texts(nb):
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(PREDICTIONS_PREFIX) and line not in lines:
                lines.append(line)
    return [line for line in lines if not any(o != line and o.startswith(line) for o in lines)]


def first_sentence(paragraph: str) -> str:
    """The first sentence of a paragraph; ``…`` marks one that runs on into a list."""
    text = " ".join(paragraph.split())
    match = re.match(r"(.+?[.!?])(?=\s+[^\sa-z]|$)", text)  # "e.g. lime" goes on
    if match:
        return match.group(1)
    return text.rstrip(":;, ") + "…" if text else ""


def describe(nb: NotebookNode) -> tuple[str, str]:
    """Title and one-line summary from the notebook's first markdown cell.

    Returns
    -------
    (str, str)
        The first line without its ``#``s, and the first sentence of the paragraph under
        ``## Overview`` (or, without one, of the first paragraph after the title).
    """
    cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if cell is None:
        return "", ""
    lines = cell.source.splitlines()
    title_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if title_at is None:
        return "", ""
    title = lines[title_at].lstrip("#").strip()
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
    prints or draws lands in the cell's outputs, which is what a static page needs.
    """
    client = NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=False,
        store_widget_state=False,
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
        The HTML exporter to use (a new one by default).
    log_dir
        Where ``<name>.log`` gets the kernel process's own stdout and stderr (default: they
        go to this process's).

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

    replace_widgets(nb, _relative(source))
    remove_log_noise(nb)
    result = Result(
        notebook=source,
        status="failed" if error else "ok",
        seconds=seconds,
        figures=count_figures(nb),
        title=title,
        summary=summary,
        predictions_by=predictions_by(nb),
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
        body, _ = (exporter or HTMLExporter(template_name="lab")).from_notebook_node(
            nb, resources={"metadata": {"name": source.stem}}
        )
        page = Path(html_dir) / f"{source.stem}.html"
        page.write_text(body, encoding="utf-8")
        result.html = page
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
        Called with one line per notebook as it starts and ends (``None``: silent).

    Returns
    -------
    list of Result
        One per notebook, in order.
    """
    build = Path(build)
    dirs = [build / name for name in ("notebooks", "html", "figures", "logs")]
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    executed_dir, html_dir, figures_dir, log_dir = dirs
    kernel = kernel_env(figures_dir, env)
    exporter = HTMLExporter(template_name="lab")
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
        )
        if progress:
            detail = f": {result.reason}" if result.failed else ""
            figures = f"{result.figures} figure{'' if result.figures == 1 else 's'}"
            progress(
                f"[{number}/{len(notebooks)}] {result.notebook.name} {result.status} "
                f"({result.seconds:.1f} s, {figures}){detail}"
            )
        results.append(result)
    write_index(results, html_dir / "index.html")
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
td.num { text-align: right; white-space: nowrap; }
.summary { margin: 0.2rem 0 0; }
.model { margin: 0.2rem 0 0; font-size: 0.9em; color: #444; }
.failed { color: #b00020; font-weight: bold; }
.reason { margin: 0.2rem 0 0; font-size: 0.9em; color: #b00020; }
"""


def write_index(results: Sequence[Result], path: Path) -> Path:
    """Write ``index.html``: the notebooks in order with time, summary and model.

    Each row links the notebook's page and shows its title, the first sentence of its
    overview, the ``Predictions by: ...`` lines it printed (none when it printed none), its
    status (with the reason when it failed), seconds and number of figures.
    """
    rows = []
    for number, r in enumerate(results, start=1):
        name = html.escape(r.notebook.name)
        title = _inline_markdown(r.title or r.notebook.stem)
        link = f'<a href="{html.escape(r.html.name)}">{title}</a>' if r.html else title
        parts = [f"{link}<br><small>{name}</small>"]
        if r.summary:
            parts.append(f'<p class="summary">{_inline_markdown(r.summary)}</p>')
        parts += [f'<p class="model">{html.escape(line)}</p>' for line in r.predictions_by]
        if r.failed:
            parts.append(f'<p class="reason">{html.escape(r.reason)}</p>')
        status = '<span class="failed">failed</span>' if r.failed else "ok"
        rows.append(
            f"<tr><td class='num'>{number}</td><td>{''.join(parts)}</td><td>{status}</td>"
            f"<td class='num'>{r.seconds:.0f} s</td><td class='num'>{r.figures}</td></tr>"
        )
    total = sum(r.seconds for r in results)
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
{datetime.now().strftime("%Y-%m-%d %H:%M")}: {len(results)} notebooks, {verdict},
{total:.0f} s in all. Open a notebook in JupyterLab to run it yourself and use its widgets.
The figures saved by <code>save_figure</code> are in <a href="../figures/">../figures/</a>.</p>
<table>
<thead><tr><th>#</th><th>notebook</th><th>status</th><th>time</th><th>figures</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the series from the command line; 0 when every notebook ran, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks, in order")
    parser.add_argument("--build", type=Path, default=Path("build"), help="output directory")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    # nbconvert warns, once per page, that matplotlib's images have no alt text.
    logging.getLogger("traitlets").setLevel(logging.ERROR)

    def say(line: str) -> None:
        print(line, flush=True)

    results = run_series(args.notebooks, args.build, timeout=args.timeout, progress=say)
    print()
    print(summary_table(results))
    print()
    build = args.build
    print(
        f"Executed notebooks: {build / 'notebooks'}  HTML: {build / 'html' / 'index.html'}  "
        f"figures: {build / 'figures'}"
    )
    failures = failure_lines(results)
    if failures:
        print(f"\n{len(failures)} of {len(results)} notebooks failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
