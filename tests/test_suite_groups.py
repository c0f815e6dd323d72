"""How the suite's tests are shared out to the xdist workers (conftest's pytest_itemcollected):
a test file is one unit of work, so its module fixtures are built once, unless it sets
SPLIT_ACROSS_WORKERS = True; a test that names its own xdist_group keeps it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests import conftest


class Item:
    """What the hook reads of a collected test: its node id, its module, its marks."""

    def __init__(self, nodeid: str, module, marks=()):
        self.nodeid, self.module, self.marks = nodeid, module, list(marks)

    def get_closest_marker(self, name: str):
        return next((mark for mark in self.marks if mark.name == name), None)

    def add_marker(self, mark) -> None:
        self.marks.append(mark.mark if hasattr(mark, "mark") else mark)

    @property
    def group(self) -> str | None:
        """The unit of work as xdist's loadgroup forms it: every xdist_group name the test has, joined."""
        names = sorted(mark.args[0] for mark in self.marks if mark.name == "xdist_group")
        return "_".join(names) or None


def test_a_file_is_one_group_a_split_file_none_and_an_own_group_is_kept():
    grouped, split = SimpleNamespace(), SimpleNamespace(SPLIT_ACROSS_WORKERS=True)
    items = [Item("tests/test_a.py::test_one", grouped), Item("tests/test_a.py::test_two[x@y]", grouped),
             Item("tests/test_b.py::test_three", grouped),
             Item("tests/test_smoke.py::test_case[gan]", split), Item("tests/test_smoke.py::test_case[dcgan]", split),
             Item("tests/test_c.py::test_four", grouped, [pytest.mark.xdist_group("mine").mark])]
    for item in items:
        conftest.pytest_itemcollected(item)
    assert [item.group for item in items] == ["tests/test_a.py", "tests/test_a.py", "tests/test_b.py", None, None,
                                              "mine"]


def test_the_every_paper_smoke_test_is_split_and_the_suite_runs_by_group():
    from pathlib import Path

    import tests.test_smoke_every_paper as smoke

    assert smoke.SPLIT_ACROSS_WORKERS is True
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '--dist loadgroup"' in pyproject  # loadfile would ignore the groups and pin the smoke file to one worker
