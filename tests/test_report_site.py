"""The static site, built from hand-written run directories (no training, no browser)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from harness.registry import load_registry
from reports.output import MANIFEST
from reports.render import render_site
from tests.test_report_support import XSS_TITLE, standard_runs, write_registry, write_run


@pytest.fixture
def extra_registry(tmp_path, monkeypatch):
    """The shipped registry plus the script-title paper, added the way users add papers."""
    monkeypatch.setenv("GAN_BENCH_REGISTRY", str(write_registry(tmp_path / "registry")))


def _build(folder: Path) -> Path:
    render_site(standard_runs(folder / "runs"), load_registry(), folder / "site", ["md", "csv"])
    return folder / "site"


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory) -> Path:
    """Built once for the tests that only read it (a build draws a dozen plots)."""
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(write_registry(folder / "registry")))
        return _build(folder)


@pytest.fixture
def site(shared_site, extra_registry) -> Path:
    return shared_site


@pytest.fixture
def own_site(tmp_path, extra_registry) -> Path:
    """A site of the test's own, for tests that add or remove runs."""
    return _build(tmp_path)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.targets.append(attrs[name])


def test_every_page_exists_and_every_local_link_resolves(site):
    files = _files(site)
    run_pages = [name for name in files if name.startswith("runs/") and name.endswith("/index.html")]
    assert len(run_pages) == 7  # one per run, the running one included
    assert {"index.html", "catalogue.html", "papers/dcgan.html", "papers/xss-gan.html", "static/sort.js",
            "static/style.css", "leaderboards.md", "leaderboards.csv"} <= set(files)
    for page in (name for name in files if name.endswith(".html")):
        parser = _Links()
        parser.feed(files[page].decode())
        for target in parser.targets:
            parts = urlsplit(target)
            if parts.scheme:  # arXiv / code links, and the empty data: favicon
                assert parts.scheme in ("https", "http", "data"), target
                continue
            assert not target.startswith("/"), f"{page}: absolute link {target}"  # must work from file://
            resolved = (site / page).parent / unquote(parts.path) if parts.path else site / page
            assert resolved.resolve().is_file(), f"{page}: broken link {target}"
            if parts.fragment:
                anchors = _Links()
                anchors.feed(resolved.read_text())
                assert parts.fragment in anchors.ids, f"{page}: missing anchor {target}"


def test_rebuilding_without_new_runs_is_byte_identical(tmp_path, site):
    before = _files(site)
    mtimes = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    render_site(site.parent / "runs", load_registry(), site, ["md", "csv"])
    assert _files(site) == before
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()} == mtimes  # nothing rewritten
    # A fresh folder (no plot cache): drawn again, the same bytes; the output does not depend on where it goes.
    render_site(site.parent / "runs", load_registry(), tmp_path / "elsewhere", ["md", "csv"])
    assert _files(tmp_path / "elsewhere") == before
    svg = before[next(name for name in before if name.endswith("losses.svg"))].decode()
    assert "<dc:date>" not in svg  # matplotlib's creation date is left out


def test_a_new_run_changes_only_what_it_touches_and_removed_runs_disappear(tmp_path, own_site):
    site = own_site
    before = _files(site)
    extra = write_run(tmp_path / "runs", "gan", 1, metrics={"fid": 28.0, "kid_mean": 0.009, "kid_std": 0.001})
    render_site(tmp_path / "runs", load_registry(), site, ["md", "csv"])
    after = _files(site)
    changed = {name for name in after if before.get(name) != after[name]}
    assert {"index.html", "papers/gan.html", "leaderboards.md", "leaderboards.csv", "catalogue.html"} <= changed
    assert not any(name.startswith("runs/dcgan/") for name in changed)
    import shutil

    shutil.rmtree(extra)
    render_site(tmp_path / "runs", load_registry(), site, [])
    assert _files(site).keys() == before.keys() - {"leaderboards.md", "leaderboards.csv"}
    assert not (site / "runs" / "gan" / "mnist" / "smoke" / extra.name).exists()  # its folder went with it
    assert (site / MANIFEST).is_file()


def test_protocols_land_in_separate_tables(site):
    html = (site / "index.html").read_text()
    sections = html.split('<section class="board"')[1:]
    assert len(sections) == 2
    assert "1,000 generated samples" in sections[0] and "64 generated samples" in sections[1]
    assert sections[0].count("<tr>") == 2  # header + dcgan's 1k re-score only
    assert "12.00 ± 2.00" in sections[1] and "12.00 ± 2.00" not in sections[0]


def test_index_marks_best_status_and_links_runs(site):
    html = (site / "index.html").read_text()
    assert '<td class="num best" data-sort="12.0" title="best FID in this table">12.00 ± 2.00</td>' in html
    assert "1 diverged" in html and "1 running" in html and "3 finished" in html
    assert 'href="runs/dcgan/mnist/smoke/0-20260101T000000Z-0000/index.html"' in html
    assert "Smoke budget" in html and "Unverified extractor weights" in html


def test_script_in_registry_text_is_escaped(site):
    for page in ("index.html", "catalogue.html", "papers/xss-gan.html"):
        html = (site / page).read_text()
        assert "<script>window.__pwned" not in html and "onerror=\"window" not in html, page
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;Escaping GAN" in html, page
    paper = (site / "papers" / "xss-gan.html").read_text()
    assert "Mallory &lt;b&gt;Bold&lt;/b&gt;" in paper and "&lt;script&gt;window.__pwned = 3" in paper
    assert XSS_TITLE not in paper


def test_run_page_shows_config_provenance_samples_and_curves(site):
    folder = site / "runs" / "dcgan" / "mnist" / "smoke" / "1-20260101T000000Z-0001"
    html = (folder / "index.html").read_text()
    assert "budget.g_steps" in html and "hyperparameters.lr" in html and "extractor.weights_sha256" in html
    assert "0123456789abcdef0123456789abcdef01234567" in html and "torch-fidelity" in html and "cpu (x86_64)" in html
    assert html.count("<tr>") >= 3 and "1,000 generated samples vs 64 train images" in html  # both of its scores
    assert (folder / "samples.png").read_bytes() == (site.parent / "runs" / "dcgan" / "mnist" / "smoke" /
                                                     "1-20260101T000000Z-0001" / "samples.png").read_bytes()
    assert (folder / "losses.svg").read_text().startswith("<?xml") and (folder / "metrics.svg").is_file()
    running = (site / "runs" / "lsgan" / "mnist" / "smoke" / "0-20260101T000000Z-0000" / "index.html").read_text()
    assert "No result.json yet" in running and "G step 20" in running


def test_paper_page_shows_the_entry_reported_numbers_and_runs(site):
    html = (site / "papers" / "dcgan.html").read_text()
    assert "1511.06434" in html and "reproductions.dcgan" in html and "6.16 ± 0.07" in html and "Table 3" in html
    assert html.count('href="../runs/dcgan/') == 4  # three runs, one of them scored under two protocols
    catalogued = next(e.id for e in load_registry().papers.values() if e.reproduction is None)
    assert "Catalogued only" in (site / "papers" / f"{catalogued}.html").read_text()


def test_catalogue_lists_every_paper_with_its_status(site):
    html = (site / "catalogue.html").read_text()
    registry = load_registry()
    assert html.count('<a href="papers/') == len(registry.papers) >= 144
    assert 'data-sort="1 implemented"' in html and 'data-sort="2 catalogued"' in html
    assert 'href="https://arxiv.org/abs/1511.06434"' in html


def test_reproduced_status_comes_from_a_standard_budget_run(tmp_path, extra_registry):
    write_run(tmp_path / "runs", "gan", 0, budget="standard", metrics={"fid": 5.0, "kid_mean": 0.0, "kid_std": 0.0})
    render_site(tmp_path / "runs", load_registry(), tmp_path / "site")
    assert '<span class="status status-reproduced">reproduced</span>' in (tmp_path / "site" / "papers" / "gan.html").read_text()


def test_an_empty_run_store_gives_a_site_that_says_so(tmp_path, extra_registry):
    (tmp_path / "no-runs").mkdir()  # a missing runs dir is an error (tests/test_hostile_errors.py)
    index = render_site(tmp_path / "no-runs", load_registry(), tmp_path / "site", ["md", "csv"])
    assert "No runs yet" in index.read_text() and "No runs yet." in (tmp_path / "site" / "leaderboards.md").read_text()


def test_cli_report_writes_formats_and_rejects_unknown_ones(tmp_path, cli):
    write_run(tmp_path / "runs", "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.0})
    result = cli("report", "--runs-dir", tmp_path / "runs", "--out", tmp_path / "site", "--format", "md,csv")
    assert result.exit_code == 0, result.output
    assert "leaderboards.md" in result.output and (tmp_path / "site" / "leaderboards.csv").is_file()
    result = cli("report", "--runs-dir", tmp_path / "runs", "--out", tmp_path / "site", "--format", "pdf")
    assert result.exit_code == 2 and "unknown report format 'pdf'" in result.output
