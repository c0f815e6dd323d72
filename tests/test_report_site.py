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
    monkeypatch.setenv("GAN_BENCH_CACHE", str(tmp_path / "cache"))


def _build(folder: Path) -> Path:
    render_site(standard_runs(folder / "runs"), load_registry(), folder / "site", ["md", "csv"])
    return folder / "site"


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory) -> Path:
    """Built once for the tests that only read it (a build draws a dozen plots)."""
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(write_registry(folder / "registry")))
        patch.setenv("GAN_BENCH_CACHE", str(folder / "cache"))
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
    assert {"index.html", "catalogue.html", "reproduction.html", "timeline.html", "papers/dcgan.html",
            "papers/xss-gan.html", "source/reproductions.dcgan.html", "static/sort.js", "static/filter.js",
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
    svg = before[next(name for name in before if name.endswith("losses-1.svg"))].decode()
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
    samples = '<span class="legend-key">samples</span> '
    assert f"{samples}1,000<" in sections[0] and f"{samples}64<" in sections[1]  # each table's budget legend
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
    assert (folder / "losses-1.svg").read_text().startswith("<?xml") and (folder / "losses-2.svg").is_file()
    assert not list(folder.glob("metrics*.svg")) and "Scored once: no metric curve" in html  # one evaluation is no curve
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


# ------------------------------------------------------------------------------------ the issue-20 views
@pytest.fixture(scope="module")
def verdict_site(tmp_path_factory) -> Path:
    """The shared runs plus verdict-gan's (a paper whose numbers get every verdict) and a variant row."""
    from tests.report_views_support import verdict_runs, write_verdict_registry

    folder = tmp_path_factory.mktemp("verdict-report")
    runs = verdict_runs(standard_runs(folder / "runs"))
    write_run(runs, "unrolled-gan@k5", 0, metrics={"fid": 40.0, "kid_mean": 0.03, "kid_std": 0.001})
    write_run(runs, "gan", 1, eval_samples=1000, metrics={"fid": 31.0, "kid_mean": 0.01, "kid_std": 0.001})  # smoke-custom
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(write_verdict_registry(folder / "registry")))
        patch.setenv("GAN_BENCH_CACHE", str(folder / "cache"))
        render_site(runs, load_registry(), folder / "site", ["md", "csv"])
        yield folder / "site"


def _cells(site: Path, paper: str):
    """The reproduction view's cells of `paper`, computed as the site does (without drawing its plots)."""
    from reports.budgets import board_budget
    from reports.reproduction import all_cells
    from reports.runs import read_runs
    from reports.tables import leaderboards

    registry, runs = load_registry(), read_runs(site.parent / "runs")
    boards = leaderboards(runs, registry)
    budgets = {b.protocol.slug: board_budget(b, {r.run_id: r for r in runs}) for b in boards}
    return [c for c in all_cells(registry, boards, budgets) if c.entry.id == paper]


def test_each_reported_number_gets_its_verdict_and_a_delta_only_at_the_same_protocol(verdict_site):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(verdict_site.parent / "registry"))
        cells = _cells(verdict_site, "verdict-gan")
        xss = _cells(verdict_site, "xss-gan")
    assert [c.verdict for c in cells] == ["within", "outside", "not comparable", "not run"]
    within, outside, apart, absent = cells
    assert within.ours.mean == pytest.approx(21.0) and within.delta == pytest.approx(1.0) and within.ours.row.n == 3
    assert outside.delta == pytest.approx(0.011 - 0.5)
    assert apart.delta is None and "the paper scored 10,000 samples, this table 50,000" in apart.why
    assert absent.ours is None and absent.delta is None
    # xss-gan's 64-sample FID beside our smoke run: same sample count, but neither budget nor extractor match.
    fid = next(c for c in xss if c.column.key == "fid")
    assert fid.verdict == "not comparable" and fid.delta is None
    assert "smoke budget" in fid.why and "unverified" in fid.why


def test_the_reproduction_view_shows_every_source_as_text(verdict_site):
    from tests.report_views_support import SOURCES

    html = (verdict_site / "reproduction.html").read_text()
    visible = html.replace('title="', 'data-x="')  # a tooltip would not count
    for source in SOURCES:
        assert f'<td data-label="source" class="source">{source}' in visible
    assert 'data-verdict="within"' in html and 'data-verdict="not run"' in html
    markdown = (verdict_site / "leaderboards.md").read_text()
    assert "## Paper vs ours" in markdown and SOURCES[0] in markdown and "| within |" in markdown


def test_leaderboard_rows_name_methods_link_them_and_carry_a_budget_legend(verdict_site):
    html = (verdict_site / "index.html").read_text()
    assert '<a href="papers/dcgan.html">DCGAN</a> <span class="citation">— Radford et al. 2015</span>' in html
    assert '<span class="variant" title="registry variant unrolled-gan@k5">k5</span>' in html
    assert 'href="https://arxiv.org/abs/1511.06434">arXiv</a>' in html and 'href="source/reproductions.dcgan.html"' in html
    assert html.count('<p class="legend">') == html.count('<section class="board"') - ("Excluded runs" in html)
    assert "<span class=\"legend-key\">G steps</span> 20" in html and "<span class=\"legend-key\">batch</span> 16" in html
    assert "quick-custom is quick with" in html  # the budget names are defined on the page
    assert "3 <span class=\"muted\">(0, 1, 2)</span>" in html  # seeds shown
    # GAN's one-seed KID is the table's lowest, but one seed is no winner.
    assert '<td class="num best" data-sort="0.008"' not in html and '<td class="num" data-sort="0.008">' in html
    assert '<th data-type="none" title="training time per run on a shared, loaded machine: not a ranking">' in html
    assert 'src="runs/dcgan/mnist/smoke/0-20260101T000000Z-0000/samples.png"' in html  # a thumbnail per row
    assert 'href="runs/unrolled-gan%40k5/mnist/smoke/0-20260101T000000Z-0000/index.html"' in html
    assert (verdict_site / "runs" / "unrolled-gan@k5" / "mnist" / "smoke" / "0-20260101T000000Z-0000" / "index.html").is_file()
    assert 'href="leaderboards.md"' in html and 'href="leaderboards.csv"' in html


def test_constant_columns_move_into_the_caption(verdict_site):
    html = (verdict_site / "index.html").read_text()
    paper_table = html.split('<section class="board" id="mnist-paper-50000')[1].split("</section>")[0]
    assert "device: cpu (x86_64)." in paper_table and "status: every run finished." in paper_table
    assert ">device</" not in paper_table and ">status</" not in paper_table
    assert 'class="verdict verdict-within">within</span>' in paper_table  # the paper's number, same protocol


def test_run_page_links_its_raw_files_and_the_command_that_reproduces_it(verdict_site):
    run = verdict_site.parent / "runs" / "gan" / "mnist" / "smoke-custom" / "1-20260101T000000Z-0001"
    page = verdict_site / "runs" / "gan" / "mnist" / "smoke-custom" / run.name
    html = (page / "index.html").read_text()
    for name in ("config.json", "result.json", "curves.jsonl"):
        assert (page / name).read_bytes() == (run / name).read_bytes() and f'<a href="{name}"' in html
    # The fixture's lr (0.0002) is not GAN's registry value (0.1): the command passes it with --set.
    assert ("gan-bench run gan --dataset mnist --budget smoke --eval-samples 1000 --set lr=0.0002 --seed 1 "
            "--device cpu --extractor torchscript") in html


def test_a_symlinked_run_file_is_not_copied_into_the_site(tmp_path, extra_registry):
    runs = tmp_path / "runs"
    run = write_run(runs, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.0})
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "do-not-publish"}')
    (run / "curves.jsonl").unlink()
    (run / "curves.jsonl").symlink_to(secret)
    render_site(runs, load_registry(), tmp_path / "site")
    copied = tmp_path / "site" / "runs" / "dcgan" / "mnist" / "smoke" / run.name
    assert (copied / "config.json").is_file() and not (copied / "curves.jsonl").exists()
    assert not any(b"do-not-publish" in p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file())


def test_losses_of_different_scales_get_their_own_axes_and_single_points_no_curve():
    from reports.plots import loss_panels, metric_panels, scale_groups

    series = {"loss_d": ([0, 1], [1.2, 1.1]), "loss_g": ([0, 1], [126.0, 125.0]), "loss_e": ([0, 1], [2.0, 3.0])}
    assert scale_groups(series) == [["loss_d", "loss_e"], ["loss_g"]]
    curves = [{"kind": "loss", "kimg": k, "loss_d": 1.0 + k, "loss_g": 120.0 + k, "d_accuracy": 0.5} for k in (1, 2)]
    assert len(loss_panels(curves)) == 3  # two loss scales, and D's accuracy apart
    assert loss_panels(curves[:1]) == [] and metric_panels([{"kind": "metric", "kimg": 1, "fid": 3.0}]) == []


def test_plot_cache_is_kept_outside_the_site(tmp_path, extra_registry):
    render_site(standard_runs(tmp_path / "runs"), load_registry(), tmp_path / "site")
    assert not list((tmp_path / "site").rglob(".gan-bench-cache")) and not list((tmp_path / "site").rglob("*.count"))
    assert list((tmp_path / "cache" / "report-plots").rglob("*-losses-0.svg"))


def test_results_over_time_has_a_chart_per_protocol_and_metric(verdict_site):
    html = (verdict_site / "timeline.html").read_text()
    charts = sorted(p.name for p in (verdict_site / "timeline").glob("*.svg"))
    assert {"mnist-smoke-64-train-64-torchscript-28-fid.svg", "mnist-smoke-64-train-64-torchscript-28-kid.svg"} <= set(charts)
    assert not any(name.startswith("mnist-paper-") for name in charts)  # one method (verdict-gan) is no trend
    for name in charts:
        assert f'src="timeline/{name}"' in html
    assert "publication year" in (verdict_site / "timeline" / charts[0]).read_text()
