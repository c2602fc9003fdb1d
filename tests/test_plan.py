"""The plan streamed into the render stage a batch at a time (issue #20): what must see every
page (clashes, the sitemap, the skeleton, the report's counts) notes strings and ints of each,
and the bytes are those of a plan rendered in one piece."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import article, build_site, read_tree, site_config

from sitegen import feeds, processes, rendering, shape, workers
from sitegen.errors import ContentError
from sitegen.pagestates import KeptStates
from sitegen.records import Article, PageSpec, PageState
from sitegen.shape import Outline, ShownOn, Skeleton
from sitegen.sitemap import lastmod


def _archive(count: int = 40) -> dict[str, str]:
    files = {}
    start = datetime(2024, 1, 1, 9, 0)
    for n in range(count):
        when = start + timedelta(days=n * 3, hours=n % 5)
        files[f"content/{when:%Y/%m}/story-{n}.md"] = article(
            f"Story {n}", f"{when:%Y-%m-%d %H:%M}", f"Body of story {n}.",
            section=("World", "Business")[n % 2], tags=[f"Tag{n % 4}", "Common"],
            authors=[("Jane Doe", "Ann Lee")[n % 2]], story=f"s{n // 3}" if n % 5 == 0 else "")
    return files


@pytest.fixture
def render_calls(monkeypatch):
    """The RenderItems of each call of the worker pool for the render stage."""
    calls: list[list] = []
    original = processes.run_parallel

    def spy(work, *args, **kwargs):
        if work.func is workers.render_many:
            calls.append(list(work.items))
        return original(work, *args, **kwargs)

    monkeypatch.setattr(processes, "run_parallel", spy)
    return calls


def test_small_batches_write_the_bytes_of_one_batch(make_site, monkeypatch, render_calls):
    one = make_site(_archive(), name="one")
    report = build_site(one)
    assert len(render_calls) == 1
    monkeypatch.setattr(rendering, "BATCH_PAGES", 7)
    monkeypatch.setattr(feeds, "SITEMAP_LIMIT", 30)  # sitemap parts among the batches
    render_calls.clear()
    many = make_site(_archive(), name="many")
    batched = build_site(many)
    assert len(render_calls) >= report.pages_planned // 7
    assert all(len(items) <= 7 for items in render_calls)
    split = make_site(_archive(), name="split")
    monkeypatch.setattr(rendering, "BATCH_PAGES", 10**6)
    whole = build_site(split)
    assert read_tree(many / "output") == read_tree(split / "output")
    assert (many / "output/sitemap-2.xml").is_file()
    assert batched.pages_planned == whole.pages_planned == batched.pages_rendered
    # the skeleton kept from the batches serves the next build: an edit plans a few pages
    path = next((many / "content").rglob("story-7.md"))
    path.write_text(path.read_text().replace("Body of story 7.", "Body of story 7, fixed."))
    render_calls.clear()
    edited = build_site(many)
    assert 0 < edited.pages_rendered <= sum(map(len, render_calls)) < report.pages_planned / 2


def test_each_item_carries_its_own_state_and_body_key(make_site, render_calls):
    site = make_site(_archive(10))
    build_site(site)
    (site / "output/archive/index.html").unlink()  # not as the last build left it
    path = next((site / "content").rglob("story-3.md"))
    path.write_text(path.read_text().replace("Body of story 3.", "Body of story 3, fixed."))
    render_calls.clear()
    build_site(site)
    items = {item.rel: item for call in render_calls for item in call}
    story = next(item for item in items.values() if item.spec.url.endswith("/story-3/"))
    assert story.body_key and story.previous is not None  # an old state, a new fingerprint
    assert items["archive/index.html"].previous is None  # rendered whatever its fingerprint
    assert all(item.body_key == "" for item in items.values() if not item.spec.body_of)
    job = workers.RenderJob({}, "", site / "staging")
    assert {field for field in vars(job)} == {"digests", "config_digest", "staging",
                                              "frozen_database"}


def test_a_batch_weighs_a_sitemap_part_by_its_entries():
    page = PageSpec("/a/", "list.html", {})
    part = PageSpec("/sitemap-1.xml", "sitemap.xml", {"entries": ((("x", None),) * 95)})
    got = list(rendering.batches([page, part, page, page, page], 10))
    assert [len(batch) for batch in got] == [2, 3]


def test_a_batch_weighs_a_listing_by_the_articles_it_shows():
    """A forked worker copies the memory of each article it reads: a batch of listings of
    many articles each is a batch of fewer pages."""
    shown = tuple(_article(n, datetime(2025, 3, 4, tzinfo=UTC)) for n in range(20))
    listing = PageSpec("/tags/x/", "list.html", {"articles": shown}, shows=shown)
    article = PageSpec("/1/", "article.html", {}, shows=shown[:1])
    assert [len(batch) for batch in rendering.batches([listing] * 5, 12)] == [2, 2, 1]
    assert [len(batch) for batch in rendering.batches([article] * 5, 3)] == [3, 2]


def _article(n: int, when: datetime, updated: datetime | None = None) -> Article:
    return Article(f"{n}.md", "d", f"T{n}", f"s{n}", f"/{n}/", when, "", updated=updated)


def test_two_pages_wanting_one_url_are_found_once_every_page_is_planned(make_site):
    config = site_config(make_site({}))
    specs = [PageSpec("/a/", "list.html", kind="tag"), PageSpec("/b/", "list.html"),
             PageSpec("/a/", "article.html", kind="article")]
    seen = []
    with pytest.raises(ContentError, match=r"two pages want the URL /a/ \(tag and article\)"):
        for spec in Outline(config).following(specs):
            seen.append(spec)
    assert len(seen) == 3  # streamed past before the error: nothing is held back


def test_the_outline_gives_the_skeleton_of_the_pages_it_saw(make_site):
    config = site_config(make_site({}))
    day = datetime(2025, 1, 1, tzinfo=UTC)
    a, b, c = (_article(n, day - timedelta(days=n)) for n in range(3))
    specs = [PageSpec("/", "home.html", shows=None),
             PageSpec("/0/", "article.html", shows=(a, b, a)),
             PageSpec("/list/", "list.html", shows=(a, b, c)),
             PageSpec("/robots.txt", "robots.txt", shows=())]
    outline = Outline(config, (a, b, c))
    assert list(outline.following(specs)) == specs
    skeleton = outline.skeleton("shape")
    assert isinstance(skeleton, Skeleton) and isinstance(skeleton.shown_on, ShownOn)
    assert skeleton.urls == ("/", "/0/", "/list/", "/robots.txt")
    assert skeleton.rels == ("index.html", "0/index.html", "list/index.html", "robots.txt")
    assert [list(skeleton.shown_on[n]) for n in range(len(skeleton.shown_on))] == \
        [[1, 2], [1, 2], [2]]
    assert skeleton.always == (0,)
    assert [skeleton.rels[n] for n in skeleton.path_order()] == sorted(skeleton.rels)


def test_an_edit_keeps_the_last_builds_states_but_those_of_the_pages_it_plans():
    rels = ("index.html", "b/index.html", "a/index.html", "c.xml", "d/index.html")
    skeleton = Skeleton("shape", tuple(f"/{n}" for n in range(5)), rels,
                        ((1,), (3,)), (0,))  # no `order`: as an earlier sitegen kept it
    previous = {rel: PageState(rel, f"h:{n}") for n, rel in enumerate(rels) if n != 4}
    previous[".nojekyll"] = PageState("", "x:0")
    wanted = {0, 1}  # always, and the pages of the first article
    left_out = shape._left_out(skeleton, wanted, previous, {"c.xml"})
    assert wanted == {0, 1, 3, 4}  # and the disturbed file, and the page without a state
    assert left_out == {"index.html", "b/index.html", "c.xml", ".nojekyll"}
    kept = KeptStates(previous, frozenset(left_out))
    assert dict(kept.items()) == {"a/index.html": previous["a/index.html"]}


def test_a_list_pages_lastmod_is_its_latest_instant_as_written():
    east = timezone(timedelta(hours=9))
    late_in_tokyo = _article(1, datetime(2025, 3, 2, 1, 0, tzinfo=east))  # 1 March, 16:00 UTC
    latest = _article(2, datetime(2025, 3, 1, 17, 0, tzinfo=UTC))
    updated = _article(3, datetime(2025, 1, 1, tzinfo=UTC),
                       updated=datetime(2025, 3, 1, 16, 30, tzinfo=UTC))
    listed = (late_in_tokyo, latest, updated)
    changed = {id(a): (a.updated or a.date).astimezone(UTC).replace(tzinfo=None)
               for a in listed}
    spec = PageSpec("/list/", "list.html", {"articles": listed})
    assert lastmod(spec, changed) == latest.date
    assert lastmod(PageSpec("/x/", "article.html", {"article": updated}), changed) == \
        updated.updated
    assert lastmod(PageSpec("/y/", "terms.html", {}), changed) is None
