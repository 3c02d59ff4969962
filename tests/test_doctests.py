"""The Examples of every ``helpers`` docstring, run as part of a plain ``pytest``.

``pytest helpers`` collects these examples itself (``--doctest-modules`` in pyproject.toml).
A plain ``pytest`` (``make test``) collects only its ``testpaths``, ``tests`` and
``notebooks``, so this file brings the same examples into that run: one test per docstring,
with the option flags of pyproject.toml (NORMALIZE_WHITESPACE, ELLIPSIS).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import helpers

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _docstring_tests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for info in sorted(pkgutil.iter_modules(helpers.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"helpers.{info.name}")
        tests += [t for t in finder.find(module) if t.examples]
    return sorted(tests, key=lambda t: t.name)


TESTS = _docstring_tests()


def test_examples_were_found():
    # 119 docstrings had examples when this was written; far fewer means the finder broke.
    assert len(TESTS) >= 100, f"only {len(TESTS)} helpers docstrings have examples"


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_docstring_examples(test: doctest.DocTest):
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
