"""Student versions and answer keys of the notebooks, made with nbgrader (``make assignments``).

Each notebook of ``notebooks/`` is one nbgrader *source* assignment named after the notebook
(``03_inception_predictions``). Its exercises are nbgrader cells: answers between
``### BEGIN SOLUTION`` / ``### END SOLUTION``, locked check cells with
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, and written answers graded by hand.

This script lays out an nbgrader course directory in ``<out>/course`` (no database is needed
to generate), runs ``nbgrader generate_assignment`` for every notebook that has graded cells,
and copies the results to

- ``<out>/student/<name>.ipynb``: what students get, without solutions or hidden tests;
- ``<out>/answer_key/<name>.ipynb``: the notebooks with every solution (the teaching notebooks).

It also prints the table of exercises, points and minutes that TEACHING.md shows
(``--table``). Run ``python scripts/assignments.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "lime-step-by-step"
_HEADING = re.compile(
    r"^### Exercise (\d+) \((\d+) points?, about (\d+) min, (graded automatically|written answer)"
)

CONFIG = f"""# nbgrader configuration of the course directory made by scripts/assignments.py.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE_ID}"
c.CourseDirectory.root = "."
# The notebooks explain real models: give a cell time to run.
c.ExecutePreprocessor.timeout = 600
c.Execute.timeout = 600
"""


def graded_cells(notebook: Path) -> list[dict]:
    """The nbgrader metadata of every graded or solution cell of ``notebook``, in order."""
    nb = json.loads(Path(notebook).read_text())
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and (meta.get("grade") or meta.get("solution")):
            cells.append(
                {**meta, "cell_type": cell["cell_type"], "source": "".join(cell["source"])}
            )
    return cells


def has_exercises(notebook: Path) -> bool:
    """Whether ``notebook`` has nbgrader graded cells."""
    return any(cell.get("grade") for cell in graded_cells(notebook))


def exercise_table(notebooks: list[Path]) -> list[dict]:
    """One row per exercise: notebook, number, kind, points, minutes (from the headings)."""
    rows = []
    for notebook in notebooks:
        nb = json.loads(Path(notebook).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            match = _HEADING.match("".join(cell["source"]))
            if match:
                number, points, minutes, kind = match.groups()
                rows.append(
                    {
                        "notebook": notebook.stem,
                        "exercise": int(number),
                        "kind": "autograded" if kind.startswith("graded") else "written",
                        "points": int(points),
                        "minutes": int(minutes),
                    }
                )
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The exercise table as Markdown, with totals per notebook and for the course."""
    lines = ["| notebook | exercise | kind | points | minutes |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['notebook']} | {row['exercise']} | {row['kind']} | {row['points']} "
            f"| {row['minutes']} |"
        )
    points = sum(row["points"] for row in rows)
    minutes = sum(row["minutes"] for row in rows)
    lines.append(f"| **all** | {len(rows)} exercises | | **{points}** | **{minutes}** |")
    return "\n".join(lines)


def make_course(out: Path, notebooks: list[Path]) -> Path:
    """Lay out ``<out>/course`` with one source assignment per notebook; return its root."""
    course = Path(out) / "course"
    if course.exists():
        shutil.rmtree(course)
    for notebook in notebooks:
        target = course / "source" / notebook.stem / notebook.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(notebook, target)
    (course / "nbgrader_config.py").write_text(CONFIG)
    return course


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the ``nbgrader`` command line in ``course``; raise with its output on failure."""
    command = [sys.executable, "-m", "nbgrader", *args]
    # nbgrader runs `alembic` (to make the gradebook) from PATH: use this environment's.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command, cwd=course, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(
            f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def generate(out: Path, notebooks: list[Path], *, db: bool = False) -> dict[str, Path]:
    """Generate the student version of each notebook; return name -> student notebook.

    One ``nbgrader generate_assignment "*"`` run makes every assignment of the course (one
    process start instead of one per notebook). With ``db=False`` no gradebook is created
    (``--no-db``); the round-trip tests pass ``db=True`` to autograde afterwards.
    """
    out = Path(out)
    notebooks = [Path(n) for n in notebooks if has_exercises(Path(n))]
    course = make_course(out, notebooks)
    student_dir, key_dir = out / "student", out / "answer_key"
    for directory in (student_dir, key_dir):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
    if notebooks:  # one nbgrader process for every assignment of the course ("*")
        flags = ["--force"] if db else ["--force", "--no-db"]
        nbgrader(course, "generate_assignment", "*", *flags)
    made = {}
    for notebook in notebooks:
        released = course / "release" / notebook.stem / notebook.name
        shutil.copyfile(released, student_dir / notebook.name)
        shutil.copyfile(notebook, key_dir / notebook.name)
        made[notebook.stem] = student_dir / notebook.name
    return made


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "assignments")
    parser.add_argument("--table", action="store_true", help="print the exercise table only")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.table:
        print(markdown_table(exercise_table(notebooks)))
        return 0
    made = generate(args.out, notebooks)
    for path in made.values():
        print(f"student version  {path}")
    print(f"answer keys      {args.out / 'answer_key'}")
    print(f"{len(made)} assignments; see TEACHING.md for releasing, collecting and grading them.")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
