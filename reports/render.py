"""Turn the run store and the registry into a static HTML page (Jinja2, autoescaped).

Reads only results (harness.runstore) and the registry. Scores are grouped by protocol — dataset,
budget, sample counts, real split, extractor — and never ranked across groups.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.registry import Registry
from harness.runstore import iter_results
from harness.storage import atomic_write_text


def _environment() -> Environment:
    return Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def protocol_key(result: dict, score: dict) -> tuple:
    p = score["protocol"]
    return (result["dataset"], result["budget"]["name"], p["num_samples"], p["real_split"], p["real_samples"],
            p["extractor"]["label"])


def collect_tables(runs_dir: Path, registry: Registry) -> list[dict]:
    """One table per protocol; rows sorted by FID (lower is better), then by run path for stability."""
    tables: dict[tuple, list[dict]] = {}
    unscored: list[dict] = []
    for run, result in iter_results(runs_dir):
        entry = registry.papers.get(result["paper"])
        base = {"paper": result["paper"], "title": entry.title if entry else result["paper"], "seed": result["seed"],
                "status": result["status"], "kimg": result["progress"]["kimg"],
                "wall_clock_s": result["progress"]["wall_clock_s"], "device": result["provenance"]["device"]["name"],
                "run": str(run.path.relative_to(runs_dir)), "divergence": result.get("divergence")}
        if not result["scores"]:
            unscored.append({**base, "dataset": result["dataset"], "budget": result["budget"]["name"]})
        for score in result["scores"]:
            reported = []
            if entry and entry.reproduction:
                reported = [r for r in entry.reproduction.reported if r.dataset == result["dataset"]]
            tables.setdefault(protocol_key(result, score), []).append({**base, **score["metrics"], "reported": reported})
    ordered = []
    for key in sorted(tables):
        rows = sorted(tables[key], key=lambda r: (r.get("fid", float("inf")), r["run"]))
        dataset, budget, samples, split, real_samples, extractor = key
        ordered.append({"dataset": dataset, "budget": budget, "num_samples": samples, "real_split": split,
                        "real_samples": real_samples, "extractor": extractor, "rows": rows})
    if unscored:
        ordered.append({"dataset": "—", "budget": "unscored runs", "num_samples": None, "real_split": None,
                        "real_samples": None, "extractor": None, "rows": sorted(unscored, key=lambda r: r["run"])})
    return ordered


def render_site(runs_dir: Path, registry: Registry, out: Path) -> Path:
    runs_dir, out = Path(runs_dir), Path(out)
    tables = collect_tables(runs_dir, registry) if runs_dir.is_dir() else []
    html = _environment().get_template("index.html").render(tables=tables, runs_dir=str(runs_dir))
    index = out / "index.html"
    atomic_write_text(index, html)
    return index
