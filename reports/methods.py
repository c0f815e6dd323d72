"""How a method is named on the page: "SNGAN — Miyato et al. 2018", its variant, and where to read more
(the arXiv page, the official code, our module's source as the site shows it)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from harness.registry import Registry
from harness.schema import PaperEntry
from reports.links import code_label

SHORT_NAME = 24  # an alias longer than this is a title, not a method name


def method_name(entry: PaperEntry) -> str:
    """The name papers cite the method by: the entry's first short ASCII alias ("SNGAN"), else its id."""
    for alias in entry.aliases:
        if alias.isascii() and len(alias) <= SHORT_NAME:
            return alias
    return entry.id


def short_authors(entry: PaperEntry) -> str:
    """"Miyato et al." / "Arjovsky and Bottou" / "Goodfellow": surnames, as a citation gives them."""
    surnames = [name.split()[-1] if name.split() else name for name in entry.authors]
    if len(surnames) > 2:
        return f"{surnames[0]} et al."
    return " and ".join(surnames)


def citation(entry: PaperEntry) -> str:
    return f"{short_authors(entry)} {entry.year}"


def source_page(module: str) -> str:
    """The site page that shows a reproduction module's source (the repository as this site was built from it)."""
    return f"source/{quote(module, safe='')}.html"


@dataclass(frozen=True)
class Method:
    row: str  # the leaderboard row name: paper id or paper@variant
    name: str  # "SNGAN", or "row name" for a paper the registry does not know
    citation: str | None  # "Miyato et al. 2018"
    variant: str | None
    variant_note: str | None
    paper_id: str | None  # set when the registry has the entry (its page exists)
    arxiv: str | None
    code: tuple[str, str] | None  # (url, owner/repo) of the first code link the entry lists
    module: str | None
    title: str | None = None  # the paper's title

    @property
    def label(self) -> str:
        text = self.name + (f" ({self.variant})" if self.variant else "")
        return f"{text} — {self.citation}" if self.citation else text


def method(row: str, registry: Registry) -> Method:
    paper, _, variant = row.partition("@")
    entry = registry.papers.get(paper)
    if entry is None:
        return Method(row, row, None, variant or None, None, None, None, None, None, f"{paper} (not in the registry)")
    spec = entry.reproduction
    note = spec.variants[variant].note if spec and variant in spec.variants else None
    code = (str(entry.code[0]), code_label(str(entry.code[0]))) if entry.code else None
    return Method(row, method_name(entry), citation(entry), variant or None, note, entry.id, entry.arxiv, code,
                  spec.module if spec else None, entry.title)
