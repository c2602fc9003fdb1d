"""Lead photos (figure, thumbnails with their pixel size, og:image, JSON-LD), zone names on
times, and `sitegen due`."""

from __future__ import annotations

import io
import json
import re
import struct
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from conftest import FIXED_NOW, article, build_site
from lxml import html as lxml_html
from PIL import Image

from sitegen.cli import main
from sitegen.photos import header_size
from sitegen.render import ZoneNamer


def png(width: int, height: int) -> bytes:
    """A real image (a build resizes local photos: images.py)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 140)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (140, 90, 40)).save(out, "JPEG")
    return out.getvalue()


def test_header_sizes_of_png_jpeg_gif_webp():
    assert header_size(png(640, 427)) == (640, 427)
    assert header_size(jpeg(1200, 800)) == (1200, 800)
    assert header_size(b"GIF89a" + struct.pack("<HH", 30, 20)) == (30, 20)
    vp8x = b"RIFF" + b"\0" * 4 + b"WEBPVP8X" + b"\0" * 8 + (299).to_bytes(3, "little") \
        + (199).to_bytes(3, "little")
    assert header_size(vp8x) == (300, 200)
    assert header_size(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10px">') \
        == (10, 10)
    assert header_size(b'<?xml version="1.0"?><svg width="100%" viewBox="0 0 300 150">') \
        == (300, 150)
    assert header_size(b"<svg/>") is None and header_size(b"\x89PNG") is None


PHOTO = dict(image="photo.png", image_alt="Boats in the harbour",
             image_caption="The harbour on Tuesday.", image_credit="Jane Doe/Ledger")


def photo_site(make_site):
    return make_site({
        "content/2025/03/harbour/index.md": article("Harbour reopens", "2025-03-04 09:24:00",
                                                    summary="It reopened.",
                                                    slug="harbour-reopens", **PHOTO),
        "content/2025/03/harbour/photo.png": png(640, 427),
        "content/2025/03/static.md": article("Static photo", "2025-03-03 10:00:00",
                                             image="/img/wide.jpg", image_alt="Wide",
                                             slug="static-photo"),
        "static/img/wide.jpg": jpeg(1200, 800),
        "content/2025/03/remote.md": article("Remote photo", "2025-03-02 10:00:00",
                                             image="https://cdn.example.com/r.jpg",
                                             image_alt="Remote", slug="remote-photo"),
        "content/2025/03/plain.md": article("No photo", "2025-03-01 10:00:00",
                                            slug="no-photo"),
    })


def doc(site, rel):
    return lxml_html.fromstring((site / "output" / rel).read_bytes())


def test_article_figure_has_photo_caption_credit_and_size(make_site):
    site = photo_site(make_site)
    build_site(site)
    page = doc(site, "2025/03/04/harbour-reopens/index.html")
    (figure,) = page.xpath('//figure[@class="story-image"]')
    (img,) = figure.xpath(".//img")  # its derived files (images.py, test_images.py)
    assert re.fullmatch(r"/assets/img/[0-9a-f]{16}/photo-640\.png", img.get("src"))
    assert (img.get("alt"), img.get("width"), img.get("height")) == \
        ("Boats in the harbour", "640", "427")
    assert figure.xpath('figcaption/span[@class="caption"]/text()') == ["The harbour on Tuesday."]
    assert figure.xpath('figcaption/span[@class="credit"]/text()') == ["Jane Doe/Ledger"]
    meta = {m.get("property"): m.get("content") for m in page.xpath("//meta[@property]")}
    assert meta["og:image"] == "https://example.org" + img.get("src").replace("-640.png",
                                                                              "-og.jpg")
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1200", "630")
    assert meta["og:image:alt"] == "Boats in the harbour"
    ld = json.loads(page.xpath('//script[@type="application/ld+json"]/text()')[0])
    assert ld["image"] == [{"@type": "ImageObject", "url": "https://example.org" + img.get("src"),
                            "width": 640,
                            "height": 427, "caption": "The harbour on Tuesday.",
                            "creditText": "Jane Doe/Ledger"}]


def test_article_without_photo_has_no_figure_or_og_image(make_site):
    site = photo_site(make_site)
    build_site(site)
    page = doc(site, "2025/03/01/no-photo/index.html")
    assert page.xpath("//figure") == [] and page.xpath('//meta[@property="og:image"]') == []
    ld = json.loads(page.xpath('//script[@type="application/ld+json"]/text()')[0])
    assert ld["image"] == []


def test_cards_show_thumbnails_with_size_when_local(make_site):
    site = photo_site(make_site)
    build_site(site)
    listed = doc(site, "2025/03/index.html").xpath('//article[contains(@class, "headline")]')
    cards = {c.xpath(".//h3//a/text()")[0]: c for c in listed}
    thumb = cards["Static photo"].xpath('.//img[@class="headline-photo"]')[0]
    assert re.fullmatch(r"/assets/img/[0-9a-f]{16}/wide-1200\.jpg", thumb.get("src"))
    assert (thumb.get("width"), thumb.get("height"), thumb.get("alt")) == \
        ("1200", "800", "")  # the headline link beside it says it all
    remote = cards["Remote photo"].xpath("img")[0]
    assert remote.get("src") == "https://cdn.example.com/r.jpg" and remote.get("width") is None
    assert cards["No photo"].xpath("img") == []
    assert "has-photo" not in cards["No photo"].get("class")


def test_home_lead_shows_its_photo_and_gives_the_home_og_image(make_site):
    site = photo_site(make_site)
    build_site(site)
    home = doc(site, "index.html")
    (img,) = home.xpath('//section[@class="lead"]//img')
    assert (img.get("width"), img.get("alt")) == ("640", "Boats in the harbour")
    assert home.xpath('//meta[@property="og:image"]/@content') == \
        ["https://example.org" + img.get("src").replace("-640.png", "-og.jpg")]


def test_zone_names_where_the_site_zone_names_the_offset():
    zone = ZoneNamer(ZoneInfo("America/New_York"))
    ny = ZoneInfo("America/New_York")
    assert zone(datetime(2025, 1, 15, 9, 24, tzinfo=ny)) == "EST"
    assert zone(datetime(2025, 7, 15, 9, 24, tzinfo=ny)) == "EDT"
    # a fixed offset equal to the zone's at that moment is named too
    assert zone(datetime(2025, 1, 15, 9, 24, tzinfo=timezone(timedelta(hours=-5)))) == "EST"
    # an offset the zone does not have then: the offset, with a real minus sign
    assert zone(datetime(2025, 7, 15, 9, 24, tzinfo=timezone(timedelta(hours=-5)))) == \
        "UTC\u221205:00"
    assert zone(datetime(2025, 7, 15, 9, 24, tzinfo=timezone(timedelta(hours=5, minutes=30)))) \
        == "UTC+05:30"
    # a zone whose abbreviation is a number ("+04") shows the offset
    assert ZoneNamer(ZoneInfo("Asia/Dubai"))(
        datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Dubai"))) == "UTC+04:00"


def test_article_byline_shows_the_zone(make_site):
    site = make_site({"content/a.md": article("Winter", "2025-01-15 09:24:00", slug="winter"),
                      "content/b.md": article("Abroad", "2025-07-15 09:24:00 +0200",
                                                      slug="abroad")},
                     config='base_url = "https://example.org/"\ntimezone = "America/New_York"\n')
    build_site(site)
    byline = " ".join(doc(site, "2025/01/15/winter/index.html")
                      .xpath('//p[@class="byline"]')[0].text_content().split())
    assert "9:24 a.m. EST" in byline
    byline = " ".join(doc(site, "2025/07/15/abroad/index.html")
                      .xpath('//p[@class="byline"]')[0].text_content().split())
    assert "9:24 a.m. UTC+02:00" in byline


def run_due(site, *args):
    return CliRunner().invoke(main, ["due", str(site), *args])


def test_due_says_whether_a_publication_moment_has_passed(make_site):
    now = datetime.now(UTC)
    embargo = (now - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S +0000")
    later = (now + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S +0000")
    site = make_site({"content/a.md": article("Old", "2020-01-01"),
                      "content/b.md": article("Embargoed", embargo),
                      "content/c.md": article("Tomorrow's", later)})
    before = (now - timedelta(hours=1)).isoformat()
    result = run_due(site, "--since", before)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("due: ")
    after = (now - timedelta(minutes=10)).isoformat()  # built after the embargo ended
    result = run_due(site, "--since", after)
    assert result.exit_code == 1, result.output
    assert "next change" in result.output
    assert run_due(site).exit_code == 0  # no earlier build known
    assert run_due(site, "--since", "yesterday").exit_code == 2


def test_due_counts_expiries_and_errors_exit_2(make_site):
    now = datetime.now(UTC)
    gone = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S +0000")
    site = make_site({"content/a.md": article("Expiring", "2020-01-01", expires=f'"{gone}"')})
    assert run_due(site, "--since", (now - timedelta(hours=1)).isoformat()).exit_code == 0
    assert run_due(site, "--since", now.isoformat()).exit_code == 1
    (site / "content/b.md").write_text("---\ntitle: [unclosed\n---\n")
    result = run_due(site, "--since", now.isoformat())
    assert result.exit_code == 2, result.output


def test_fixed_now_is_not_used_by_due(make_site):
    """`due` compares with the real clock: a site built at FIXED_NOW is long due."""
    site = make_site({"content/a.md": article("Later", (FIXED_NOW + timedelta(days=1))
                                              .strftime("%Y-%m-%d"))})
    assert run_due(site, "--since", FIXED_NOW.isoformat()).exit_code == 0


def test_pages_workflow_builds_on_schedule_only_when_due():
    from pathlib import Path

    import yaml

    flow = yaml.safe_load((Path(__file__).parent.parent / ".github/workflows/pages.yml")
                          .read_text())
    assert flow[True]["schedule"] == [{"cron": "17 * * * *"}]  # YAML reads `on` as True
    due, build, deploy = (flow["jobs"][name] for name in ("due", "build", "deploy"))
    assert due["if"] == "github.event_name == 'schedule'"
    assert "sitegen due" in next(s["run"] for s in due["steps"] if s.get("id") == "due")
    assert build["needs"] == "due" and "needs.due.outputs.due == 'true'" in build["if"]
    assert "needs.due.result == 'skipped'" in build["if"]  # pushes always build
    saved = [s for s in deploy["steps"] if s.get("uses", "").startswith("actions/cache/save")]
    assert saved and saved[0]["with"]["path"] == ".sitegen-deployed"
    restored = [s for s in due["steps"] if s.get("with", {}).get("path") == ".sitegen-deployed"]
    assert restored[0]["with"]["restore-keys"] == "sitegen-deployed-"
