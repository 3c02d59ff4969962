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
def released(tmp_path_factory, offline_data_env) -> dict[str, Path]:
    """The student version of every notebook, made as ``make assignments`` makes them."""
    out = tmp_path_factory.mktemp("assignments")
    return assignments.generate(out, NOTEBOOKS)


@pytest.fixture(scope="module")
def offline_data_env(data_root):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        mp.setenv("LIME_TUTORIAL_QUICK", "1")
        mp.setenv("MPLBACKEND", "Agg")
        yield


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


def _run_allowing_errors(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # fmt: skip
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_notebook_runs_top_to_bottom_with_blank_exercises(released, notebook):
    """Only exercise cells fail; every other cell of the blank student notebook runs."""
    nb = _run_allowing_errors(released[notebook.stem])
    errors = [
        cell for cell in nb.cells
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
    ]  # fmt: skip
    for cell in errors:
        meta = cell.metadata.get("nbgrader", {})
        assert meta.get("grade") or meta.get("solution"), cell.source[:200]
    graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get(
        "grade")]  # fmt: skip
    assert all(c in errors for c in graded), "a grading test passed on a blank notebook"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_validator_solutions_pass_and_student_versions_fail(released, notebook):
    from nbgrader.validator import Validator

    passed = Validator().validate(str(notebook))
    assert passed == {}, f"{notebook.name}: a solution fails its grading test: {passed}"
    inverted = Validator(invert=True).validate(str(released[notebook.stem]))
    assert inverted == {}, f"{notebook.name}: a grading test passes on the blank notebook"


# ----- one complete round trip -----------------------------------------------------------
@pytest.mark.slow
def test_round_trip_autograde_gives_full_marks_to_solutions_and_zero_to_blank(
    tmp_path, offline_data_env
):
    from nbgrader.api import Gradebook

    notebook = REPO / "notebooks" / "00_setup.ipynb"
    name = notebook.stem
    assignments.generate(tmp_path, [notebook], db=True)
    course = tmp_path / "course"
    for student, version in (
        ("solver", notebook),
        ("blank", course / "release" / name / notebook.name),
    ):
        target = course / "submitted" / student / name / notebook.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(version, target)
    assignments.nbgrader(course, "autograde", name, "--create", "--force")
    assignments.nbgrader(course, "generate_feedback", name, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solver = gradebook.find_submission(name, "solver")
        blank = gradebook.find_submission(name, "blank")
        assert solver.max_code_score > 0
        assert solver.code_score == solver.max_code_score
        assert blank.code_score == 0
    feedback = course / "feedback" / "solver" / name / f"{name}.html"
    assert feedback.is_file() and "Exercise 1" in feedback.read_text()
