"""The registry schema accepts good entries and rejects bad ones with a message naming file and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import RegistryError
from harness.registry import load_paper, load_registry

GOOD = """
id: toy
title: A Toy Paper
authors: [A. Author]
year: 2020
arxiv: "2001.00001"
category: loss
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "papers" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_the_shipped_registry_is_valid():
    registry = load_registry()
    assert "dcgan" in registry.papers
    assert registry.papers["dcgan"].reproduction.module == "reproductions.dcgan"


def test_a_good_entry_loads(tmp_path):
    entry = load_paper(write(tmp_path, "toy", GOOD))
    assert entry.id == "toy" and entry.arxiv == "2001.00001" and entry.reproduction is None


BAD = [
    ("missing title", GOOD.replace("title: A Toy Paper\n", ""), "title: Field required"),
    ("year as text", GOOD.replace("year: 2020", "year: twenty"), "year:"),
    ("unknown key", GOOD + "colour: blue\n", "colour: unknown key"),
    ("bad arxiv id", GOOD.replace('"2001.00001"', '"arXiv:2001.1"'), "arxiv: Value error, must look like"),
    ("unknown category", GOOD.replace("category: loss", "category: poetry"), "category:"),
    ("id differs from file", GOOD.replace("id: toy", "id: other"), "must match the file name"),
    ("upper-case id", GOOD.replace("id: toy", "id: Toy"), "id: Value error"),
    ("not a mapping", "- just\n- a list\n", "expected a mapping"),
    ("broken yaml", "id: [unclosed\n", "not valid YAML"),
    ("module outside reproductions", GOOD + "reproduction:\n  module: os\n  datasets: [mnist]\n",
     "reproduction.module: Value error, must name a module inside reproductions/"),
    ("dotted escape", GOOD + "reproduction:\n  module: reproductions.a.b\n  datasets: [mnist]\n", "reproduction.module"),
    ("no datasets", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: []\n", "reproduction.datasets"),
    ("negative budget", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n  paper_budget: {g_steps: -3}\n",
     "reproduction.paper_budget.g_steps: Input should be greater than 0"),
    ("reported without source", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  reported: [{dataset: mnist, metric: fid, value: 3.0}]\n", "reproduction.reported.0.source: Field required"),
    ("unknown metric", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  reported: [{dataset: mnist, metric: psnr, value: 3.0, source: 'Table 1 of the paper'}]\n", "metric"),
    ("unknown extractor family", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  reported: [{dataset: mnist, metric: fid, value: 3.0, extractor: vgg, source: 'Table 1 of the paper'}]\n",
     "reproduction.reported.0.extractor: Input should be"),
    ("unknown real split", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  reported: [{dataset: mnist, metric: fid, value: 3.0, real_split: valid, source: 'Table 1 of the paper'}]\n",
     "reproduction.reported.0.real_split: Input should be"),
    ("zero IS splits", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  reported: [{dataset: mnist, metric: is, value: 3.0, is_splits: 0, source: 'Table 1 of the paper'}]\n",
     "reproduction.reported.0.is_splits: Input should be greater than 0"),
    ("per_dataset for an unsupported dataset", GOOD + "reproduction:\n  module: reproductions.toy\n  datasets: [mnist]\n"
     "  per_dataset: {cifar10: {lr: 1.0}}\n", "per_dataset names 'cifar10'"),
]


@pytest.mark.parametrize("case, text, expected", BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_entry_is_one_line_naming_file_and_field(tmp_path, case, text, expected):
    path = write(tmp_path, "toy", text)
    with pytest.raises(RegistryError) as error:
        load_paper(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_duplicate_ids_titles_and_arxiv_ids_are_rejected(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, "toy", GOOD)
    write(second, "toy", GOOD)
    with pytest.raises(RegistryError, match="already defined"):
        load_registry([first, second])
    (second / "papers" / "toy.yaml").unlink()
    write(second, "toy2", GOOD.replace("toy", "toy2").replace("A Toy Paper", "Another"))
    with pytest.raises(RegistryError, match="arxiv: same as in"):
        load_registry([first, second])
    write(second, "toy2", GOOD.replace("toy", "toy2").replace('"2001.00001"', '"2001.00002"').replace("A Toy Paper", "a  toy paper!"))
    with pytest.raises(RegistryError, match="title: same as in"):
        load_registry([first, second])


def test_unknown_source_document_is_rejected(tmp_path):
    write(tmp_path, "toy", GOOD + 'sources: ["999"]\n')
    (tmp_path / "sources.yaml").write_text('- {id: "000", file: a.txt, title: A list, description: d}\n')
    with pytest.raises(RegistryError, match="unknown source document '999'"):
        load_registry([tmp_path])


def test_status_is_derived(tmp_path):
    registry = load_registry()
    assert registry.status("dcgan") == "implemented"
    assert registry.status("dcgan", reproduced={"dcgan"}) == "reproduced"


# The fields a number's protocol needs, per metric: FID/KID compare with real images, IS uses splits.
PROTOCOL_FIELDS = {"fid": ("num_samples", "real_samples", "real_split", "extractor"),
                   "kid": ("num_samples", "real_samples", "real_split", "extractor"),
                   "is": ("num_samples", "is_splits", "extractor")}


def test_every_reported_inception_number_states_its_protocol_or_says_what_is_unstated():
    missing = []
    for entry in load_registry().papers.values():
        for number in entry.reproduction.reported if entry.reproduction else []:
            # Lucic et al.'s study numbers leave these entries for a study entry of their own (another change).
            if number.metric not in PROTOCOL_FIELDS or "1711.10337" in number.source:
                continue
            unstated = [name for name in PROTOCOL_FIELDS[number.metric] if getattr(number, name) is None]
            if unstated and not number.protocol_note:
                missing.append(f"{entry.id} {number.dataset} {number.metric} {number.value}: {unstated}")
    assert not missing, missing


def test_sngan_paper_budget_scores_as_table_2():
    from harness.budget import resolve_budget

    entry = load_registry().papers["sngan"].reproduction
    budget = resolve_budget("paper", entry.paper_budget_for("cifar10"))
    table2 = [r for r in entry.reported if r.dataset == "cifar10"]
    assert {r.num_samples for r in table2} == {budget.eval_samples} == {5000}  # appendix B.1: 5,000 generated
    assert {r.real_samples for r in table2 if r.metric == "fid"} == {budget.real_samples} == {10000}
    assert {r.is_splits for r in table2 if r.metric == "is"} == {10}
