"""The site in headless Chromium: no console errors, sorting by clicking a header, images that
load, and a registry title holding <script> shown as text, never run.

Skipped, saying why, where chromium, chromedriver or selenium is missing (CI installs them: see
.ci/run). Most tests use hand-written run directories; `test_a_real_smoke_run_in_the_browser` uses a
real DCGAN smoke run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.registry import load_registry
from reports.render import render_site
from tests.test_report_support import standard_runs, write_registry

def _found(*names: str) -> Path | None:
    for name in names:
        where = shutil.which(name)
        if where:
            return Path(where)
    return None


CHROMIUM = _found("chromium", "chromium-browser")
CHROMEDRIVER = _found("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs chromium and chromedriver on PATH "
                                "(apt-get install -y chromium chromium-driver)")
XSS_TEXT = '<script>window.__pwned = 1</script>Escaping GAN <img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium", reason="selenium is in the test extra: pip install -e '.[test]'")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser-report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_BENCH_REGISTRY", str(write_registry(folder / "registry")))
        render_site(standard_runs(folder / "runs"), load_registry(), folder / "site")
    return folder / "site"


def open_page(driver, page: Path) -> list[dict]:
    """Load `page` from file:// and return the SEVERE console entries it produced."""
    driver.get_log("browser")  # drain what earlier pages logged
    driver.get(page.as_uri())
    driver.execute_script("return document.readyState")
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def column(driver, table, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(arguments[0].tBodies[0].rows).map(r => r.cells[arguments[1]].getAttribute('data-sort'));",
        table, index)


def header(table, label: str):
    (button,) = [b for b in table.find_elements("css selector", "thead button.sort") if b.text.strip() == label]
    return button


def images(driver) -> list[list]:
    return driver.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);")


def test_every_kind_of_page_loads_without_console_errors(browser, site):
    pages = ["index.html", "catalogue.html", "papers/dcgan.html", "papers/xss-gan.html",
             "runs/dcgan/mnist/smoke/1-20260101T000000Z-0001/index.html",
             "runs/lsgan/mnist/smoke/0-20260101T000000Z-0000/index.html",  # running: no result yet
             "runs/wgan/mnist/smoke/0-20260101T000000Z-0000/index.html"]  # diverged
    for page in pages:
        assert open_page(browser, site / page) == [], page
        assert browser.find_elements("css selector", "h1"), page


def test_clicking_a_header_sorts_the_table(browser, site):
    open_page(browser, site / "index.html")
    table = browser.find_elements("css selector", "section.board table")[1]  # the 64-sample table
    assert column(browser, table, 0) == ["dcgan", "gan", "xss-gan", "lsgan", "wgan"]  # FID order, no score last
    header(table, "paper").click()
    assert column(browser, table, 0) == ["dcgan", "gan", "lsgan", "wgan", "xss-gan"]
    header(table, "paper").click()
    assert column(browser, table, 0) == ["xss-gan", "wgan", "lsgan", "gan", "dcgan"]
    header(table, "KID").click()  # lower is better: ascending first; runs without a score stay last
    assert column(browser, table, 0) == ["gan", "dcgan", "xss-gan", "wgan", "lsgan"]
    header(table, "KID").click()
    assert column(browser, table, 0) == ["xss-gan", "dcgan", "gan", "wgan", "lsgan"]
    assert header(table, "KID").find_element("xpath", "..").get_attribute("aria-sort") == "descending"


def test_catalogue_sorts_by_year(browser, site):
    open_page(browser, site / "catalogue.html")
    table = browser.find_element("css selector", "table.catalogue")
    header(table, "year").click()
    header(table, "year").click()  # descending: newest first
    years = browser.execute_script(
        "return Array.from(arguments[0].tBodies[0].rows).map(r => parseInt(r.cells[1].textContent));", table)
    assert years == sorted(years, reverse=True)
    assert len(years) == len(load_registry().papers) + 1  # the shipped registry and the test's own paper


def test_images_load_on_a_run_page(browser, site):
    assert open_page(browser, site / "runs/dcgan/mnist/smoke/1-20260101T000000Z-0001/index.html") == []
    loaded = images(browser)
    # Loss panels by scale (loss_* apart from D's accuracy); one evaluation draws no metric curve.
    assert sorted(src for src, _, _ in loaded) == ["losses-1.svg", "losses-2.svg", "samples.png"]
    assert all(complete and width > 0 for _, complete, width in loaded), loaded


def test_a_script_in_a_registry_title_is_shown_as_text_and_never_runs(browser, site):
    for page in ("index.html", "catalogue.html", "papers/xss-gan.html"):
        assert open_page(browser, site / page) == [], page
        assert browser.execute_script("return typeof window.__pwned") == "undefined", page
        assert XSS_TEXT in browser.find_element("css selector", "main").text, page
    assert "<script>window.__pwned = 3</script> Table 1" in browser.find_element("css selector", "main").text


@pytest.mark.slow
def test_a_real_smoke_run_in_the_browser(browser, dcgan_smoke_run, tmp_path):
    """Uses a real DCGAN smoke run (trained and scored once per session by the fixture)."""
    runs_root = dcgan_smoke_run.parents[3]
    index = render_site(runs_root, load_registry(), tmp_path / "site")
    assert open_page(browser, index) == []
    assert "dcgan" in browser.find_element("css selector", "section.board").text
    run_page = index.parent / "runs" / dcgan_smoke_run.relative_to(runs_root).as_posix() / "index.html"
    assert open_page(browser, run_page) == []
    loaded = images(browser)
    assert {"samples.png", "losses-1.svg"} <= {src for src, _, _ in loaded}
    assert all(complete and width > 0 for _, complete, width in loaded), loaded
