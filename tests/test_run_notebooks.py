"""`make run`'s runner (scripts/run_notebooks.py): inline figures, no log noise, the whole series.

Tiny notebooks written into tmp_path go through the same functions `make run` calls; one real
notebook (04, a few seconds) checks a widget's initial figure.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import sys
from pathlib import Path

import nbconvert
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_runner():
    spec = importlib.util.spec_from_file_location(
        "run_notebooks", REPO / "scripts" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


runner = _load_runner()

# What TensorFlow 2.21, absl and LiteRT print on their own (copied from a kernel's stderr).
TF_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795625165.205576    4171 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results.\n"
    "I0000 00:00:1795625165.239984    4171 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
    "2024-11-25 16:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations "
    "are on.\n"
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
)
KERAS_DOWNLOAD = (
    "Downloading data from https://storage.googleapis.com/x.json\n"
    "35363/35363 ━━━━━━━━━━━━━━━━━━━━ 0s 0us/step\n"
)
NOISE_WORDS = ("oneDNN", "absl", "XNNPACK", "cpu_feature_guard", "To enable the following")


def write_notebook(path: Path, *cells: str, markdown: str | None = None) -> Path:
    """A notebook of code cells (and an optional first markdown cell) at ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if markdown is not None:
        nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)
    return path


def code_outputs(nb) -> list[list[str]]:
    """Per code cell, the kind of each output: a stream's name or a display's first mime type."""
    kinds = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            kinds.append(
                [o.get("name") or ("image/png" if "image/png" in o.get("data", {}) else
                 next(iter(o.get("data", {})), o.output_type)) for o in cell.outputs]
            )  # fmt: skip
    return kinds


# ----------------------------------------------------------------------------- one notebook


def test_figures_are_inline_and_log_noise_is_gone(tmp_path, monkeypatch, capfd):
    # make test and CI export MPLBACKEND=Agg; the runner must still give the kernel the
    # inline backend. TF's own log level is left at its default, so the real lines appear.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    source = write_notebook(
        tmp_path / "tiny.ipynb",
        "# NBVAL_IGNORE_OUTPUT\nimport tensorflow as tf\nimport matplotlib.pyplot as plt\n"
        "print('sum', int(tf.constant(2) + 1))",
        "fig, ax = plt.subplots(figsize=(2, 2))\nax.plot([0, 1], [1, 0])\nplt.show()",
        # The noise is base64-encoded so that the page's copy of the source does not hold it.
        "import base64, sys, warnings\n"
        f"sys.stderr.write(base64.b64decode({base64.b64encode(TF_NOISE.encode())!r}).decode())\n"
        f"sys.stdout.write(base64.b64decode({base64.b64encode(KERAS_DOWNLOAD.encode())!r}).decode())\n"
        "print('Predictions by: a toy model')\n"
        "warnings.warn('a warning the learner should see', UserWarning, stacklevel=1)",
        "plt.figure(figsize=(2, 2))\nplt.imshow([[0, 1], [1, 0]]);",  # shown at the cell's end
        "from helpers.plotting import save_figure\nfig = plt.figure(figsize=(1, 1))\n"
        "save_figure(fig, 'tiny_saved')\nplt.close(fig)",
        markdown="# Tiny · a test notebook\n\n## Overview\nIt draws two figures. Then more.",
    )
    results = runner.run_series([source], tmp_path / "build", progress=None)
    # The kernel process echoes TensorFlow's lines to its own stderr: into the log, not here.
    assert not any(word in capfd.readouterr().err for word in NOISE_WORDS)
    assert (tmp_path / "build" / "logs" / "tiny.log").is_file()

    [result] = results
    assert (result.status, result.reason, result.figures) == ("ok", "", 2)
    assert result.page_problems == []  # the NBVAL marker and the warning's path are gone
    assert (result.title, result.summary) == ("Tiny · a test notebook", "It draws two figures.")
    assert result.predictions_by == ["Predictions by: a toy model"]
    executed = nbformat.read(tmp_path / "build" / "notebooks" / "tiny.ipynb", as_version=4)
    assert code_outputs(executed) == [
        ["stdout"],
        ["image/png"],
        ["stdout", "stderr"],
        ["image/png"],
        [],
    ]
    cells = [c for c in executed.cells if c.cell_type == "code"]
    assert cells[0].outputs[0].text == "sum 3\n"  # TF's lines on import are gone
    assert cells[2].outputs[0].text == "Predictions by: a toy model\n"
    assert "UserWarning: a warning the learner should see" in cells[2].outputs[1].text
    assert not any(word in cells[2].outputs[1].text for word in NOISE_WORDS)

    page = (tmp_path / "build" / "html" / "tiny.html").read_text()
    assert page.count("<img") == 2
    assert page.count('src="data:image/png;base64,') == 2
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 can spell "absl"
    for word in (*NOISE_WORDS, "Downloading data from", "us/step"):
        assert word not in text, word
    assert "a warning the learner should see" in page
    # save_figure still writes its copy into build/figures
    assert (tmp_path / "build" / "figures" / "tiny_saved.png").is_file()


def test_a_widget_shows_its_initial_figure_and_a_note(tmp_path, offline_data, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(REPO)
    source = REPO / "notebooks" / "04_kernel_weighting.ipynb"
    shown = sum(  # one figure per cell that shows one, the widget's cell included
        "plt.show()" in cell.source
        for cell in nbformat.read(source, as_version=4).cells
        if cell.cell_type == "code"
    )
    [result] = runner.run_series([source], tmp_path / "build", timeout=150, progress=None)

    assert (result.status, result.figures) == ("ok", shown), result.reason
    # nbclient#312: imitating the Output widget made the widget cell wait for its timeout.
    assert result.seconds < 120
    executed = nbformat.read(tmp_path / "build" / "notebooks" / source.name, as_version=4)
    assert "widgets" not in executed.metadata
    widget_cell = next(c for c in executed.cells if "widgets.interactive" in c.source)
    assert [list(o.data) for o in widget_cell.outputs] == [
        ["image/png", "text/plain"],
        ["text/markdown", "text/plain"],
    ]
    note = widget_cell.outputs[1].data["text/plain"]
    assert note == (
        "Interactive widget: open notebooks/04_kernel_weighting.ipynb in JupyterLab to use it; "
        "this page shows its first output."
    )
    page = (tmp_path / "build" / "html" / f"{source.stem}.html").read_text()
    assert page.count("<img") == shown
    assert "open notebooks/04_kernel_weighting.ipynb in JupyterLab to use it" in page
    assert "application/vnd.jupyter.widget" not in page
    assert (tmp_path / "build" / "figures" / "kernel_weights.png").is_file()


# ----------------------------------------------------------------------------- the series


def test_a_failing_notebook_does_not_stop_the_series(tmp_path, capsys):
    first = write_notebook(
        tmp_path / "a_first.ipynb",
        "print('Predictions by: InceptionV3 (untrained: random weights)')",
        markdown="# A · first\n\nThe first one. It works.",
    )
    broken = write_notebook(
        tmp_path / "b_broken.ipynb",
        "x = 1",
        "print('before')\n1 / 0",
        "print('never run')",
        markdown="# B · broken",
    )
    last = write_notebook(tmp_path / "c_last.ipynb", "print('last ran')")
    build = tmp_path / "build"

    status = runner.main([str(first), str(broken), str(last), "--build", str(build)])

    out, err = capsys.readouterr()
    assert status == 1
    table = out[out.index("notebook ") :].splitlines()
    assert re.fullmatch(r"notebook\s+status\s+seconds\s+figures", table[0])
    assert [row.split()[:2] for row in table[2:5]] == [
        ["a_first.ipynb", "ok"],
        ["b_broken.ipynb", "failed"],
        ["c_last.ipynb", "ok"],
    ]
    assert table[6].split()[:3] == ["total", "1", "bad"]
    assert err.splitlines()[-2:] == [
        "1 of 3 notebooks failed:",
        "  b_broken.ipynb: In [2]: ZeroDivisionError: division by zero",
    ]
    # The last notebook ran, and every notebook has its executed copy and its page.
    executed_last = nbformat.read(build / "notebooks" / "c_last.ipynb", as_version=4)
    assert executed_last.cells[0].outputs[0].text == "last ran\n"
    assert sorted(p.name for p in (build / "html").iterdir()) == [
        "a_first.html",
        "b_broken.html",
        "c_last.html",
        "index.html",
        "mathjax",
    ]
    # The failed notebook: a banner on top, the traceback in its cell, later cells not run.
    executed = nbformat.read(build / "notebooks" / "b_broken.ipynb", as_version=4)
    assert executed.cells[0].metadata.tags == [runner.FAILURE_TAG]
    assert "stopped at In [2]" in executed.cells[0].source
    failing = executed.cells[3]
    assert [o.output_type for o in failing.outputs] == ["stream", "error"]
    assert failing.outputs[1].ename == "ZeroDivisionError"
    assert executed.cells[4].execution_count is None and executed.cells[4].outputs == []
    page = (build / "html" / "b_broken.html").read_text()
    assert "Traceback" in page and "ZeroDivisionError" in page and "before" in page


def test_a_timeout_and_a_dead_kernel_are_named_and_the_series_goes_on(tmp_path):
    slow = write_notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    dies = write_notebook(tmp_path / "dies.ipynb", "import os\nos._exit(3)")
    build = tmp_path / "build"

    results = runner.run_series([slow, dies], build, timeout=2, progress=None)

    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].reason == (
        "In [2]: CellTimeoutError: A cell timed out while it was being executed, after 2 "
        f"seconds. (the kernel's own output: {build / 'logs' / 'slow.log'})"
    )
    # Whether the kernel announced the cell before dying decides how the cell is named.
    where, rest = results[1].reason.split(": ", 1)
    assert where in {"In [1]", "cell 1 ('import os')"}
    assert rest == (
        f"DeadKernelError: Kernel died (the kernel's own output: {build / 'logs' / 'dies.log'})"
    )
    assert results[0].seconds < 20
    banner = nbformat.read(build / "notebooks" / "slow.ipynb", as_version=4).cells[0]
    assert banner.source.startswith("**`make run`: this notebook stopped at In [2] with an error")
    assert "traceback" not in banner.source  # there is none for a timeout
    assert (build / "html" / "dies.html").is_file()


def test_index_links_the_series_in_order_with_times_summaries_and_models(tmp_path):
    results = [
        runner.Result(
            notebook=Path("notebooks/00_x.ipynb"),
            status="ok",
            seconds=12.4,
            figures=3,
            title="00 · First",
            summary="Uses `code` and *emphasis* & more.",
            html=Path("00_x.html"),
        ),
        runner.Result(
            notebook=Path("notebooks/10_y.ipynb"),
            status="failed",
            seconds=3.0,
            reason="In [4]: WeightsUnavailableError: no weights",
            title="10 · Second",
            predictions_by=[
                "Predictions by: MobileNetV2 (int8), real weights",
                "Predictions by: InceptionV3 (UNTRAINED)",
            ],
            html=Path("10_y.html"),
        ),
    ]
    page = runner.write_index(results, tmp_path / "index.html", total_seconds=477.2).read_text()

    rows = re.findall(r"<tr><td class='num'>.*?</tr>", page)
    assert len(rows) == 2
    # numbered as the files are, not by position
    assert [re.match(r"<tr><td class='num'>(\d+)</td>", row).group(1) for row in rows] == [
        "00",
        "10",
    ]
    assert '<a href="00_x.html">00 · First</a>' in rows[0]
    assert "Uses <code>code</code> and <em>emphasis</em> &amp; more." in rows[0]
    assert "12 s" in rows[0] and ">3</td>" in rows[0] and "Predictions by" not in rows[0]
    assert '<a href="10_y.html">10 · Second</a>' in rows[1]
    # exactly one line per row, naming both networks
    assert rows[1].count("Predictions by") == 1
    assert (
        '<p class="model">Predictions by: MobileNetV2 (int8), real weights; '
        "InceptionV3 (UNTRAINED)</p>"
    ) in rows[1]
    assert "In [4]: WeightsUnavailableError: no weights" in rows[1]
    assert "1 of 2 failed" in page
    # the total time of the run, above the table and in its last row
    words = " ".join(page.split())
    assert "Total time of the run: 7 min 57 s</strong> (477 s, of which 15 s running" in words
    assert re.search(r"<tfoot><tr>.*?477 s</td><td class='num'>3</td></tr></tfoot>", page, re.S)


def test_notebook_number_comes_from_the_file_name():
    assert runner.notebook_number(Path("notebooks/07_paper_figures.ipynb"), 99) == "07"
    assert runner.notebook_number(Path("x/10_last.ipynb"), 0) == "10"
    assert runner.notebook_number(Path("tiny.ipynb"), 3) == "03"


# ----------------------------------------------------------------------------- pieces


def test_predictions_by_names_each_network_once_and_the_index_gets_one_line():
    out = nbformat.v4.new_output
    first, second = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")
    first.outputs = [
        out("stream", name="stdout", text="x\nPredictions by: Net (int8), real weights\n"),
        out("execute_result", data={"text/plain": "Predictions by: Net (int8)"}),
    ]
    second.outputs = [
        out(
            "stream", name="stdout", text="  Predictions by: Net (int8) | the paper's: Inception\n"
        ),
        out("stream", name="stderr", text="Predictions by: Net (int8), real weights\n"),
        out("stream", name="stdout", text="Model predictions by: nobody\n"),
        # helpers.plotting.model_note's text for an untrained network
        out("display_data", data={"text/plain": "UNTRAINED network: InceptionV3, random\nwhy"}),
    ]
    nb = nbformat.v4.new_notebook(cells=[first, second])
    lines = runner.predictions_by(nb)
    assert lines == [
        "Predictions by: Net (int8), real weights",
        "Predictions by: InceptionV3, random (UNTRAINED)",
    ]
    assert runner.predictions_line(lines) == (
        "Predictions by: Net (int8), real weights; InceptionV3, random (UNTRAINED)"
    )
    assert runner.predictions_by(nbformat.v4.new_notebook()) == []
    assert runner.predictions_line([]) == ""


def test_clean_stream_text_drops_exactly_the_log_lines():
    kept = "UserWarning: keep me\n  warnings.warn('keep me')\nE: a line of the notebook\n"
    assert runner.clean_stream_text(TF_NOISE + kept, "stderr") == kept
    # On stdout only Keras' download line and its progress bar go.
    stdout = (
        "Downloading data from https://storage.googleapis.com/a.h5\n"
        "87910968/87910968 ━━━━━━━━━━━━━━━━━━━━ 2s 0us/step\n"
        "I0000 00:00:1.0    1 x.cc:1] printed on purpose\n"
        "12/12 ━━━━━━━━━━━━━━━━━━━━ 0s 4ms/step - accuracy: 0.9\n"
    )
    assert runner.clean_stream_text(stdout, "stdout") == stdout.split("\n", 2)[2]
    # Fatal records say why a kernel died: they stay.
    fatal = "F0000 00:00:1.0    1 x.cc:1] Check failed\n"
    assert runner.clean_stream_text(fatal, "stderr") == fatal


def test_remove_log_noise_merges_split_records_and_drops_empty_outputs():
    out = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        out("stream", name="stderr", text="I0000 00:00:1.0    1 port.cc:153] oneD"),
        out("stream", name="stderr", text="NN custom operations are on.\n"),
        out("stream", name="stdout", text="result\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert runner.remove_log_noise(nb) == 1
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "result\n")]


def test_describe_takes_the_title_and_the_first_objective_whole():
    def first_cell(name):
        return nbformat.read(REPO / "notebooks" / name, as_version=4)

    title, summary = runner.describe(first_cell("04_kernel_weighting.ipynb"))
    assert title == "04 · Kernel weighting: near samples count more"
    # the objective runs over two lines in the notebook: it is taken whole
    assert summary == (
        "Compute lime's cosine distance of a sample from the number of superpixels it keeps, "
        "and turn distances into kernel weights."
    )
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title, summary = runner.describe(first_cell(path.name))
        assert title.startswith(path.name[:2] + " · "), path.name
        assert re.fullmatch(r"[A-Z`].*[^.;,:…]\.", summary), (path.name, summary)


def test_first_objective_is_one_full_sentence():
    lines = (
        "# T\n\n## Learning objectives\nAfter this notebook you can\n\n"
        "- predict how a method changes the number of superpixels,\n"
        "  and so the vocabulary an explanation can use;\n- second one.\n\n## Next"
    ).splitlines()
    assert runner.first_objective(lines) == (
        "Predict how a method changes the number of superpixels, and so the vocabulary an "
        "explanation can use."
    )
    assert runner.first_objective(["# T", "", "## Overview", "Text."]) == ""
    # without objectives, the overview's first sentence
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# T\n\n## Overview\nIt does x. Then y.")]
    )
    assert runner.describe(nb) == ("T", "It does x.")
    assert runner.first_sentence("This notebook checks, before you start, that") == (
        "This notebook checks, before you start, that…"
    )
    assert runner.first_sentence("w = 0.25 is e.g. lime's. Next one.") == (
        "w = 0.25 is e.g. lime's."
    )


def test_kernel_env_forces_the_inline_backend_and_names_the_figures_dir(tmp_path):
    env = runner.kernel_env(tmp_path / "figs", {"MPLBACKEND": "Agg", "KEEP": "1"})
    assert env == {
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "LIME_TUTORIAL_FIGURES": str((tmp_path / "figs").resolve()),
        "KEEP": "1",
    }


def test_make_run_calls_this_runner():
    recipe = (REPO / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/run_notebooks.py" in recipe
    assert "MPLBACKEND" not in recipe and "nbconvert" not in recipe


@pytest.mark.parametrize("ok", [True, False])
def test_summary_table_and_failure_lines(ok):
    results = [
        runner.Result(notebook=Path("00_a.ipynb"), status="ok", seconds=1.25, figures=2),
        runner.Result(
            notebook=Path("01_long_name.ipynb"),
            status="ok" if ok else "failed",
            seconds=10.0,
            figures=0,
            reason="" if ok else "In [3]: ValueError: bad",
        ),
    ]
    assert runner.summary_table(results).splitlines() == [
        "notebook            status  seconds  figures",
        "--------------------------------------------",
        "00_a.ipynb          ok          1.2        2",
        f"01_long_name.ipynb  {'ok    ' if ok else 'failed'}     10.0        0",
        "--------------------------------------------",
        f"total               {'ok    ' if ok else '1 bad '}     11.2        2",
    ]
    assert runner.failure_lines(results) == (
        [] if ok else ["01_long_name.ipynb: In [3]: ValueError: bad"]
    )


# ----------------------------------------------------------------------------- clean pages

# A 2 x 1 PNG (red, blue), drawn by the widget app below.
TWO_PIXELS = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGP4z8DAwPAfAAcAAf9+CLHQAAAAAElFTkSuQmCC"


def test_progress_bars_become_text_and_an_app_shows_its_first_picture(tmp_path):
    source = write_notebook(
        tmp_path / "05_widgets.ipynb",
        # a kept bar and one that hides itself when it closes (leave=False)
        "from tqdm.auto import tqdm\n"
        "for _ in tqdm(range(7), desc='model calls', unit='img'):\n    pass\n"
        "for _ in tqdm(range(3), desc='gone', leave=False):\n    pass",
        "import base64\nimport ipywidgets as w\n"
        f"png = base64.b64decode({TWO_PIXELS!r})\n"
        "image = w.Image(value=b'', format='png', layout=w.Layout(width='40px', height='20px'))\n"
        "app = w.VBox([w.HTML('<h3>An app</h3>'), w.HBox([image, w.HTML('p = 0.97')]),\n"
        "              w.Dropdown(options=['frog', 'cat'], value='cat', description='label'),\n"
        "              w.Button(description='Reset')])\n"
        "image.value = png  # drawn after it was built, as the explorer does\n"
        "app",
        "import ipywidgets as w\nw.IntSlider(value=3, description='k')",
    )
    [result] = runner.run_series([source], tmp_path / "build", progress=None)
    assert (result.status, result.page_problems) == ("ok", []), result.reason

    executed = nbformat.read(tmp_path / "build" / "notebooks" / source.name, as_version=4)
    bars, app, slider = (c.outputs for c in executed.cells)
    assert [o.output_type for o in bars] == ["stream"]
    assert re.fullmatch(
        r"model calls: 100%\|██████████\| 7/7 \[\d\d:\d\d<00:00, *[\d.]+(img/s|s/img)\]\n",
        bars[0].text,
    ), bars[0].text
    assert "gone" not in bars[0].text
    [snapshot] = app
    html_ = snapshot.data["text/html"]
    assert f'<img src="data:image/png;base64,{TWO_PIXELS}"' in html_
    assert "width:40px;height:20px;" in html_
    assert "<h3>An app</h3>" in html_ and "p = 0.97" in html_
    assert "label: cat" in html_ and ">Reset</span>" in html_
    assert snapshot.data["text/plain"] == (
        f"Interactive widget: open {source} in JupyterLab to use it; "
        "this page shows its first output."
    )
    # a widget with nothing but controls: the note alone
    assert [o.data["text/plain"] for o in slider] == [snapshot.data["text/plain"]]
    page = (tmp_path / "build" / "html" / "05_widgets.html").read_text()
    assert page.count("Interactive widget: open") == 2
    assert "model calls: 100%|██████████| 7/7" in page
    assert "application/vnd.jupyter.widget" not in page
    assert "widget-state" not in page  # no widget state in the notebook or its page
    assert "widgets" not in executed.metadata


def test_replace_widgets_drops_a_bar_whose_state_is_unknown():
    cell = nbformat.v4.new_code_cell("x")
    bar = "model calls:   0%|          | 0/1000 [00:00<?, ?img/s]"
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={runner.WIDGET_VIEW: {"model_id": "abc", "version_major": 2}, "text/plain": bar},
        ),
        nbformat.v4.new_output(
            "display_data",
            data={runner.WIDGET_VIEW: {"model_id": "def"}, "text/plain": "VBox(children=())"},
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert runner.replace_widgets(nb, "notebooks/x.ipynb") == 2
    assert [o.data["text/plain"] for o in nb.cells[0].outputs] == [
        runner.widget_note("notebooks/x.ipynb").data["text/plain"]
    ]


KERNEL_FILE = "/tmp/ipykernel_4171/2718281828.py"
STAND_IN = (
    "InceptionV3's real weights are not available (offline). MobileNetV2 (real ImageNet "
    "weights, int8) stands in for it: the predictions are real, from a different network."
)


def _stderr(text: str):
    return nbformat.v4.new_output("stream", name="stderr", text=text)


def test_split_warnings_drops_paths_and_takes_out_the_stated_ones():
    text = (
        f"{KERNEL_FILE}:3: StandInModelWarning: {STAND_IN}\n"
        '  model = models.load_model("auto")\n'
        "an ordinary line\n"
        "/work/main/.venv/lib/python3.11/site-packages/x/y.py:12: DeprecationWarning: old\n"
        "  return f(x)\n"
        f"{KERNEL_FILE}:9: UntrainedWeightsWarning: UNTRAINED InceptionV3: MEANINGLESS\n"
    )
    kept, stated = runner.split_warnings(text)
    assert kept == "an ordinary line\nDeprecationWarning: old\n"
    assert stated == [
        ("StandInModelWarning", STAND_IN),
        ("UntrainedWeightsWarning", "UNTRAINED InceptionV3: MEANINGLESS"),
    ]


def test_a_stated_warning_shows_once_as_a_note_or_not_at_all():
    warning = f"{KERNEL_FILE}:2: StandInModelWarning: {STAND_IN}\n  load()\n"
    cells = [nbformat.v4.new_code_cell(str(i)) for i in range(3)]
    cells[0].outputs = [_stderr(warning + "UserWarning: keep me\n")]
    cells[1].outputs = [_stderr(warning)]  # said again: not shown again
    cells[2].outputs = [_stderr(f"{KERNEL_FILE}:5: UserWarning: mine\n  warn()\n")]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert runner.restyle_warnings(nb) == 2
    first, ordinary = nb.cells[0].outputs
    assert first.data["text/plain"] == STAND_IN
    assert "border-left" in first.data["text/html"] and STAND_IN[:40] in first.data["text/html"]
    assert (ordinary.name, ordinary.text) == ("stderr", "UserWarning: keep me\n")
    assert nb.cells[1].outputs == []
    assert [o.text for o in nb.cells[2].outputs] == ["UserWarning: mine\n"]
    assert "ipykernel" not in str(nb)

    # The page already states it (helpers.plotting.model_note): the warning goes entirely.
    note = nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": "<div>…</div>",
            "text/plain": f"Predictions by: MobileNetV2 (int8), real weights\n{STAND_IN}",
        },
    )
    cell = nbformat.v4.new_code_cell("load")
    cell.outputs = [_stderr(warning), note]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert runner.restyle_warnings(nb) == 1
    assert nb.cells[0].outputs == [note]


def test_stray_out_values_are_named():
    out = nbformat.v4.new_output
    cells = [nbformat.v4.new_code_cell(str(i)) for i in range(4)]
    cells[0].outputs = [out("execute_result", data={"text/plain": "True"}, execution_count=14)]
    cells[0].execution_count = 14
    cells[1].outputs = [
        out("execute_result", data={"text/plain": "<matplotlib.image.AxesImage at 0x7f>"})
    ]
    cells[1].execution_count = 15
    cells[2].outputs = [out("execute_result", data={"text/plain": "array([1, 2])"})]
    cells[3].outputs = [out("stream", name="stdout", text="True\n")]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert runner.stray_results(nb) == [
        "In [14]: True",
        "In [15]: <matplotlib.image.AxesImage at 0x7f>",
    ]


# ----------------------------------------------------------------------------- learner pages

GRADER = {"grade_id": "x", "locked": False, "schema_version": 3, "task": False}
MARKERS = (
    "NBVAL",
    "fmt: skip",
    "fmt: off",
    "noqa",
    "BEGIN SOLUTION",
    "END SOLUTION",
    "HIDDEN TESTS",
)


def exercise_notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    answer = code(
        "import math\n\n\ndef area(r):\n    ### BEGIN SOLUTION\n"
        "    return math.pi * r**2  # fmt: skip\n    ### END SOLUTION",
        metadata={"nbgrader": {**GRADER, "solution": True, "grade": False}},
    )
    answer.outputs = [nbformat.v4.new_output("stream", name="stdout", text="defined\n")]
    return nbformat.v4.new_notebook(
        cells=[
            md("# 01 · T\n\nThe area is $\\pi r^2$."),
            code("# NBVAL_IGNORE_OUTPUT\nimport time\nprint(time.time())  # noqa: T201"),
            md("### Exercise 1"),
            answer,
            code(
                "assert area(1) > 3\n### BEGIN HIDDEN TESTS\nassert abs(area(2) - 12.566) < 1e-3\n"
                "### END HIDDEN TESTS",
                metadata={"nbgrader": {**GRADER, "solution": False, "grade": True, "points": 2}},
            ),
            code("### BEGIN HIDDEN TESTS\nassert area(0) == 0\n### END HIDDEN TESTS"),
            md(
                "### BEGIN SOLUTION\nIt grows as $r^2$.\n\n**Rubric.** 2 points.\n### END SOLUTION",
                metadata={"nbgrader": {**GRADER, "solution": True, "grade": True, "points": 2}},
            ),
        ]
    )


def test_learner_page_folds_solutions_and_drops_hidden_tests_and_markers():
    nb = exercise_notebook()
    before = nbformat.writes(nb)
    page = runner.page_notebook(nb)
    assert nbformat.writes(nb) == before  # the executed notebook keeps every line

    sources = [(c.cell_type, c.source) for c in page.cells]
    assert sources[1] == ("code", "import time\nprint(time.time())")
    # the answer cell shows nbgrader's stub, and its output stays under it
    assert sources[3] == (
        "code",
        "import math\n\n\ndef area(r):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
    )
    assert page.cells[3].outputs[0].text == "defined\n"
    assert sources[4] == (
        "markdown",
        '<details class="lime-solution"><summary>Show a solution</summary>\n\n```python\n'
        "import math\n\n\ndef area(r):\n    return math.pi * r**2\n```\n\n</details>",
    )
    assert sources[5] == ("code", "assert area(1) > 3")
    # a checks cell of hidden tests only is gone; the written answer is folded
    assert sources[6] == (
        "markdown",
        '<details class="lime-solution"><summary>Show a solution</summary>\n\n'
        "It grows as $r^2$.\n\n**Rubric.** 2 points.\n\n</details>",
    )
    assert len(page.cells) == 7
    text = "\n".join(source for _, source in sources)
    for marker in MARKERS:
        assert marker not in text, marker


def test_teacher_page_shows_solutions_and_hidden_tests():
    page = runner.page_notebook(exercise_notebook(), "teacher")
    sources = [c.source for c in page.cells]
    assert sources[3] == "import math\n\n\ndef area(r):\n    return math.pi * r**2"
    assert sources[4] == (
        "assert area(1) > 3\n"
        "# Hidden tests: run by nbgrader autograde, not in the student version\n"
        "assert abs(area(2) - 12.566) < 1e-3"
    )
    assert sources[6].startswith('<details class="lime-solution" open><summary>')
    for marker in MARKERS:
        assert marker not in "\n".join(sources), marker


def test_page_notebook_refuses_an_unknown_kind_and_an_unclosed_region():
    with pytest.raises(ValueError, match="page kind 'student': use one of learner, teacher"):
        runner.page_notebook(nbformat.v4.new_notebook(), "student")
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")]
    )
    with pytest.raises(ValueError, match=r"'### BEGIN SOLUTION' \(line 2\) is never closed"):
        runner.page_notebook(nb)


def test_strip_tool_markers():
    source = (
        "# NBVAL_IGNORE_OUTPUT\n# fmt: off\nx = [1,\n  2]\n# fmt: on\n"
        "y = f(a, b)  # fmt: skip\nimport os  # noqa: F401\n# a comment stays\n"
    )
    assert runner.strip_tool_markers(source) == (
        "x = [1,\n  2]\ny = f(a, b)\nimport os\n# a comment stays"
    )


def test_the_series_learner_pages_have_no_markers_and_fold_every_solution():
    """Every notebook of the series, as its page shows it (without running it)."""
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        solutions = sum(c.metadata.get("nbgrader", {}).get("solution", False) for c in nb.cells)
        page = runner.page_notebook(nb)
        text = "\n".join(c.source for c in page.cells)
        for marker in MARKERS:
            assert marker not in text, (path.name, marker)
        assert text.count("<summary>Show a solution</summary>") == solutions, path.name
        assert solutions > 0, path.name


# ----------------------------------------------------------------------------- offline pages


def _script_sources(page: str) -> list[str]:
    return re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page)


def test_pages_load_no_remote_script_and_their_mathjax_is_beside_them(tmp_path):
    source = write_notebook(
        tmp_path / "02_math.ipynb",
        "print('x')",
        markdown="# 02 · Math\n\n$$\\xi(x) = \\operatorname{argmin}_g L(f, g, \\pi_x) + \\Omega(g)$$",
    )
    build = tmp_path / "build"
    [result] = runner.run_series([source], build, progress=None)
    assert result.status == "ok", result.reason
    for page in sorted((build / "html").glob("*.html")):  # the index too
        text = page.read_text()
        assert runner.remote_scripts(text) == [], page.name
        assert not re.search(r"(src|href)=\"(https?:)?//[^\"]+\.(js|css)", text), page.name
    text = result.html.read_text()
    [mathjax] = _script_sources(text)
    assert mathjax == "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    folder = build / "html" / "mathjax"
    assert (folder / "MathJax.js").is_file()
    assert (folder / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert (folder / "config" / "Safe.js").is_file()
    # the fonts the configuration asks for (webFont: "STIX-Web")
    assert 'webFont: "STIX-Web"' in text
    assert any((folder / "fonts" / "HTML-CSS" / "STIX-Web").rglob("*.woff"))
    assert "\\xi(x)" in text  # the formula, for MathJax to typeset


def test_remote_scripts_finds_what_nbconvert_loads_by_default():
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$x$")])
    default, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    found = runner.remote_scripts(default)
    assert any("require" in s or "cdnjs" in s for s in found) and len(found) >= 2
    ours, _ = runner.page_exporter().from_notebook_node(nb)
    assert runner.remote_scripts(ours) == []
    assert runner.remote_scripts('<script src="//cdn.example/x.js">') != []
    assert runner.remote_scripts('<script src="mathjax/MathJax.js">') == []


def test_page_html_folds_the_solution_and_shows_no_marker():
    body, _ = runner.page_exporter().from_notebook_node(runner.page_notebook(exercise_notebook()))
    assert body.count('<details class="lime-solution"><summary>Show a solution</summary>') == 2
    visible = re.sub(r"<[^>]+>", "", body)
    for marker in MARKERS:
        assert marker not in visible, marker
    assert "YOUR CODE HERE" in visible and "math.pi" in visible  # the latter folded


def test_page_css_wraps_output_and_code_at_spaces_not_inside_words():
    body, _ = runner.page_exporter().from_notebook_node(runner.page_notebook(exercise_notebook()))
    # nbconvert's lab CSS breaks output lines anywhere (inside words and numbers) ...
    nbconvert_rule = body.find("word-break: break-all")
    # ... and ours, later in the page so that it wins, wraps them at spaces
    ours = re.search(
        r"\.jp-OutputArea-output pre,\s*\.jp-InputArea-editor \.highlight pre,[^{]*\{"
        r"[^}]*word-break: normal;[^}]*overflow-wrap: anywhere;",
        body,
    )
    assert ours is not None
    assert ours.start() > nbconvert_rule


def test_links_between_notebooks_point_at_their_pages(tmp_path):
    source = write_notebook(
        tmp_path / "05_tiny.ipynb", "print(1)",
        markdown="# 05 · Tiny\n\n## Overview\nNext: [07](07_paper_figures.ipynb), "
        "[section 3](06_explaining_predictions.ipynb#3.-Save), [data](../data/registry.toml).",
    )  # fmt: skip
    [result] = runner.run_series([source], tmp_path / "build", progress=None)
    page = result.html.read_text(encoding="utf-8")
    assert 'href="07_paper_figures.html"' in page
    assert 'href="06_explaining_predictions.html#3.-Save"' in page
    assert 'href="../data/registry.toml"' in page and '.ipynb"' not in page
    assert runner.link_pages('<a href="x.ipynb">') == '<a href="x.ipynb">'  # not a notebook of ours


@pytest.mark.browser
def test_a_page_renders_its_formulas_with_the_network_off(tmp_path):
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        reason = (
            "Chromium and Playwright are needed: apt-get install chromium; pip install -e .[test]"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the browser test must run)")
        pytest.skip(reason)
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    runner.install_mathjax(html_dir)
    nb = exercise_notebook()
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("$$\\beta = (Z^T W Z)^{-1} Z^T W y$$"))
    body, _ = runner.page_exporter().from_notebook_node(runner.page_notebook(nb))
    page = html_dir / "page.html"
    page.write_text(body, encoding="utf-8")

    requested = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        try:
            view = browser.new_page()

            def offline(route):  # the network is off: only files load
                requested.append(route.request.url)
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    route.abort()

            view.route("**/*", offline)
            view.goto(page.as_uri())
            view.wait_for_function(
                "window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                "&& document.querySelectorAll('.MathJax_Display, .MathJax').length >= 3",
                timeout=30_000,
            )
            typeset = view.evaluate("document.querySelectorAll('.MathJax').length")
            errors = view.evaluate("document.querySelectorAll('.MathJax_Error, merror').length")
            shown = view.inner_text("body")
            folded = view.is_visible("text=return math.pi")
            view.click("summary >> nth=0")
            unfolded = view.is_visible("text=return math.pi")
        finally:
            browser.close()
    assert typeset >= 3 and errors == 0
    assert "$" not in shown and "\\beta" not in shown  # no raw LaTeX left
    assert [url for url in requested if not url.startswith("file:")] == []
    assert (folded, unfolded) == (False, True)


def test_only_the_solution_region_of_a_markdown_cell_is_folded():
    source = "Why?\n\n### BEGIN SOLUTION\nBecause $x > 0$.\n### END SOLUTION\nMore text."
    assert runner.fold_markdown_solutions(source) == (
        "Why?\n\n"
        '<details class="lime-solution"><summary>Show a solution</summary>\n\n'
        "Because $x > 0$.\n\n</details>\n\nMore text."
    )
    assert runner.fold_markdown_solutions("No solution here.") == "No solution here."


def test_page_problems_names_what_a_page_must_not_have():
    body, _ = runner.page_exporter().from_notebook_node(runner.page_notebook(exercise_notebook()))
    assert runner.page_problems(body) == []
    raw, _ = runner.page_exporter().from_notebook_node(exercise_notebook())  # not a page
    found = runner.page_problems(raw)
    assert "shows the tool marker 'NBVAL_IGNORE_OUTPUT'" in found
    assert "shows the tool marker '### BEGIN SOLUTION'" in found
    assert "shows the tool marker '### END HIDDEN TESTS'" in found
    cell = nbformat.v4.new_code_cell("warn()")
    cell.outputs = [_stderr(f"{KERNEL_FILE}:3: UserWarning: x\n")]
    noisy, _ = runner.page_exporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    assert runner.page_problems(noisy) == [
        f"shows a warning with a file path: {KERNEL_FILE}:3: UserWarning"
    ]
    default, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(
        nbformat.v4.new_notebook()
    )
    assert any(
        p.startswith("loads a remote script: https://") for p in runner.page_problems(default)
    )

    ok = runner.Result(notebook=Path("a.ipynb"), status="ok", seconds=1, html=Path("a.html"))
    bad = runner.Result(
        notebook=Path("b.ipynb"), status="ok", seconds=1, html=Path("b.html"), page_problems=["x"]
    )
    assert runner.pages_verdict([ok]) == (
        "Pages: 1 learner pages; none loads a remote script or shows a tool marker, a warning "
        "with a file path or a widget placeholder."
    )
    assert runner.pages_verdict([ok, bad]) == "Pages: 1 of 2 have problems (listed above): b.ipynb."
