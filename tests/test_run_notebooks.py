"""`make run`'s runner (scripts/run_notebooks.py): inline figures, no log noise, the whole series.

Tiny notebooks written into tmp_path go through the same functions `make run` calls; one real
notebook (04, a few seconds) checks a widget's initial figure.
"""

from __future__ import annotations

import base64
import importlib.util
import re
import sys
from pathlib import Path

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
            notebook=Path("notebooks/01_x.ipynb"),
            status="ok",
            seconds=12.4,
            figures=3,
            title="01 · First",
            summary="Uses `code` and *emphasis* & more.",
            html=Path("01_x.html"),
        ),
        runner.Result(
            notebook=Path("notebooks/02_y.ipynb"),
            status="failed",
            seconds=3.0,
            reason="In [4]: WeightsUnavailableError: no weights",
            title="02 · Second",
            predictions_by=["Predictions by: InceptionV3 (untrained: random weights)"],
            html=Path("02_y.html"),
        ),
    ]
    page = runner.write_index(results, tmp_path / "index.html").read_text()

    rows = re.findall(r"<tr><td.*?</tr>", page)
    assert len(rows) == 2
    assert '<a href="01_x.html">01 · First</a>' in rows[0]
    assert "Uses <code>code</code> and <em>emphasis</em> &amp; more." in rows[0]
    assert "12 s" in rows[0] and ">3</td>" in rows[0] and "Predictions by" not in rows[0]
    assert '<a href="02_y.html">02 · Second</a>' in rows[1]
    assert "Predictions by: InceptionV3 (untrained: random weights)" in rows[1]
    assert "In [4]: WeightsUnavailableError: no weights" in rows[1]
    assert "1 of 2 failed" in page


# ----------------------------------------------------------------------------- pieces


def test_predictions_by_lines_are_collected_once_and_without_bare_short_names():
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
    ]
    nb = nbformat.v4.new_notebook(cells=[first, second])
    assert runner.predictions_by(nb) == [
        "Predictions by: Net (int8), real weights",
        "Predictions by: Net (int8) | the paper's: Inception",
    ]
    assert runner.predictions_by(nbformat.v4.new_notebook()) == []


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


def test_describe_takes_the_title_and_the_overviews_first_sentence():
    def first_cell(name):
        return nbformat.read(REPO / "notebooks" / name, as_version=4)

    assert runner.describe(first_cell("04_kernel_weighting.ipynb")) == (
        "04 · Kernel weighting: near samples count more",
        "LIME fits a model that should be faithful *locally*, so perturbed images close to "
        "the original get more weight.",
    )
    assert runner.first_sentence("This notebook checks, before you start, that") == (
        "This notebook checks, before you start, that…"
    )
    assert runner.first_sentence("It reproduces the figures:") == "It reproduces the figures…"
    assert runner.first_sentence("w = 0.25 is e.g. lime's. Next one.") == (
        "w = 0.25 is e.g. lime's."
    )
    assert runner.first_sentence("LIME fits y ≈ b + Z β by w. β is the explanation.") == (
        "LIME fits y ≈ b + Z β by w."
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
