"""Graded assignments: every notebook's exercises, the student versions, and a grading round trip.

The source notebooks are the teaching notebooks; ``scripts/assignments.py`` (``make
assignments``) makes the student versions with nbgrader. These tests check that the solutions
pass their own grading tests, that the student versions fail every one and carry no
solution, that a student notebook still runs top to bottom, and that ``nbgrader autograde``
gives full marks to the solutions and zero to a blank notebook.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "assignments", REPO / "scripts" / "assignments.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assignments = _load_script()


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.fixture(scope="module")
def offline_data_env(data_root):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        mp.setenv("LIME_TUTORIAL_QUICK", "1")
        mp.setenv("MPLBACKEND", "Agg")
        yield


@pytest.fixture(scope="module")
def released(tmp_path_factory, offline_data_env) -> dict[str, Path]:
    """The student version of every notebook, made as ``make assignments`` makes them.

    Generated once for the whole run, with a gradebook, so the round trip below grades these
    very files.
    """
    out = tmp_path_factory.mktemp("assignments")
    return assignments.generate(out, NOTEBOOKS, db=True)


@dataclass
class RoundTrip:
    """One nbgrader round trip over the notebooks: who submitted what, and how it went.

    ``courses[student]`` is the course directory that autograded ``student``'s submissions;
    ``failures[student]`` is nbgrader's complaint (``None`` when every submission went
    through). The tests below read the autograded notebooks and the gradebooks; nothing is
    executed twice.
    """

    courses: dict[str, Path]
    failures: dict[str, str | None]

    def autograded(self, student: str, name: str) -> Path:
        path = self.courses[student] / "autograded" / student / name / f"{name}.ipynb"
        assert path.is_file(), (
            f"{name}: nbgrader autograde left no notebook for {student!r}:\n"
            f"{self.failures[student]}"
        )
        return path

    def submission(self, student: str, name: str):
        from nbgrader.api import Gradebook

        self.autograded(student, name)
        url = f"sqlite:///{self.courses[student] / 'gradebook.db'}"
        with Gradebook(url) as gradebook:
            found = gradebook.find_submission(name, student)
            return found.code_score, found.max_code_score


def _selected_notebooks(request) -> list[Path]:
    """The notebooks whose round-trip tests this run selected (all of them under make test)."""
    names = {
        item.callspec.params["notebook"].stem
        for item in request.session.items
        if getattr(item, "module", None) is request.module  # doctest and nbval items have none
        and "round_trip" in getattr(item, "fixturenames", ())
        and "notebook" in getattr(getattr(item, "callspec", None), "params", {})
    }
    return [notebook for notebook in NOTEBOOKS if notebook.stem in names]


def _autograde(course: Path, student: str) -> str | None:
    """Autograde every submission of ``course`` in one nbgrader process; the complaint, if any."""
    try:
        assignments.nbgrader(course, "autograde", "*", "--create", "--force")
        if student == "solver":
            assignments.nbgrader(course, "generate_feedback", "*", "--force")
    except RuntimeError as error:  # one notebook's failure must not hide the others' results
        return str(error)
    return None


@pytest.fixture(scope="module")
def round_trip(released, request) -> RoundTrip:
    """Submit every solution ("solver") and every blank student version ("blank"), autograde.

    Each notebook runs exactly twice in this module: its solutions once and its blank student
    version once, both under ``nbgrader autograde`` (cells executed with ``allow_errors``).
    The two students are graded in two copies of the generated course, so the two autograde
    processes share no gradebook and run side by side.
    """
    course = next(iter(released.values())).parents[1] / "course"
    courses = {"solver": course, "blank": course.with_name("course_blank")}
    shutil.copytree(course, courses["blank"])
    for notebook in _selected_notebooks(request):
        versions = {"solver": notebook, "blank": released[notebook.stem]}
        for student, version in versions.items():
            target = courses[student] / "submitted" / student / notebook.stem / notebook.name
            target.parent.mkdir(parents=True)
            shutil.copyfile(version, target)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {student: pool.submit(_autograde, c, student) for student, c in courses.items()}
        failures = {student: future.result() for student, future in futures.items()}
    return RoundTrip(courses=courses, failures=failures)


# ----- the exercises themselves (fast, no execution) --------------------------------------
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_two_autograded_exercises_and_a_written_one(notebook):
    cells = _cells(notebook)
    tests = [c for c in cells if _nbgrader(c).get("grade") and c["cell_type"] == "code"]
    answers = [c for c in cells if _nbgrader(c).get("solution") and c["cell_type"] == "code"]
    written = [c for c in cells if _nbgrader(c).get("grade") and c["cell_type"] == "markdown"]
    assert len(tests) >= 2 and len(answers) >= 2, notebook.name
    assert written, f"{notebook.name}: no written answer"
    for cell in tests:  # real checks, hidden from students, worth points
        source = "".join(cell["source"])
        assert _HIDDEN.search(source), f"{_nbgrader(cell)['grade_id']}: no hidden tests"
        assert "assert" in _HIDDEN.search(source).group(1)
        assert _nbgrader(cell)["points"] > 0 and _nbgrader(cell)["locked"]
    for cell in answers + written:
        assert _SOLUTION.search("".join(cell["source"])), _nbgrader(cell)["grade_id"]
    for cell in written:
        assert "**Rubric.**" in "".join(cell["source"])
    ids = [_nbgrader(c)["grade_id"] for c in cells if _nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique within a notebook"


def test_the_teachers_guide_shows_the_current_exercise_table():
    table = assignments.markdown_table(assignments.exercise_table(NOTEBOOKS))
    assert table in (REPO / "TEACHING.md").read_text(), (
        "TEACHING.md's exercise table is out of date; regenerate it with "
        "`python scripts/assignments.py --table`"
    )


# ----- the student versions --------------------------------------------------------------
def test_student_versions_carry_no_solution(released):
    assert set(released) == {p.stem for p in NOTEBOOKS}
    for notebook in NOTEBOOKS:
        student = released[notebook.stem].read_text()
        for marker in MARKERS:
            assert marker not in student, (notebook.name, marker)
        source = "".join("".join(c["source"]) + "\n" for c in _cells(notebook))
        for region in _SOLUTION.findall(source) + _HIDDEN.findall(source):
            lines = [line.strip() for line in region.splitlines() if len(line.strip()) >= 25]
            if lines:  # the most distinctive line of each solution and hidden test
                distinctive = max(lines, key=len)
                assert json.dumps(distinctive)[1:-1] not in student, (notebook.name, distinctive)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")


def _grading_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get(
        "grade")]  # fmt: skip


def _failing_line(cell: nbformat.NotebookNode) -> int | None:
    """The line of ``cell`` (1-based) whose statement raised, from IPython's traceback."""
    for output in cell.outputs:
        if output.output_type == "error":
            # IPython lists the outermost frame first: the cell's own line.
            match = _CELL_LINE.search(_ANSI.sub("", "\n".join(output.traceback)))
            return int(match.group(1)) if match else None
    return None


def _verdict(path: Path, *, invert: bool) -> dict:
    """nbgrader's Validator verdict on a notebook that already ran (its outputs are kept).

    ``Validator().validate`` would clear and execute the notebook once more; this subclass
    keeps the metadata check and every rule of the verdict, and reads the outputs of the
    autograde run instead.
    """
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator
    from traitlets import List

    class RecordedRunValidator(Validator):
        preprocessors = List([CheckCellMetadata])

    return RecordedRunValidator(invert=invert).validate(str(path))


def _student_run(released: Path, blank_run: Path, tmp_path: Path) -> Path:
    """The released student notebook with the outputs of its (autograded) blank run.

    Autograde puts the hidden tests back into the locked grading cells before it runs them.
    A grading cell that raised on a line above its hidden tests never reached them, so the
    run is the student's own run of the released file: this is asserted cell by cell here,
    and only then are the outputs copied onto the released notebook.
    """
    student = nbformat.read(released, as_version=4)
    graded = nbformat.read(blank_run, as_version=4)
    assert len(student.cells) == len(graded.cells), "autograde changed the cell list"
    for mine, run in zip(student.cells, graded.cells, strict=True):
        assert mine.cell_type == run.cell_type
        if mine.cell_type != "code":
            continue
        lines = run.source.splitlines()
        hidden = next((i for i, line in enumerate(lines) if "BEGIN HIDDEN TESTS" in line), None)
        if hidden is None:
            assert mine.source == run.source, "autograde ran another cell than the student's"
        else:
            failing = _failing_line(run)
            grade_id = run.metadata["nbgrader"]["grade_id"]
            assert failing is not None and failing <= hidden, (
                f"{grade_id}: on the blank notebook the visible test did not raise "
                f"(raised on line {failing}; hidden tests start on line {hidden + 1})"
            )
            visible = [line.rstrip() for line in mine.source.splitlines()]
            assert visible[:hidden] == [line.rstrip() for line in lines[:hidden]], grade_id
        mine.outputs, mine.execution_count = run.outputs, run.execution_count
    path = tmp_path / released.name
    nbformat.write(student, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_notebook_runs_top_to_bottom_with_blank_exercises(
    released, round_trip, notebook, tmp_path
):
    """Only exercise cells fail; every other cell of the blank student notebook runs."""
    path = _student_run(released[notebook.stem], round_trip.autograded("blank", notebook.stem),
                        tmp_path)  # fmt: skip
    nb = nbformat.read(path, as_version=4)
    errors = [
        cell for cell in nb.cells
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
    ]  # fmt: skip
    for cell in errors:
        meta = cell.metadata.get("nbgrader", {})
        assert meta.get("grade") or meta.get("solution"), cell.source[:200]
    graded = _grading_cells(nb)
    assert graded and all(c in errors for c in graded), "a grading test passed on a blank notebook"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_validator_solutions_pass_and_student_versions_fail(
    released, round_trip, notebook, tmp_path
):
    passed = _verdict(round_trip.autograded("solver", notebook.stem), invert=False)
    assert passed == {}, f"{notebook.name}: a solution fails its grading test: {passed}"
    student = _student_run(released[notebook.stem], round_trip.autograded("blank", notebook.stem),
                           tmp_path)  # fmt: skip
    inverted = _verdict(student, invert=True)
    assert inverted == {}, f"{notebook.name}: a grading test passes on the blank notebook"


# ----- one complete round trip over every notebook ---------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_round_trip_autograde_gives_full_marks_to_solutions_and_zero_to_blank(round_trip, notebook):
    name = notebook.stem
    score, max_score = round_trip.submission("solver", name)
    assert max_score > 0
    assert score == max_score, f"{name}: the solutions scored {score} of {max_score}"
    score, _ = round_trip.submission("blank", name)
    assert score == 0, f"{name}: a blank notebook scored {score}"
    first = min(row["exercise"] for row in assignments.exercise_table([notebook]))
    feedback = round_trip.courses["solver"] / "feedback" / "solver" / name / f"{name}.html"
    assert feedback.is_file(), round_trip.failures["solver"]
    assert f"Exercise {first}" in feedback.read_text()
