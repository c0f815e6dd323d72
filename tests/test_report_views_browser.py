"""The report's views in headless Chromium: the catalogue's search and filters, the reproduction view's
verdicts, layouts at 400 px and 1400 px, links of every kind, and no console errors.

Reuses tests/test_report_browser.py's browser and helpers (skipped where Chromium or chromedriver is missing).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from harness.registry import load_registry
from reports.render import render_site
from tests.report_views_support import SOURCES, verdict_runs, write_verdict_registry
from tests.test_report_browser import CHROMEDRIVER, CHROMIUM, browser, open_page  # noqa: F401  (browser: a fixture)
from tests.test_report_support import standard_runs, write_run

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs /usr/bin/chromium and /usr/bin/chromedriver")
RUN = "runs/dcgan/mnist/smoke/1-20260101T000000Z-0001/index.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("views-report")
    runs = verdict_runs(standard_runs(folder / "runs"))
    write_run(runs, "unrolled-gan@k5", 0, dataset="mnist", budget="smoke",
              metrics={"fid": 40.0, "kid_mean": 0.03, "kid_std": 0.001})  # a variant row (and an '@' in a link)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(write_verdict_registry(folder / "registry")))
        patch.setenv("GAN_BENCH_CACHE", str(folder / "cache"))
        render_site(runs, load_registry(), folder / "site", ["md", "csv"])
    return folder / "site"


@pytest.fixture
def wide(browser):  # noqa: F811
    browser.set_window_size(1400, 1000)
    yield browser


@pytest.fixture
def narrow(browser):  # noqa: F811
    browser.set_window_size(400, 900)
    yield browser
    browser.set_window_size(1400, 1000)


def visible_rows(driver) -> list:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#catalogue tbody tr')).filter(r => !r.hidden).map(r => "
        "({search: r.dataset.search, year: +r.dataset.year, category: r.dataset.category, status: r.dataset.status, "
        "sources: r.dataset.sources, shown: r.getClientRects().length > 0}));")


def choose(driver, name: str, value: str) -> None:
    driver.execute_script(
        "const s = document.querySelector(`#catalogue-filters [name='${arguments[0]}']`); s.value = arguments[1];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", name, value)


def test_catalogue_search_and_filters_narrow_the_rows(wide, site):
    assert open_page(wide, site / "catalogue.html") == []
    total = len(visible_rows(wide))
    assert total == len(load_registry().papers) + 2  # every paper before any filter: shipped, xss-gan, verdict-gan
    box = wide.find_element("css selector", "#catalogue-filters input[name=search]")
    box.send_keys("wasserstein")
    rows = visible_rows(wide)
    assert 0 < len(rows) < total and all("wasserstein" in r["search"] and r["shown"] for r in rows)
    assert wide.find_element("css selector", ".match-count").text == f"{len(rows)} of {total} papers"
    box.clear()
    box.send_keys("zzzz-no-such-paper")
    assert visible_rows(wide) == [] and wide.find_element("css selector", ".empty-filter").is_displayed()
    box.clear()
    box.send_keys(" ")  # an input event with an empty query: everything back
    assert len(visible_rows(wide)) == total
    choose(wide, "category", "loss")
    choose(wide, "year-from", "2017")
    choose(wide, "year-to", "2017")
    rows = visible_rows(wide)
    assert rows and all(r["category"] == "loss" and r["year"] == 2017 for r in rows)
    choose(wide, "status", "implemented")
    assert all(r["status"] == "implemented" for r in visible_rows(wide))
    choose(wide, "status", "")
    choose(wide, "source", "002")
    rows = visible_rows(wide)
    assert rows and all(" 002 " in r["sources"] for r in rows) and len(rows) < total
    wide.find_element("css selector", "#catalogue-filters button[type=reset]").click()
    assert len(visible_rows(wide)) == total
    # The source lists are named in the rows, not numbered.
    assert "roadmap" in wide.find_element("css selector", "#catalogue").text


def cell_rows(driver) -> dict:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#verdict-gan tr[data-verdict]')).map(r => ({verdict: r.dataset.verdict, "
        "hidden: r.hidden, text: r.innerText}));")


def test_reproduction_view_gives_each_verdict_on_the_fixture_results(wide, site):
    assert open_page(wide, site / "reproduction.html") == []
    rows = cell_rows(wide)
    assert [r["verdict"] for r in rows] == ["within", "outside", "not comparable", "not run"]
    within, outside, apart, absent = rows
    assert "21.00 ± 1.00" in within["text"] and "+1.00" in within["text"]  # ours 20, 21, 22 vs the paper's 20 ± 3
    assert "−0.4890" in outside["text"]  # KID 0.011 vs 0.5 ± 0.01
    assert "the paper scored 10,000 samples, this table 50,000" in apart["text"]
    assert "−" not in apart["text"].split("10,000 samples")[-1].split("\n")[0]  # no delta beside a different protocol
    assert not within["hidden"] and absent["hidden"]  # cells not run start hidden
    for source in SOURCES[:3]:  # the source is text on the page, not a tooltip
        assert source in wide.find_element("css selector", "#verdict-gan").text
    wide.find_element("css selector", "input.verdict-filter[value='not run']").click()
    assert not cell_rows(wide)[3]["hidden"] and SOURCES[3] in wide.find_element("css selector", "#verdict-gan").text
    wide.find_element("css selector", "input.verdict-filter[value='within']").click()
    assert cell_rows(wide)[0]["hidden"]
    # The paper page shows the same cells.
    assert open_page(wide, site / "papers/verdict-gan.html") == []
    text = wide.find_element("css selector", "main").text
    assert all(verdict in text for verdict in ("within", "outside", "not comparable", "not run"))


def test_every_catalogue_column_is_reachable_at_400_px(narrow, site):
    assert open_page(narrow, site / "catalogue.html") == []
    assert narrow.execute_script("return document.documentElement.scrollWidth") <= 400
    cells = narrow.execute_script(
        "const row = Array.from(document.querySelectorAll('#catalogue tbody tr')).find(r => r.dataset.status === 'implemented');"
        "return Array.from(row.cells).map(c => { const b = c.getBoundingClientRect();"
        "  return {label: c.dataset.label, width: b.width, left: b.left, right: b.right, text: c.innerText}; });")
    labels = narrow.execute_script("return Array.from(document.querySelectorAll('#catalogue thead th')).map(t => t.innerText.trim());")
    assert [c["label"] for c in cells] == [label.replace("\u2195", "").strip() for label in labels]
    for cell in cells:
        if cell["text"].strip():  # an empty venue collapses; every cell with content is on screen
            assert cell["width"] > 0 and cell["left"] >= 0 and cell["right"] <= 400, cell


@pytest.mark.parametrize("page", ["index.html", "catalogue.html", "reproduction.html", "timeline.html", RUN,
                                  "papers/verdict-gan.html"])
def test_nothing_is_cut_off_at_1400_px(wide, site, page):
    assert open_page(wide, site / page) == []
    width = wide.execute_script("return document.documentElement.clientWidth")
    assert wide.execute_script("return document.documentElement.scrollWidth") <= width
    clipped = wide.execute_script(
        "return Array.from(document.querySelectorAll('.scroll')).filter(s => s.scrollWidth > s.clientWidth + 1)"
        ".map(s => s.querySelector('table').className);")
    assert clipped == [], f"{page}: tables wider than their box at 1400 px: {clipped}"
    if page == "catalogue.html":
        right = wide.execute_script("return document.querySelector('#catalogue').getBoundingClientRect().right")
        assert right <= width


def _links(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href], img[src], link[href], script[src]'))"
        ".map(e => e.href || e.src);")


def test_links_of_every_kind_resolve_and_pages_log_no_errors(wide, site):
    pages = ["index.html", "catalogue.html", "reproduction.html", "timeline.html", RUN, "papers/verdict-gan.html",
             "runs/unrolled-gan@k5/mnist/smoke/0-20260101T000000Z-0000/index.html"]
    seen_kinds = set()
    for page in pages:
        assert open_page(wide, site / page) == [], page
        # Eager images must have loaded; a lazy thumbnail below the fold is not fetched until scrolled
        # to (whether it has loaded depends on the window's scroll state), so its file must exist instead.
        broken = wide.execute_script(
            "return Array.from(document.images).filter(i => i.loading !== 'lazy' && !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src);")
        assert broken == [], page
        lazy = wide.execute_script("return Array.from(document.images).filter(i => i.loading === 'lazy').map(i => i.src);")
        assert all(Path(unquote(urlsplit(src).path)).is_file() for src in lazy), (page, lazy)
        for target in _links(wide):
            parts = urlsplit(target)
            if parts.scheme in ("https", "http"):
                assert parts.netloc, target  # arXiv, code hosts: absolute links with a host
                seen_kinds.add(parts.netloc)
                continue
            if parts.scheme == "data":
                continue
            assert parts.scheme == "file", target
            path = Path(unquote(parts.path))
            assert path.is_file(), f"{page}: {target}"
            seen_kinds.add(path.suffix if "/source/" not in target else "source")
            if parts.fragment and path.suffix == ".html":
                assert f'id="{parts.fragment}"' in path.read_text(encoding="utf-8"), f"{page}: {target}"
    # Pages, run pages, paper pages, module sources, raw run files, exports, images and external links.
    assert {".html", "source", ".json", ".jsonl", ".png", ".svg", ".md", ".csv", "arxiv.org", "github.com"} <= seen_kinds


def test_run_page_at_400_px_stacks_its_panels(narrow, site):
    assert open_page(narrow, site / RUN) == []
    assert narrow.execute_script("return document.documentElement.scrollWidth") <= 400
    widths = narrow.execute_script("return Array.from(document.querySelectorAll('img.plot')).map(i => i.getBoundingClientRect().width);")
    assert widths and all(w >= 300 for w in widths)  # each panel is (nearly) the full width: its text stays readable
