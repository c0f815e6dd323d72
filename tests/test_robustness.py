"""Robustness properties: the registry loader on arbitrary input, exclusive run dirs, atomic writes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import RegistryError
from harness.registry import load_paper
from harness.runstore import RunDir
from harness.schema import PaperEntry
from harness.storage import atomic_write_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
FIELDS = ["id", "title", "authors", "year", "venue", "arxiv", "code", "category", "sources", "tags", "aliases",
          "reproduction", "colour"]
plausible = {
    "id": st.sampled_from(["toy", "Toy", "toy gan", ""]),
    "title": st.text(max_size=40),
    "authors": st.lists(st.text(min_size=1, max_size=15), max_size=3),
    "year": st.one_of(st.integers(1900, 2200), st.text(max_size=4)),
    "arxiv": st.one_of(st.sampled_from(["1511.06434", "1511.6434", "arXiv:1511.06434", "1511.06434v2"]), st.text(max_size=12)),
    "category": st.sampled_from(["loss", "architecture", "poetry", ""]),
    "code": st.lists(st.sampled_from(["https://github.com/a/b", "not a url", "ftp://x"]), max_size=2),
    "reproduction": st.fixed_dictionaries({"module": st.sampled_from(["reproductions.toy", "os", "reproductions..x"]),
                                           "datasets": st.lists(st.sampled_from(["mnist", "cifar10"]), max_size=2)}),
}
entries = st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)).flatmap(
    lambda base: st.fixed_dictionaries({k: plausible.get(k, st.just(v)) for k, v in base.items()}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(entries, values))
def test_registry_loader_accepts_or_explains_in_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("reg") / "toy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        entry = load_paper(path)
    except RegistryError as error:  # the only way to fail: one line naming the file
        message = str(error)
        assert "\n" not in message and str(path) in message
    else:
        assert isinstance(entry, PaperEntry) and entry.id == "toy"
        # what loads, round-trips: dumping the validated entry and loading it again gives the same entry
        path.write_text(yaml.safe_dump(entry.model_dump(mode="json", exclude_none=True), allow_unicode=True))
        assert load_paper(path) == entry


def test_runs_started_at_once_get_distinct_directories(tmp_path):
    made: list[Path] = []
    lock = threading.Lock()

    def start():
        run = RunDir.create(tmp_path, "dcgan", "mnist", "smoke", seed=0)
        with lock:
            made.append(run.path)

    threads = [threading.Thread(target=start) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == len(set(made)) == 24 and all(p.is_dir() for p in made)


def test_a_crash_mid_write_leaves_the_old_result(tmp_path, monkeypatch):
    import harness.storage as storage

    target = tmp_path / "result.json"
    atomic_write_json(target, {"status": "finished", "fid": 12.5})

    def crash(fd):  # the new bytes are in the temporary file, the rename has not happened
        raise OSError("power cut")

    monkeypatch.setattr(storage.os, "fsync", crash)
    with pytest.raises(OSError, match="power cut"):
        atomic_write_json(target, {"status": "finished", "fid": 99.0})
    assert json.loads(target.read_text()) == {"status": "finished", "fid": 12.5}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind
