"""Finding one's way by date: period links, month calendars, on-this-day pages, archive charts;
and the home page lead (featured_days)."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from conftest import FIXED_NOW, article, build_site, read_tree
from lxml import html as lxml_html

from sitegen.datepages import bar_chart, neighbours

FILES = {
    "content/2022/05/a.md": article("Old May story", "2022-05-04 08:00:00"),
    "content/2024/03/b.md": article("March fourth", "2024-03-04 10:00:00"),
    "content/2024/03/c.md": article("March fourth again", "2024-03-04 16:00:00"),
    "content/2024/03/d.md": article("March ninth", "2024-03-09 10:00:00"),
    "content/2024/07/e.md": article("July story", "2024-07-01 10:00:00"),
    "content/2025/03/f.md": article("March fourth next year", "2025-03-04 09:00:00"),
}


def page(site, rel):
    return lxml_html.fromstring((site / "output" / rel).read_bytes())


def texts(nodes):
    return [" ".join(n.text_content().split()) for n in nodes]


def test_year_and_month_pages_link_the_nearest_periods_with_articles(make_site):
    site = make_site(FILES)
    build_site(site)
    nav = page(site, "2024/index.html").xpath('//nav[@class="period-nav"]')[0]
    assert nav.xpath('a[@rel="prev"]/@href') == ["/2022/"]  # 2023 has none
    assert nav.xpath('a[@rel="next"]/@href') == ["/2025/"]
    nav = page(site, "2024/07/index.html").xpath('//nav[@class="period-nav"]')[0]
    assert nav.xpath('a[@rel="prev"]/@href') == ["/2024/03/"]  # April to June have none
    assert nav.xpath('a[@rel="next"]/@href') == ["/2025/03/"]
    first = page(site, "2022/05/index.html").xpath('//nav[@class="period-nav"]')[0]
    assert first.xpath('a[@rel="prev"]') == []
    assert first.xpath('a[@rel="next"]/@href') == ["/2024/03/"]
    assert page(site, "2025/index.html").xpath('//nav[@class="period-nav"]/a[@rel="next"]') == []


def test_neighbours_skip_to_the_adjacent_keys():
    keys = [2019, 2022, 2024]
    assert neighbours(keys, 2022) == (2019, 2024)
    assert neighbours(keys, 2019) == (None, 2022)
    assert neighbours(keys, 2024) == (2022, None)


def test_month_page_calendar_is_an_accessible_table_linking_days(make_site):
    site = make_site(FILES)
    build_site(site)
    doc = page(site, "2024/03/index.html")
    (table,) = doc.xpath('//table[@class="month-calendar"]')
    assert texts(table.xpath("caption")) == ["Articles by day, March 2024"]
    heads = table.xpath("thead/tr/th")
    assert len(heads) == 7 and all(th.get("scope") == "col" for th in heads)
    assert heads[0].xpath("abbr/@title") == ["Sunday"]
    cells = table.xpath("tbody/tr/td")
    assert len(cells) % 7 == 0
    days = [c.text_content().split(":")[0] for c in cells if c.text_content()]
    assert days == [str(d) for d in range(1, 32)]  # every day once, in order
    links = {a.get("href"): " ".join(a.text_content().split())
             for a in table.xpath(".//a")}
    assert links == {"/2024/03/04/": "4: 2 articles", "/2024/03/09/": "9: 1 article"}
    # March 1, 2024 was a Friday: five empty cells before it (Sunday first)
    assert [c.text_content() for c in cells[:6]] == ["", "", "", "", "", "1"]


def test_on_this_day_lists_exactly_that_day_in_every_year_newest_first(make_site):
    site = make_site(FILES)
    build_site(site)
    doc = page(site, "on-this-day/03-04/index.html")
    titles = texts(doc.xpath('//section[@class="headlines"]//h3'))
    assert titles == ["March fourth next year", "March fourth again", "March fourth"]
    assert sorted(p.name for p in (site / "output/on-this-day").iterdir()) == \
        ["03-04", "03-09", "05-04", "07-01"]
    day = page(site, "2024/03/04/index.html")
    assert day.xpath('//p[@class="on-this-day-link"]/a/@href') == ["/on-this-day/03-04/"]


def test_archive_chart_bars_link_to_years_and_the_table_holds_the_numbers(make_site):
    site = make_site(FILES)
    build_site(site)
    (figure,) = page(site, "archive/index.html").xpath('//figure[@class="archive-chart"]')
    (svg,) = figure.xpath("svg")
    assert svg.get("aria-hidden") == "true"
    assert svg.xpath("a/@href") == ["/2022/", "/2024/", "/2025/"]  # 2023: no bar link
    assert all(a.get("tabindex") == "-1" for a in svg.xpath("a"))
    heights = {a.get("href"): int(a.xpath(".//rect/@height")[0]) for a in svg.xpath("a")}
    assert heights["/2024/"] > heights["/2022/"] == heights["/2025/"] > 0
    table = figure.xpath("table")[0]
    assert texts(table.xpath("caption")) == ["Articles per year"]
    assert [th.get("scope") for th in table.xpath(".//th")] == ["col", "col"] + ["row"] * 4
    rows = [tuple(texts(tr.xpath("th|td"))) for tr in table.xpath("tbody/tr")]
    assert rows == [("2022", "1"), ("2023", "0"), ("2024", "4"), ("2025", "1")]
    assert table.xpath("tbody/tr/th/a/@href") == ["/2022/", "/2024/", "/2025/"]
    year = page(site, "2024/index.html").xpath('//figure[@class="archive-chart"]//table')[0]
    months = {r[0]: r[1] for r in (texts(tr.xpath("th|td")) for tr in year.xpath("tbody/tr"))}
    assert len(months) == 12 and months["March"] == "3" and months["July"] == "1"
    assert months["April"] == "0"


def test_bar_chart_scales_to_the_largest_count():
    chart = bar_chart("c", "Year", [("a", "a", "/a/", 10), ("b", "b", "", 0),
                                    ("c", "c", "/c/", 1)])
    a, b, c = chart.bars
    assert a.y + a.height == b.y + b.height == c.y + c.height == chart.baseline
    assert a.height == 120 and b.height == 0 and 0 < c.height < a.height
    assert len({bar.x for bar in chart.bars}) == 3 and chart.width >= c.x + c.width


def ids_are_unique(site):
    for path in (site / "output").rglob("*.html"):
        ids = re.findall(rb'\sid="([^"]+)"', path.read_bytes())
        assert len(ids) == len(set(ids)), path


def test_date_pages_have_no_duplicate_ids(make_site):
    site = make_site(FILES)
    build_site(site)
    ids_are_unique(site)


def home_lead(site):
    doc = page(site, "index.html")
    return texts(doc.xpath('//section[@class="lead"]//h3'))


def test_home_lead_is_the_newest_featured_article_within_featured_days(make_site):
    recent = (FIXED_NOW - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    newest = (FIXED_NOW - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    site = make_site({
        "content/a.md": article("Featured yesterday", recent, featured="true"),
        "content/b.md": article("Newest plain", newest),
    })
    build_site(site)
    assert home_lead(site) == ["Featured yesterday"]
    latest = texts(page(site, "index.html").xpath('//section[@class="latest"]//h3'))
    assert latest == ["Newest plain"]  # the lead is not listed twice
    # two days on, the featured article has left its window: the newest leads
    build_site(site, now=FIXED_NOW + timedelta(days=2))
    assert home_lead(site) == ["Newest plain"]


def test_featured_article_outside_the_window_does_not_lead(make_site):
    old = (FIXED_NOW - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    site = make_site({
        "content/a.md": article("Featured long ago", old, featured="true"),
        "content/b.md": article("Plain", "2026-02-28 10:00:00"),
    }, config='base_url = "https://example.org/"\nfeatured_days = 2\n')
    build_site(site)
    assert home_lead(site) == ["Plain"]
    build_site(site, featured_days=4, output_dir=site / "wide", cache_dir=site / "wide-cache")
    doc = lxml_html.fromstring((site / "wide/index.html").read_bytes())
    assert texts(doc.xpath('//section[@class="lead"]//h3')) == ["Featured long ago"]


def test_featured_window_end_is_a_date_change(make_site):
    from sitegen.config import load_config
    from sitegen.parsedfolders import next_date_change

    recent = FIXED_NOW - timedelta(hours=5)
    site = make_site({"content/a.md": article("F", recent.strftime("%Y-%m-%d %H:%M:%S"),
                                              featured="true")})
    config = load_config(site, now=FIXED_NOW, news_sitemap_days=30)
    from sitegen.cache import BuildCache
    from sitegen.parse import parse_articles
    from sitegen.scan import load_sources

    cache = BuildCache(config.cache_dir, config.output_dir)
    loaded = parse_articles(load_sources(config), config, cache)
    cache.close()
    assert next_date_change(loaded.articles, loaded.articles, config) == \
        recent.replace(tzinfo=config.tz) + timedelta(days=2)


def rebuild_and_compare(site, **overrides):
    build_site(site, **overrides)
    clean = site.parent / f"clean-{time.monotonic_ns()}"
    build_site(site, output_dir=clean, cache_dir=clean.with_suffix(".cache"), **overrides)
    assert read_tree(site / "output") == read_tree(clean)


def test_edits_to_dates_and_featured_rebuild_like_a_clean_build(make_site):
    site = make_site(FILES)
    build_site(site)
    # a new day in an empty month: calendars, charts, period links, on-this-day
    (site / "content/2023/11/g.md").parent.mkdir(parents=True)
    (site / "content/2023/11/g.md").write_text(article("November", "2023-11-04 10:00:00"))
    rebuild_and_compare(site)
    assert (site / "output/on-this-day/11-04/index.html").is_file()
    # featured flag on an old article (not on the home page until now)
    (site / "content/2022/05/a.md").write_text(
        article("Old May story", "2022-05-04 08:00:00", featured="true"))
    rebuild_and_compare(site, featured_days=5000)
    assert home_lead(site) == ["Old May story"]
    (site / "content/2024/03/c.md").unlink()  # a day's count drops
    rebuild_and_compare(site, featured_days=5000)
    assert "2: 1 article" not in (site / "output/2024/03/index.html").read_text()


def test_featuring_an_article_not_on_the_home_page_changes_its_lead(make_site):
    """The home page lists only `home_latest` articles; the lead may come from further down."""
    when = [(FIXED_NOW - timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S") for h in (1, 2, 30)]
    site = make_site({"content/a.md": article("One", when[0]),
                      "content/b.md": article("Two", when[1]),
                      "content/c.md": article("Yesterday", when[2])},
                     config='base_url = "https://example.org/"\nhome_latest = 2\n')
    build_site(site)
    assert home_lead(site) == ["One"]
    (site / "content/c.md").write_text(article("Yesterday", when[2], featured="true"))
    rebuild_and_compare(site)
    assert home_lead(site) == ["Yesterday"]
