"""Project hygiene: import side effects, dependency drift, README, CI, stripped notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_import_helpers_does_no_io_and_changes_no_global_settings(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    code = """
import os, sys, warnings, numpy as np
before = (np.get_printoptions(), list(warnings.filters), np.random.get_state()[1][:5].tolist())
import helpers
import helpers.data, helpers.models, helpers.environment, helpers.plotting
after = (np.get_printoptions(), list(warnings.filters), np.random.get_state()[1][:5].tolist())
assert before == after, "global settings changed"
heavy = [m for m in ("tensorflow", "keras", "matplotlib.pyplot", "pooch", "PIL.Image") if m in sys.modules]
assert not heavy, heavy
print("clean")
"""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LIME_TUTORIAL_CACHE": str(tmp_path / "c")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "clean"
    assert list(home.iterdir()) == []  # nothing written into the home directory
    assert not (tmp_path / "c").exists()


def _environment_yml_requirements() -> dict[str, Requirement]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    reqs = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            for line in item["pip"]:
                if not line.startswith("-"):
                    req = Requirement(line)
                    reqs[req.name] = req
        elif not item.startswith(("python=", "pip")):
            req = Requirement(item)
            reqs[req.name] = req
    return reqs


def test_environment_yml_and_pyproject_do_not_drift():
    runtime = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    conda = _environment_yml_requirements()
    assert {r.name for r in runtime} == set(conda)
    for req in runtime:
        assert str(req.specifier) == str(conda[req.name].specifier), req.name
        assert str(req.marker) == str(conda[req.name].marker), req.name


def test_readme_opens_with_the_two_commands_and_lists_notebooks_in_order():
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    assert readme.index("make run") < readme.index("## Contents") < readme.index("conda env create")
    listed = [
        line.split("](notebooks/", 1)[1].split(")", 1)[0]
        for line in readme.splitlines()
        if "](notebooks/" in line
    ]
    on_disk = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert listed == on_disk


def test_ci_runs_the_readme_test_command_offline():
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "shared/data" in ci and "LIME_TUTORIAL_UNTRAINED" in ci


def test_pytest_runs_notebooks_with_nbval_lax():
    opts = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "--nbval-lax" in opts["addopts"]
    assert opts["testpaths"] == ["tests", "notebooks"]


def test_committed_notebooks_carry_no_outputs():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{path.name} has outputs: strip them"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def test_notebooks_follow_the_skeleton_and_use_no_path_hacks():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        text = "\n".join("".join(c["source"]) for c in nb["cells"])
        for heading in (
            "## Overview",
            "## Learning objectives",
            "## Prerequisites",
            "## Imports",
            "## Summary",
            "## What's next",
            "## Exercises",
            "## References",
        ):
            assert heading in text, f"{path.name} lacks {heading!r}"
        # every exercise comes with its solution: nbgrader solution regions (or <details>)
        exercises = text.split("## Exercises", 1)[1]
        assert "### BEGIN SOLUTION" in exercises or "<details>" in exercises, path.name
        assert "sys.path" not in text, f"{path.name} manipulates sys.path"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "import" in "".join(code[0]["source"]), f"{path.name}: imports must come first"


def test_gitignore_covers_build_outputs():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in (".venv/", "build/", "__pycache__/", ".pytest_cache/"):
        assert entry in ignored


def test_setup_notebook_checks_exactly_the_runtime_dependencies():
    from helpers.environment import package_versions, required_packages

    runtime = {Requirement(r).name for r in _pyproject()["project"]["dependencies"]}
    assert set(required_packages()) == {n for n in runtime if not n.startswith("tensorflow")}
    versions = package_versions()
    assert versions["tensorflow"] is not None
    assert all(versions[name] is not None for name in required_packages())
