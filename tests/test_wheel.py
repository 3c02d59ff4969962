"""``helpers`` works from an installed wheel, not only from a clone (issue 20).

The wheel is built from this checkout, installed without dependencies into a fresh virtual
environment that borrows the test environment's installed packages (numpy, LiteRT, ...), and
exercised from an empty directory with a clean environment, so that neither the clone nor
its editable install can be what gets imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # about 20 s: a build, a venv, one small explanation

_SCRIPT = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import numpy as np
    import helpers
    from helpers import data
    from helpers.explain import explain
    from helpers.explorer import ExplorerState
    from helpers.models import load_model

    modules = sorted(m.name for m in pkgutil.iter_modules(helpers.__path__))
    for name in modules:  # every module imports from the installed package
        importlib.import_module(f"helpers.{name}")
    model = load_model("mobilenet_v2")
    image = data.tree_frog(model.input_size)
    e = explain(image, model, num_samples=40, top_labels=1, random_state=0, progress=False)
    state = ExplorerState(e, model)
    state.toggle(0)
    print(json.dumps({
        "helpers": helpers.__file__,
        "registry": str(data._registry_file()),
        "registry_entries": len(data.registry()),
        "modules": modules,
        "label": int(e.labels[0]),
        "coef": e.coef[e.labels[0]].tolist(),
        "samples_sha": __import__("hashlib").sha256(e.samples.tobytes()).hexdigest(),
        "model_calls": state.model_calls,
        "sys_path": sys.path,
    }))
    """
)


def _build_wheel(out: Path) -> Path:
    """``pip wheel`` of this checkout; offline when hatchling is installed here."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")  # no download of the build backend
    subprocess.run([*command, str(REPO)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("lime_tutorial-*.whl")
    return wheel


def test_helpers_load_a_model_and_explain_from_an_installed_wheel(
    tmp_path, data_root, mobilenet_v2, frog224
):
    wheel = _build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "helpers/registry.toml" in names  # the data registry ships inside the package
    assert "helpers/__init__.py" in names
    tooling = [n for n in names if n.startswith(("apps/", "tests/", "benchmarks/"))]
    tooling += [n for n in names if n.endswith(("explorer_server.py", "profiling.py"))]
    assert tooling == []  # tooling stays out of the package

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--quiet", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # Borrow the installed dependencies: a plain path line, so the editable install's own
    # .pth file in that directory is not processed and cannot shadow the wheel.
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "LIME_TUTORIAL_DATA": str(data_root),
        "LIME_TUTORIAL_CACHE": str(tmp_path / "cache"),
        "KERAS_HOME": str(tmp_path / "keras"),
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    run = subprocess.run(
        [str(python), "-I", "-c", _SCRIPT],  # -I: no PYTHONPATH, no script or current dir
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    installed = site / "helpers"
    assert Path(out["helpers"]) == installed / "__init__.py"
    borrowed = sysconfig.get_paths()["purelib"]  # the dependencies (a venv may sit in REPO)
    in_checkout = [
        p
        for p in out["sys_path"]
        if p != borrowed and (p == str(REPO) or p.startswith(f"{REPO}{os.sep}"))
    ]
    assert in_checkout == []  # nothing is imported from this checkout
    assert Path(out["registry"]) == installed / "registry.toml"
    assert out["registry_entries"] > 0
    assert out["modules"] == sorted(
        p.stem for p in (REPO / "helpers").glob("*.py") if p.stem != "__init__"
    )
    # The same explanation as the checkout's code gives here, number for number.
    from helpers.explain import explain

    here = explain(frog224, mobilenet_v2, num_samples=40, top_labels=1, random_state=0,
                   progress=False)  # fmt: skip
    assert out["label"] == here.labels[0] == 31  # the tree frog, as in the notebooks
    assert out["coef"] == here.coef[31].tolist()
    assert out["samples_sha"] == hashlib.sha256(here.samples.tobytes()).hexdigest()
    assert out["model_calls"] == 2  # the original image and one toggled mask
