"""Docstrings of ``helpers``: numpy-style sections, and notebook tags that the notebooks back.

Every module and every public function or class (the names in a module's ``__all__``) says
where it sits in the series, in one of two ways:

- ``Introduced in ``notebooks/NN_name.ipynb````: that notebook uses the name. The notebooks
  are read when the test runs, not when it is collected, so an edited notebook is checked
  as it is now.
- ``Belongs with ``notebooks/NN_name.ipynb````: no notebook uses the name (it works behind
  another helper, or serves the tests and tools); the note says which notebook it goes with.

A notebook *uses* a name when a code cell, or a code span of a markdown cell, contains it as
a word or as ``module.name`` (or ``alias.name`` for an alias ending in the module's name); a
method or property counts when it is read as an attribute (``.name``). Prose outside code spans does not count: "explain", "segment" or "top" are also
English words.

Sections follow numpydoc: a public function or method with arguments (other than ``self``
or ``cls``) has a Parameters section; one that returns a value has Returns (a generator or
context manager: Yields). A class has Parameters or Attributes.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import helpers

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
HELPERS = Path(helpers.__file__).parent

INTRODUCED = re.compile(r"Introduced\s+in\s+``notebooks/([^`\s]+)``")
BELONGS = re.compile(r"Belongs\s+with\s+``notebooks/([^`\s]+)``")
ANY_NOTEBOOK = re.compile(r"notebooks/([0-9]{2}_[A-Za-z0-9_]+\.ipynb)")
CODE_SPAN = re.compile(r"```.*?```|``.+?``|`[^`\n]+`", re.S)


def _section(doc: str, *names: str) -> bool:
    """Whether the numpy-style docstring has one of the sections ``names``."""
    return any(re.search(rf"^{name}\n-{{3,}}$", doc, re.M) for name in names)


def _modules() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(helpers.__path__))


def _documented() -> list[tuple[str, str, str | None, str | None, object]]:
    """``(qualified name, module, owner class, name, object)`` for every public module member,
    with the module itself first (name ``None``) and each public class's own methods and
    properties after the class (owner set)."""
    found = []
    for module_name in _modules():
        module = importlib.import_module(f"helpers.{module_name}")
        found.append((f"helpers.{module_name}", module_name, None, None, module))
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj):
                continue  # constants (a function wrapped by lru_cache is callable, not a function)
            found.append((f"helpers.{module_name}.{name}", module_name, None, name, obj))
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(value, classmethod | staticmethod):
                        value = value.__func__
                    if inspect.isfunction(value) or isinstance(value, property):
                        qualname = f"helpers.{module_name}.{name}.{attr}"
                        found.append((qualname, module_name, name, attr, value))
    return found


DOCUMENTED = _documented()
CALLABLES = [d for d in DOCUMENTED if callable(d[4])]
TAGGED = [
    (qualname, module, owner, name, notebook)
    for qualname, module, owner, name, obj in DOCUMENTED
    for notebook in INTRODUCED.findall(inspect.getdoc(obj) or "")
]


def _notebook_text(notebook: str) -> str:
    """The code cells of ``notebooks/<notebook>`` and the code spans of its markdown cells."""
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            parts.append(source)
        elif cell["cell_type"] == "markdown":
            parts += CODE_SPAN.findall(source)
    return "\n".join(parts)


def _uses(text: str, module: str, owner: str | None, name: str | None) -> bool:
    """Whether notebook ``text`` uses the module, the name, or the attribute."""
    if name is None:  # the module: imported, or named as helpers.<module>
        names = r"(?:\([^)]*|[^\n(]*)"  # a parenthesised list, or the rest of the line
        imported = rf"from\s+helpers\s+import\s+{names}(?<![\w.]){module}\b"
        return bool(
            re.search(imported, text)
            or re.search(rf"from\s+helpers\.{module}\s+import\b", text)
            or re.search(rf"\bhelpers\.{module}\b", text)
        )
    word = re.escape(name)
    if owner is not None:  # a method or property, read off an instance or the class
        return bool(re.search(rf"\.{word}\b", text))
    # bare, or through the module under its name or an alias ending in it (_images.to_rgb_uint8)
    return bool(re.search(rf"(?<![\w.]){word}\b|(?<![\w.])\w*{module}\.{word}\b", text))


@pytest.mark.parametrize(
    ("qualname", "module", "owner", "name", "notebook"),
    TAGGED,
    ids=[f"{t[0]}->{t[4][:2]}" for t in TAGGED],
)
def test_introduced_in_names_a_notebook_that_uses_it(qualname, module, owner, name, notebook):
    path = NOTEBOOKS / notebook
    assert path.is_file(), f"{qualname}: 'Introduced in' names {notebook}, which does not exist"
    shown = name if owner is None else f".{name}"
    assert _uses(_notebook_text(notebook), module, owner, name), (
        f"{qualname} is tagged 'Introduced in notebooks/{notebook}', but that notebook's code "
        f"does not use {shown or 'the module'}. Fix: point the tag at the notebook that first "
        "uses it, or write 'Belongs with ``notebooks/...``' if no notebook uses it."
    )


def test_every_module_and_public_name_says_where_it_belongs():
    missing = [
        qualname
        for qualname, _module, owner, _name, obj in DOCUMENTED
        if owner is None
        and not re.search(f"{INTRODUCED.pattern}|{BELONGS.pattern}", inspect.getdoc(obj) or "")
    ]
    assert not missing, "no 'Introduced in' or 'Belongs with' notebook: " + ", ".join(missing)


def test_every_notebook_named_in_helpers_exists():
    on_disk = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    named = {
        (path.name, notebook)
        for path in sorted(HELPERS.glob("*.py"))
        for notebook in ANY_NOTEBOOK.findall(path.read_text(encoding="utf-8"))
    }
    missing = sorted(f"{file}: notebooks/{nb}" for file, nb in named if nb not in on_disk)
    assert not missing, "helpers name notebooks that do not exist: " + ", ".join(missing)


@pytest.mark.parametrize(
    ("qualname", "obj"), [(d[0], d[4]) for d in CALLABLES], ids=[d[0] for d in CALLABLES]
)
def test_public_callables_have_numpy_sections(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{qualname} has no docstring"
    if inspect.isclass(obj):
        assert _section(doc, "Parameters", "Attributes"), f"{qualname}: no Parameters/Attributes"
        return
    signature = inspect.signature(obj)
    arguments = [p for p in signature.parameters if p not in ("self", "cls")]
    if arguments:
        assert _section(doc, "Parameters"), f"{qualname}{signature}: no Parameters section"
    if signature.return_annotation not in (None, "None"):
        assert _section(doc, "Returns", "Yields"), f"{qualname}{signature}: no Returns section"


def test_public_properties_have_a_docstring():
    bare = [d[0] for d in DOCUMENTED if isinstance(d[4], property) and not inspect.getdoc(d[4])]
    assert not bare, "properties without a docstring: " + ", ".join(bare)


def test_the_package_map_lists_every_module_once():
    listed = re.findall(r"^- :mod:`helpers\.(\w+)`", helpers.__doc__, re.M)
    assert sorted(listed) == _modules(), "helpers/__init__.py's map and helpers/*.py differ"
