"""Load and validate the registry: `registry/papers/*.yaml`, `registry/resources.yaml`, `registry/sources.yaml`.

The registry is plain data. Loading it imports neither torch nor any reproduction, so `gan-bench list`
stays fast. Every problem is reported as one `RegistryError` line naming the file and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import RegistryError
from harness.schema import PaperEntry, Resource, SourceDocument
from harness.yaml_limits import MAX_YAML_VALUES, too_large

BUILTIN_REGISTRY = Path(__file__).resolve().parent.parent / "registry"
# Extra registry folders (os.pathsep-separated), for papers kept outside this checkout.
EXTRA_REGISTRY_ENV = "GAN_BENCH_REGISTRY"

Status = Literal["catalogued", "implemented", "reproduced"]
STATUSES: tuple[Status, ...] = ("catalogued", "implemented", "reproduced")

try:  # the C loader is ~10x faster; both are safe loaders (no arbitrary Python objects).
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader


def registry_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(EXTRA_REGISTRY_ENV, "").split(os.pathsep) if p]
    return [BUILTIN_REGISTRY, *extra]


def paper_file(paper_id: str) -> Path | None:
    """The registry file an entry was read from (ids match file names, and are unique across folders)."""
    for directory in registry_dirs():
        path = directory / "papers" / f"{paper_id}.yaml"
        if path.is_file():
            return path
    return None


def _read_yaml(path: Path) -> object:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_SafeLoader)
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RegistryError(f"{path}:{where} not valid YAML: {problem}") from None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc.strerror}") from None
    if too_large(data):
        raise RegistryError(f"{path}: expands to more than {MAX_YAML_VALUES:,} values (YAML aliases?); refused")
    return data


def _describe(exc: ValidationError) -> str:
    """The first validation problem as 'field.path: message' — one line, the field named."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (not in the schema)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}"


def _validate(model: type[BaseModel], data: object, where: str) -> BaseModel:
    if not isinstance(data, dict):
        raise RegistryError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(f"{where}: {_describe(exc)}") from None


def load_paper(path: Path) -> PaperEntry:
    entry = _validate(PaperEntry, _read_yaml(path), str(path))
    assert isinstance(entry, PaperEntry)
    if entry.id != path.stem:
        raise RegistryError(f"{path}: id: {entry.id!r} must match the file name {path.stem!r}")
    return entry


def _load_list(path: Path, model: type[BaseModel]) -> list:
    if not path.exists():
        return []
    data = _read_yaml(path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise RegistryError(f"{path}: expected a list of items, got {type(data).__name__}")
    return [_validate(model, item, f"{path}: item {index}") for index, item in enumerate(data)]


@dataclass(frozen=True)
class Registry:
    papers: dict[str, PaperEntry]
    resources: list[Resource] = field(default_factory=list)
    sources: dict[str, SourceDocument] = field(default_factory=dict)

    def get(self, paper_id: str) -> PaperEntry:
        try:
            return self.papers[paper_id]
        except KeyError:
            close = [p for p in self.papers if paper_id.lower() in p or p in paper_id.lower()]
            hint = f"; did you mean {', '.join(sorted(close)[:3])}?" if close else "; see `gan-bench list`"
            raise RegistryError(f"unknown paper {paper_id!r}{hint}") from None

    def implemented(self) -> list[PaperEntry]:
        return [entry for entry in self.papers.values() if entry.reproduction is not None]

    def select(self, reproduced: Iterable[str] = (), *, status: str | None = None, category: str | None = None,
               year: int | None = None, source: str | None = None, search: str | None = None) -> list[PaperEntry]:
        """The entries matching every criterion given, by year then id (`gan-bench list`'s filters).

        `search` is case-insensitive text in the id, title or aliases; `source` a source document id;
        `reproduced` the paper ids with a result at the standard budget, as for `status`."""
        if status is not None and status not in STATUSES:
            raise RegistryError(f"unknown status {status!r}; choose {', '.join(STATUSES[:-1])} or {STATUSES[-1]}")
        reproduced = set(reproduced)
        needle = (search or "").lower()

        def matches(entry: PaperEntry) -> bool:
            text = " ".join([entry.id, entry.title, *entry.aliases]).lower()
            return ((not status or self.status(entry.id, reproduced) == status)  # an empty filter is no filter
                    and (not category or entry.category == category)
                    and (not year or entry.year == year)
                    and (not source or source in entry.sources)
                    and (not needle or needle in text))

        return [entry for entry in sorted(self.papers.values(), key=lambda e: (e.year, e.id)) if matches(entry)]

    def status(self, paper_id: str, reproduced: Iterable[str] = ()) -> Status:
        """Status is derived, never written: a reproduction block makes a paper implemented, a result at
        the standard budget makes it reproduced. `reproduced` is the set of paper ids with such a result."""
        entry = self.papers[paper_id]
        if entry.reproduction is None:
            return "catalogued"
        return "reproduced" if paper_id in set(reproduced) else "implemented"


def load_registry(dirs: Iterable[Path] | None = None) -> Registry:
    """Read and cross-check every registry folder. Raises RegistryError on the first problem."""
    papers: dict[str, PaperEntry] = {}
    origin: dict[str, Path] = {}
    resources: list[Resource] = []
    sources: dict[str, SourceDocument] = {}
    for directory in dirs if dirs is not None else registry_dirs():
        if not directory.is_dir():
            raise RegistryError(f"registry folder {directory} does not exist")
        for path in sorted((directory / "papers").glob("*.yaml")):
            entry = load_paper(path)
            if entry.id in papers:
                raise RegistryError(f"{path}: id: {entry.id!r} is already defined in {origin[entry.id]}")
            papers[entry.id] = entry
            origin[entry.id] = path
        resources.extend(_load_list(directory / "resources.yaml", Resource))
        for source in _load_list(directory / "sources.yaml", SourceDocument):
            sources[source.id] = source

    _check_unique(papers, origin, "arxiv", lambda e: e.arxiv)
    _check_unique(papers, origin, "title", lambda e: _normalise_title(e.title))
    if sources:
        for entry in papers.values():
            for source in entry.sources:
                if source not in sources:
                    raise RegistryError(f"{origin[entry.id]}: sources: unknown source document {source!r}")
        for resource in resources:
            for source in resource.sources:
                if source not in sources:
                    raise RegistryError(f"resources.yaml: {resource.id}: sources: unknown source document {source!r}")
    resource_ids = [r.id for r in resources]
    duplicates = {r for r in resource_ids if resource_ids.count(r) > 1}
    if duplicates:
        raise RegistryError(f"resources.yaml: id: duplicated {sorted(duplicates)}")
    return Registry(papers=papers, resources=resources, sources=sources)


def _normalise_title(title: str) -> str:
    return " ".join("".join(c for c in title.lower() if c.isalnum() or c.isspace()).split())


def _check_unique(papers: dict[str, PaperEntry], origin: dict[str, Path], what: str, key) -> None:
    seen: dict[str, str] = {}
    for paper_id, entry in papers.items():
        value = key(entry)
        if value is None:
            continue
        if value in seen:
            raise RegistryError(f"{origin[paper_id]}: {what}: same as in {origin[seen[value]]}")
        seen[value] = paper_id
