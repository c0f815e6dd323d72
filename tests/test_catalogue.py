"""The catalogue: one registry entry per paper named in the source lists (../shared/seeds/).

These tests check the registry as data: it loads, every arXiv link in the source documents has an entry,
no paper is catalogued twice, every `sources` id is a real source document and every document is used.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from harness.registry import BUILTIN_REGISTRY, Registry, load_registry

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SOURCE_IDS = ("000", "001", "002", "003", "004")
# arxiv.org/abs/1703.10593v6, arxiv.org/pdf/1704.02304.pdf, arxiv.org/pdf/1602.02644v2.pdf -> the bare id.
ARXIV_LINK = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?", re.IGNORECASE)

# Ids other parts of the project rely on, with the paper each must be.
PINNED_IDS = {
    "gan": "1406.2661", "cgan": "1411.1784", "lsgan": "1611.04076", "wgan": "1701.07875", "wgan-gp": "1704.00028",
    "acgan": "1610.09585", "infogan": "1606.03657", "sngan": "1802.05957", "f-gan": "1606.00709",
    "cogan": "1606.07536", "progan": "1710.10196", "sagan": "1805.08318", "biggan": "1809.11096",
    "stylegan": "1812.04948", "cyclegan": "1703.10593", "mix-gan": "1703.00573", "lapgan": "1506.05751",
    "dcgan": "1511.06434",
}


def arxiv_ids_in(text: str) -> set[str]:
    return {match.group(1) for match in ARXIV_LINK.finditer(text)}


def normalise_title(title: str) -> str:
    return " ".join("".join(c for c in title.casefold() if c.isalnum() or c.isspace()).split())


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry([BUILTIN_REGISTRY])


@pytest.fixture(scope="module")
def seed_texts() -> dict[str, str]:
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not present at {SEEDS}")
    texts = {path.name[:3]: path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}
    if not texts:
        pytest.skip(f"no source documents in {SEEDS}")
    return texts


def test_whole_registry_loads():
    registry = load_registry()
    assert len(registry.papers) >= 100, "the catalogue should hold every paper of the source lists"
    assert registry.resources, "non-paper items of the lists belong in registry/resources.yaml"
    assert set(SOURCE_IDS) <= set(registry.sources)


def test_arxiv_link_parsing_strips_versions_and_pdf():
    text = "a https://arxiv.org/abs/1703.10593v6 b https://arxiv.org/pdf/1704.02304.pdf c arxiv.org/pdf/1602.02644v2.pdf"
    assert arxiv_ids_in(text) == {"1703.10593", "1704.02304", "1602.02644"}
    assert arxiv_ids_in("https://github.com/junyanz/CycleGAN") == set()


def test_every_arxiv_link_in_the_sources_is_catalogued(registry, seed_texts):
    catalogued = {entry.arxiv for entry in registry.papers.values() if entry.arxiv}
    in_documents = {(arxiv, doc) for doc, text in seed_texts.items() for arxiv in arxiv_ids_in(text)}
    assert len(in_documents) > 50, "the documents should yield dozens of arXiv links; is the regex broken?"
    missing = sorted(f"{arxiv} (in {doc})" for arxiv, doc in in_documents if arxiv not in catalogued)
    assert not missing, f"arXiv links in the source lists with no registry entry: {missing}"


def test_entries_citing_a_linked_paper_name_that_document(registry, seed_texts):
    """If a document links an entry's arXiv id, the entry must list that document among its sources."""
    wrong = []
    for entry in registry.papers.values():
        for doc, text in seed_texts.items():
            if entry.arxiv and entry.arxiv in arxiv_ids_in(text) and doc not in entry.sources:
                wrong.append(f"{entry.id}: linked in {doc} but sources={entry.sources}")
    assert not wrong, wrong


def test_no_paper_is_catalogued_twice(registry):
    entries = list(registry.papers.values())
    arxiv_counts = Counter(entry.arxiv for entry in entries if entry.arxiv)
    assert not [a for a, n in arxiv_counts.items() if n > 1], arxiv_counts.most_common(3)
    title_counts = Counter(normalise_title(entry.title) for entry in entries)
    assert not [t for t, n in title_counts.items() if n > 1], title_counts.most_common(3)
    assert len({entry.id for entry in entries}) == len(entries)
    resource_ids = Counter(resource.id for resource in registry.resources)
    assert not [r for r, n in resource_ids.items() if n > 1], resource_ids.most_common(3)


def test_sources_are_valid_and_every_document_is_used(registry):
    valid = set(registry.sources)
    assert valid == set(SOURCE_IDS)
    bad = [(entry.id, entry.sources) for entry in registry.papers.values() if not set(entry.sources) <= valid]
    bad += [(resource.id, resource.sources) for resource in registry.resources if not set(resource.sources) <= valid]
    assert not bad, bad
    # An entry no source list names is a paper added for a benchmark table (VEEGAN, PacGAN): it must
    # be implemented, never a catalogue-only entry from outside the lists.
    unnamed = [entry.id for entry in registry.papers.values() if not entry.sources and entry.reproduction is None]
    assert not unnamed, f"catalogue entries that no source list names: {unnamed}"
    used = Counter(source for entry in registry.papers.values() for source in set(entry.sources))
    unused = [doc for doc in SOURCE_IDS if used[doc] == 0]
    assert not unused, f"source documents that no paper entry cites: {unused}"


def test_pinned_ids_name_the_expected_papers(registry):
    wrong = {pid: (registry.papers[pid].arxiv if pid in registry.papers else None)
             for pid, arxiv in PINNED_IDS.items()
             if pid not in registry.papers or registry.papers[pid].arxiv != arxiv}
    assert not wrong, f"ids other modules rely on are missing or point at another paper: {wrong}"


def test_chinese_aliases_are_quoted_verbatim_from_the_lists(registry, seed_texts):
    """A Chinese alias records how a list names the paper, so it must occur exactly in some document."""
    han = re.compile(r"[\u4e00-\u9fff]")
    corpus = "\n".join(seed_texts.values())
    not_found = [(entry.id, alias) for entry in registry.papers.values() for alias in entry.aliases
                 if han.search(alias) and alias not in corpus]
    assert not not_found, not_found
