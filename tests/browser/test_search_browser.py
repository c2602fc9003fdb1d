"""The search page in headless Chromium, over a small site built with its site-wide Pagefind
bundle (joined from pieces of at most 3 articles here, so the join is what the browser reads).

The site is served on 127.0.0.1 at `/` and, built for `https://example.org/repo/`, under
`/repo/` (a GitHub Pages project site): the bundle and the result links must carry the base path.
Its results are compared with those of one Pagefind CLI index over the same pages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import FIXED_NOW, article

from sitegen import search
from sitegen.build import build
from sitegen.config import load_config

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "tools" / "node_modules" / "axe-core" / "axe.min.js"

UNIQUE = "quokkafest"
RARE = "zephyrine"  # in a few articles of several years; "zephyr" alone in others
# (date, how often the rare word appears, words around it): distinct scores, no ties
RARE_ARTICLES = [("2025-03-01", 1, 60), ("2024-08-08", 3, 20), ("2024-02-02", 2, 120),
                 ("2023-10-10", 1, 10), ("2021-05-05", 4, 40)]
# 14 articles mention the council, over three years (three shards) and three sections.
COUNCIL = [
    ("Council Approves Harbor Budget", "2025-02-03 09:00:00", "World", ["Harbor"], "Ana Ruiz"),
    ("Council Delays Tram Vote", "2025-01-20 18:30:00 -0500", "Business", ["Transit"], "Ben Cole"),
    ("Council Hears Science Fair Winners", "2025-01-02", "Science", ["Schools"], "Ana Ruiz"),
    ("Council Funds New Observatory", "2024-11-30 23:30:00 -0500", "Science", ["Space"], "Cy Dorn"),
    ("Council Rejects Parking Plan", "2024-07-04", "World", ["Transit"], "Ben Cole"),
    ("Council Studies Flood Maps", "2024-03-15 08:00:00", "Science", ["Harbor"], "Cy Dorn"),
    ("Council Names New Clerk", "2024-01-09", "World", ["Harbor"], "Ana Ruiz"),
    ("Council Expands Library Hours", "2023-12-31 20:00:00 -0800", "Business", ["Schools"],
     "Ben Cole"),
    ("Council Debates Bridge Tolls", "2023-09-01", "Business", ["Transit"], "Cy Dorn"),
    ("Council Backs Lab Expansion", "2023-06-06", "Science", ["Schools"], "Ana Ruiz"),
    ("Council Cuts Festival Grant", "2023-05-05", "World", ["Harbor"], "Ben Cole"),
    ("Council Votes on Ferry Fares", "2023-04-04", "Business", ["Transit"], "Cy Dorn"),
    ("Council Adopts Climate Plan", "2023-03-03", "Science", ["Space"], "Ana Ruiz"),
    ("Council Opens Budget Talks", "2023-02-02", "World", ["Harbor"], "Ben Cole"),
]


def _files() -> dict[str, str]:
    files = {}
    for n, (title, date, section, tags, author) in enumerate(COUNCIL):
        files[f"content/c{n:02d}.md"] = article(
            title, date, f"The city council met again. Item {n} on the agenda was discussed.",
            section=section, tags=tags, authors=[author])
    files["content/unique.md"] = article(
        "Zoo Plans Spring Festival", "2024-05-01",
        f"The zoo announced the first {UNIQUE} for spring, with keepers on hand.",
        section="Culture", tags=["Zoo"], authors=["Dee Fox"])
    filler = ["harbor", "ferry", "budget", "market", "tram", "river", "bridge", "library"]
    for n, (date, times, length) in enumerate(RARE_ARTICLES):
        words = [filler[(n + i) % len(filler)] for i in range(length)]
        body = " ".join(words[:5] + [RARE] * times + words[5:])
        files[f"content/rare{n}.md"] = article(f"Weather Note {n}", date, body + ".",
                                               section="Weather")
    for n, year in enumerate(("2022", "2023", "2024", "2025")):
        files[f"content/wind{n}.md"] = article(
            f"Wind Report {n}", f"{year}-06-1{n}", "A zephyr crossed the harbor at noon.",
            section="Weather")
    return files


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same site built for `/` and for `/repo/`: prefix -> output folder."""
    root = tmp_path_factory.mktemp("search-site")
    for rel, text in _files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    (root / "sitegen.toml").write_text('title = "Search Gazette"\n')
    outputs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search.plan_pieces, "__defaults__", (3,))
        for prefix in ("/", "/repo/"):
            name = prefix.strip("/") or "root"
            out = root / f"out-{name}"
            config = load_config(root, output_dir=out, cache_dir=root / f".cache-{name}",
                                 base_url="https://example.org" + prefix, search=True,
                                 now=FIXED_NOW, jobs=1)
            build(config)
            outputs[prefix] = out
    cli = root / "cli-site"  # one Pagefind CLI index over a copy of the same pages
    shutil.copytree(outputs["/"], cli, ignore=shutil.ignore_patterns("pagefind"))
    subprocess.run([str(search.pagefind_executable()), "--site", str(cli), "--output-subdir",
                    "pagefind-cli"], check=True, capture_output=True, timeout=120)
    outputs["cli"] = cli
    return outputs


def _open(chromium_page, url: str):
    chromium_page.goto(url)
    return chromium_page


def _results(page):
    return page.locator("#search-results > li")


def _wait_status(page, pattern: str):
    from playwright.sync_api import expect

    expect(page.locator("#search-status")).to_have_text(re.compile(pattern, re.IGNORECASE))


@pytest.mark.parametrize("prefix", ["/", "/repo/"])
def test_a_word_from_one_article_finds_exactly_that_article(sites, serve_folder, chromium_page,
                                                            prefix):
    from playwright.sync_api import expect

    base = serve_folder(sites[prefix], prefix)
    page = _open(chromium_page, base + "search/")
    box = page.get_by_label("Words to find")
    box.press_sequentially(UNIQUE)
    _wait_status(page, r"^1 result for “quokkafest”")
    expect(_results(page)).to_have_count(1)
    link = _results(page).first.get_by_role("link")
    expect(link).to_have_text("Zoo Plans Spring Festival")
    href = link.get_attribute("href")
    assert href.startswith(f"{prefix}2024/05/01/")  # the base path, then the page's path
    expect(_results(page).first.locator("mark").first).to_have_text(UNIQUE)
    expect(_results(page).first).to_contain_text("Culture")
    assert parse_qs(urlsplit(page.url).query) == {"q": [UNIQUE]}  # the query lives in the URL

    link.click()  # the result link works under the base path
    expect(page.locator("h1")).to_have_text("Zoo Plans Spring Festival")
    assert not page.context.console_errors


@pytest.mark.parametrize("prefix", ["/", "/repo/"])
def test_a_section_filter_keeps_only_that_section(sites, serve_folder, chromium_page, prefix):
    from playwright.sync_api import expect

    base = serve_folder(sites[prefix], prefix)
    page = _open(chromium_page, base + "search/?q=council")
    _wait_status(page, r"^14 results for “council”, best match first")
    expect(_results(page)).to_have_count(10)
    page.get_by_label("Section", exact=True).select_option("Science")
    _wait_status(page, r"^5 results for “council” in section Science")
    expect(_results(page)).to_have_count(5)
    for section in _results(page).locator(".search-result-section").all_text_contents():
        assert section == "Science"
    assert parse_qs(urlsplit(page.url).query) == {"q": ["council"], "section": ["Science"]}
    assert not page.context.console_errors


def test_nonsense_says_no_results(sites, serve_folder, chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/repo/"], "/repo/")
    page = _open(chromium_page, base + "search/")
    page.get_by_label("Words to find").fill("xqzvwplk")
    page.get_by_label("Words to find").press("Enter")
    _wait_status(page, r"^No results for “xqzvwplk”")
    expect(_results(page)).to_have_count(0)
    expect(page.locator(".search-hint")).to_be_visible()
    expect(page.locator(".search-hint a")).to_have_attribute("href", "/repo/archive/")


def test_newest_first_is_one_click_away_and_kept_in_the_url(sites, serve_folder,
                                                              chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/?q=council")
    _wait_status(page, r"^14 results for “council”, best match first")
    expect(page.get_by_label("Order", exact=True)).to_have_value("")
    page.get_by_label("Order", exact=True).select_option("newest")
    _wait_status(page, r"^14 results for “council”, newest first")
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["newest"]
    page.get_by_role("button", name="Show more results").click()
    expect(_results(page)).to_have_count(14)
    expect(page.get_by_role("button", name="Show more results")).to_be_hidden()
    # Focus moves to the first of the new results, for keyboard users.
    expect(_results(page).nth(10).get_by_role("link")).to_be_focused()
    stamps = _results(page).locator("time").evaluate_all("els => els.map(e => e.dateTime)")
    instants = [_utc(s) for s in stamps]
    assert instants == sorted(instants, reverse=True)
    # The article dated 2023-12-31 20:00 -0800 is 2024 in UTC: after the 2024-01-09 one.
    titles = _results(page).get_by_role("link").all_inner_texts()
    assert titles.index("Council Names New Clerk") < titles.index("Council Expands Library Hours")
    page.reload()
    _wait_status(page, r"^14 results for “council”, newest first")


def _cli_results(page, bundle_url: str, query: str) -> list[tuple[str, float]]:
    """(URL, score) of each result of `query`, in Pagefind's order, from the bundle at
    `bundle_url` loaded with its own pagefind.js."""
    return [tuple(pair) for pair in page.evaluate("""async ([bundle, query]) => {
        const pagefind = await import(bundle + "pagefind.js");
        await pagefind.options({ basePath: bundle, baseUrl: "/" });
        const response = await pagefind.search(query);
        return Promise.all(response.results.map(
            async (r) => [(await r.data()).url, r.score]));
    }""", [bundle_url, query])]


def _shown(page) -> list[str]:
    while page.get_by_role("button", name="Show more results").is_visible():
        count = _results(page).count()
        page.get_by_role("button", name="Show more results").click()
        page.wait_for_function(
            f"document.querySelectorAll('#search-results > li').length > {count}")
    return _results(page).get_by_role("link").evaluate_all(
        "els => els.map(e => new URL(e.href).pathname)")


@pytest.mark.parametrize("query", [RARE, "zephyr", "council budget", "xqzvwplk"])
def test_results_are_those_of_one_pagefind_cli_index_in_its_order(sites, serve_folder,
                                                                   chromium_page, query):
    """The rare word sits in articles of four years, "zephyr" alone in others: per-year
    indexes answered it with prefix-fallback noise from years lacking it. A word in no
    article finds nothing."""
    cli_base = serve_folder(sites["cli"])
    page = _open(chromium_page, cli_base + "404.html")
    expected = _cli_results(page, cli_base + "pagefind-cli/", query)
    base = serve_folder(sites["/"])
    page.goto(base + "404.html")
    ours = _cli_results(page, base + "pagefind/", query)
    # Same pages, same scores, same order; pages of equal score may come in another order
    # (Pagefind keeps its page order among them: the CLI's is by path, ours newest first).
    assert _ranked(ours) == _ranked(expected)
    if query == RARE:
        assert len(expected) == len(RARE_ARTICLES)
    if query == "xqzvwplk":
        assert expected == []
    page.goto(base + "search/?" + urlencode({"q": query}))
    count = len(expected)
    _wait_status(page, rf"^{count} results? for" if count else r"^No results for")
    scores = dict(expected)
    assert _ranked([(url, scores[url]) for url in _shown(page)]) == _ranked(expected)
    assert not page.context.console_errors


def _ranked(results: list[tuple[str, float]]) -> list[tuple[float, frozenset[str]]]:
    """The results as runs of equal score, each a set of URLs, best first."""
    runs: list[tuple[float, set[str]]] = []
    for url, score in results:
        if runs and runs[-1][0] == score:
            runs[-1][1].add(url)
        else:
            runs.append((score, {url}))
    return [(score, frozenset(urls)) for score, urls in runs]


def test_an_exact_phrase_in_quotes(sites, serve_folder, chromium_page):
    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/")
    page.get_by_label("Words to find").fill("\"zephyr crossed\"")
    page.get_by_label("Words to find").press("Enter")
    _wait_status(page, r"^4 results for “\"zephyr crossed\"”")
    page.get_by_label("Words to find").fill("\"crossed zephyr\"")
    page.get_by_label("Words to find").press("Enter")
    _wait_status(page, r"^No results")
    assert "exact phrase" in page.locator("#search-tip").inner_text()


def test_a_result_shows_headline_date_section_and_an_excerpt_without_the_headline(
        sites, serve_folder, chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/?q=observatory")
    _wait_status(page, r"^1 result for")
    result = _results(page).first
    expect(result.get_by_role("heading")).to_have_text("Council Funds New Observatory")
    expect(result.locator("time")).to_have_text("November 30, 2024")
    expect(result.locator(".search-result-section")).to_have_text("Science")
    excerpt = result.locator(".search-result-excerpt")
    expect(excerpt).to_have_text(re.compile(r"^The city council met again"))
    assert "Council Funds New Observatory" not in excerpt.inner_text()
    main_width, list_width = page.evaluate("""() => [
        document.querySelector('main').getBoundingClientRect().width,
        document.querySelector('#search-results').getBoundingClientRect().width]""")
    assert list_width >= main_width - 80  # the site's width, less its gutters
    # the typography of the site's headline lists
    assert result.evaluate("el => el.classList.contains('headline')")


def test_a_date_range_keeps_the_articles_of_those_local_dates(sites, serve_folder,
                                                               chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/?q=council&from=2023-12-31&to=2024-07-04")
    # 2023-12-31 20:00 -0800 counts as its own date, though it is 2024 in UTC;
    # 2024-11-30 23:30 -0500 (December 1 in UTC) is after the range.
    _wait_status(page, r"^4 results for “council” in from 2023-12-31, to 2024-07-04")
    titles = _results(page).get_by_role("link").all_inner_texts()
    assert sorted(titles) == ["Council Expands Library Hours", "Council Names New Clerk",
                              "Council Rejects Parking Plan", "Council Studies Flood Maps"]
    expect(page.get_by_label("From", exact=True)).to_have_value("2023-12-31")
    page.get_by_label("Order", exact=True).select_option("newest")
    _wait_status(page, r"^4 results .*newest first")
    page.get_by_label("To", exact=True).fill("2024-01-09")
    page.get_by_label("To", exact=True).dispatch_event("change")
    _wait_status(page, r"^2 results for “council” in from 2023-12-31, to 2024-01-09")
    assert parse_qs(urlsplit(page.url).query)["to"] == ["2024-01-09"]
    assert not page.context.console_errors


def test_filter_values_show_their_counts(sites, serve_folder, chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/?q=council")
    _wait_status(page, r"^14 results")
    section = page.get_by_label("Section", exact=True)
    expect(section.locator("option", has_text="Science")).to_have_text("Science (5)")
    expect(page.get_by_label("Year", exact=True).locator("option").nth(1)).to_have_text(
        re.compile(r"^2025 \(\d+\)$"))


def test_url_state_and_the_back_button(sites, serve_folder, chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/repo/"], "/repo/")
    page = _open(chromium_page, base + "search/?q=council&year=2023&author=Ben+Cole")
    _wait_status(page, r"^3 results for “council” in year 2023, author Ben Cole")
    expect(page.get_by_label("Year", exact=True)).to_have_value("2023")
    expect(page.get_by_label("Author", exact=True)).to_have_value("Ben Cole")
    page.get_by_label("Tag", exact=True).select_option("Harbor")
    _wait_status(page, r"^2 results .*tag Harbor")
    page.go_back()
    _wait_status(page, r"^3 results for “council” in year 2023, author Ben Cole")
    expect(page.get_by_label("Tag", exact=True)).to_have_value("")
    page.go_forward()
    _wait_status(page, r"^2 results .*tag Harbor")


def test_keyboard_only(sites, serve_folder, chromium_page):
    from playwright.sync_api import expect

    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/")
    expect(page.locator("#search")).to_be_visible()
    box = page.get_by_label("Words to find")
    for _ in range(40):  # Tab from the top of the page to the search field
        page.keyboard.press("Tab")
        if box.evaluate("el => el === document.activeElement"):
            break
    expect(box).to_be_focused()
    page.keyboard.type("council")
    page.keyboard.press("Enter")
    _wait_status(page, r"^14 results")
    page.keyboard.press("Tab")  # the Search button
    page.keyboard.press("Tab")  # the section filter
    expect(page.get_by_label("Section", exact=True)).to_be_focused()
    page.get_by_label("Section", exact=True).press("ArrowDown")  # the first section
    _wait_status(page, r"in section Business")
    expect(page.locator("#search-status")).to_have_attribute("aria-live", "polite")


def test_without_javascript_the_page_offers_the_archive(sites, serve_folder, chromium):
    from playwright.sync_api import expect

    base = serve_folder(sites["/repo/"], "/repo/")
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base + "search/?q=council")
        notice = page.locator("main .notice")
        expect(notice).to_contain_text("Search needs JavaScript")
        expect(notice.get_by_role("link")).to_have_attribute("href", "/repo/archive/")
        expect(page.locator("#search")).to_be_hidden()
    finally:
        context.close()


def test_axe_finds_no_accessibility_violations(sites, serve_folder, chromium_page):
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}; npm install in tools/)")
    base = serve_folder(sites["/"])
    page = _open(chromium_page, base + "search/?q=council&section=Science")
    _wait_status(page, r"^5 results")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                         "best-practice"]}})""")
    problems = [f"{v['id']}: {v['help']} ({len(v['nodes'])} node(s), e.g. "
                f"{v['nodes'][0]['target']})" for v in result["violations"]]
    assert not problems, "\n".join(problems)
    assert any(rule["id"] == "label" for rule in result["passes"])  # the query field


def _utc(stamp: str):
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()
