"""Responsive images (sitegen/images.py): derived widths in WebP and the original format,
srcset and sizes, EXIF orientation kept and metadata stripped, the derived files' cache, broken
images named with their article's line, byte-identical and incremental builds."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from conftest import article, build_site, read_tree
from lxml import html as lxml_html
from PIL import Image, ImageFile
from test_build import rebuild_and_compare

from sitegen.cli import main
from sitegen.errors import ContentError

BUNDLE = "content/2025/03/harbour"
PAGE = "2025/03/04/harbour/index.html"
BODY = """Text.

![A boat in the harbour](photo.jpg)

{{< figure src="small.png" alt="A buoy" caption="A buoy" >}}

![The logo](/img/logo.svg) and ![Remote](https://cdn.example.com/r.jpg)
"""


def photo(width: int, height: int, fmt: str = "JPEG", colour=(30, 110, 160), **save) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, max(1, width // 8)):  # some detail, so that sizes differ
        image.paste((200, 60, 40), (x, 0, x + max(1, width // 16), height // 2))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def site_files(**extra):
    return {
        f"{BUNDLE}/index.md": article("Harbour", "2025-03-04 09:24:00", body=BODY,
                                      slug="harbour", image="lead.jpg", image_alt="The quay"),
        f"{BUNDLE}/lead.jpg": photo(3000, 2000),
        f"{BUNDLE}/photo.jpg": photo(2000, 1000, colour=(90, 90, 20)),
        f"{BUNDLE}/small.png": photo(300, 200, "PNG"),
        "static/img/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="10" '
                               'height="10"/>',
        **extra,
    }


def page(site, rel=PAGE):
    return lxml_html.fromstring((site / "output" / rel).read_bytes())


def widths(srcset: str) -> list[int]:
    return [int(part.rsplit(" ", 1)[1][:-1]) for part in srcset.split(", ")]


def test_images_get_srcsets_sizes_and_dimensions(make_site):
    site = make_site(site_files())
    build_site(site)
    doc = page(site)
    lead = doc.xpath('//img[@class="story-photo"]')[0]
    assert (lead.get("width"), lead.get("height")) == ("1600", "1067")
    assert lead.get("fetchpriority") == "high" and lead.get("loading") is None
    assert widths(lead.get("srcset")) == [480, 800, 1200, 1600]
    assert lead.get("srcset").split(", ")[0].endswith("/lead-480.jpg 480w")
    body = {img.get("alt"): img for img in doc.xpath('//div[@class="story-body"]//img')}
    boat = body["A boat in the harbour"]
    assert re.fullmatch(r"/assets/img/[0-9a-f]{16}/photo-1600\.jpg", boat.get("src"))
    assert (boat.get("width"), boat.get("height"), boat.get("loading")) == ("1600", "800",
                                                                           "lazy")
    assert widths(boat.get("srcset")) == [480, 800, 1200, 1600] and boat.get("sizes")
    webp = doc.xpath('//div[@class="story-body"]//source[@type="image/webp"]/@srcset')
    assert [widths(s) for s in webp] == [[480, 800, 1200, 1600], [300]]  # never upscaled
    buoy = body["A buoy"]
    assert (buoy.get("width"), buoy.get("height"), widths(buoy.get("srcset"))) == \
        ("300", "200", [300])
    assert buoy.get("src").endswith("/small-300.png")
    # SVG and remote images pass through as written
    assert body["The logo"].get("src") == "/img/logo.svg"
    assert body["Remote"].get("src") == "https://cdn.example.com/r.jpg"
    out = site / "output"
    for img in (lead, boat, buoy):  # every file a srcset names exists, at its width
        for part in img.get("srcset").split(", "):
            url, width = part.split(" ")
            with Image.open(out / url.lstrip("/")) as made:
                assert made.width == int(width[:-1])
    og = doc.xpath('//meta[@property="og:image"]/@content')[0]
    with Image.open(out / og.removeprefix("https://example.org/")) as crop:
        assert crop.size == (1200, 630) and crop.format == "JPEG"
    assert (out / "2025/03/04/harbour/photo.jpg").read_bytes() == \
        (site / BUNDLE / "photo.jpg").read_bytes()  # the original is copied as it is


def test_exif_orientation_applied_and_location_stripped(make_site):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    exif[0x010F] = "Phone Maker"
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPS latitude
    data = photo(1000, 500, exif=exif.tobytes())
    site = make_site(site_files(**{f"{BUNDLE}/photo.jpg": data}))
    build_site(site)
    boat = page(site).xpath('//img[@alt="A boat in the harbour"]')[0]
    assert (boat.get("width"), boat.get("height")) == ("500", "1000")
    folder = site / "output" / boat.get("src").lstrip("/").rsplit("/", 1)[0]
    derived = sorted(folder.iterdir())
    assert {p.suffix for p in derived} == {".jpg", ".webp"}
    for path in derived:
        raw = path.read_bytes()
        assert b"Phone Maker" not in raw and b"Exif" not in raw
        with Image.open(path) as made:
            assert not made.getexif() and "exif" not in made.info
            if not path.stem.endswith("-og"):
                assert made.height > made.width  # turned upright


def test_a_warm_build_decodes_no_image(make_site, monkeypatch):
    """An edited article is parsed again: its images' headers are read, none decoded."""
    site = make_site(site_files())
    build_site(site)
    (site / BUNDLE / "index.md").write_text(article(
        "Harbour", "2025-03-04 09:24:00", body=BODY + "\nMore text.\n", slug="harbour",
        image="lead.jpg", image_alt="The quay"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was opened on a warm build")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(Image.Image, "resize", no_decoding)
    report = build_site(site)
    assert report.pages_rendered >= 1
    monkeypatch.undo()
    rebuild_and_compare(site)  # and it equals a clean build (which decodes them)
    assert b"More text." in (site / "output" / PAGE).read_bytes()


def test_no_change_build_does_no_image_work(make_site, monkeypatch):
    site = make_site(site_files())
    build_site(site)
    import sitegen.images

    monkeypatch.setattr(sitegen.images, "prepare", lambda *a, **k: pytest.fail("image work"))
    assert build_site(site).pages_rendered == 0


def test_replacing_an_image_rebuilds_like_a_clean_build(make_site):
    site = make_site(site_files())
    build_site(site)
    before = page(site).xpath('//img[@alt="A boat in the harbour"]')[0].get("src")
    (site / BUNDLE / "photo.jpg").write_bytes(photo(1000, 900, colour=(10, 200, 10)))
    rebuild_and_compare(site)
    boat = page(site).xpath('//img[@alt="A boat in the harbour"]')[0]
    assert boat.get("src") != before and (boat.get("width"), boat.get("height")) == \
        ("1000", "900")
    assert not (site / "output" / before.lstrip("/")).exists()  # the old files are gone


def test_two_builds_are_byte_identical(make_site, tmp_path):
    site = make_site(site_files())
    build_site(site)
    build_site(site, output_dir=tmp_path / "again", cache_dir=tmp_path / "again-cache")
    first, second = read_tree(site / "output"), read_tree(tmp_path / "again")
    assert first == second
    assert sum(rel.startswith("assets/img/") for rel in first) == 9 + 9 + 3  # lead, boat, buoy


@pytest.mark.parametrize("broken", ["truncated", "not an image"])
def test_a_broken_image_is_an_error_with_file_and_line(make_site, broken):
    data = photo(2000, 1000)
    data = data[:len(data) // 3] if broken == "truncated" else b"\xff\xd8 no image at all"
    site = make_site(site_files(**{f"{BUNDLE}/photo.jpg": data}))
    with pytest.raises(ContentError) as caught:
        build_site(site)
    # seven lines of front matter, a blank line, "Text.", a blank line, then the image
    assert f"{BUNDLE}/index.md:11" in str(caught.value) and "photo.jpg" in str(caught.value)


def test_a_copied_file_cannot_take_a_derived_photo_folder(make_site):
    site = make_site(site_files(**{"static/assets/img/0123456789abcdef/x.jpg": b"x"}))
    with pytest.raises(ContentError, match="derived photos"):
        build_site(site)


def test_image_widths_setting(make_site):
    site = make_site(site_files(), config='base_url = "https://example.org/"\n'
                                          'image_widths = [640, 320]\n')
    build_site(site)
    boat = page(site).xpath('//img[@alt="A boat in the harbour"]')[0]
    assert widths(boat.get("srcset")) == [320, 640] and boat.get("width") == "640"
    bad = make_site(site_files(), config='image_widths = [0]\n', name="bad")
    result = CliRunner().invoke(main, ["build", str(bad)])
    assert result.exit_code != 0 and "image_widths" in result.output


def test_check_is_unaffected(make_site):
    site = make_site(site_files())
    result = CliRunner().invoke(main, ["check", str(site)])
    assert result.exit_code == 0, result.output
    assert not (site / "output").exists()


def test_a_replaced_lead_photo_keeps_its_new_size_in_later_builds(make_site):
    """The photo is parsed again under the same parse key (its article did not change): the
    parsed records kept by group must follow, not only the parse cache's rows."""
    site = make_site(site_files())
    build_site(site)
    (site / BUNDLE / "lead.jpg").write_bytes(photo(1000, 900, colour=(10, 200, 10)))
    build_site(site)
    (site / "content/2025/03/other.md").write_text(article("Other", "2025-03-01 10:00:00"))
    build_site(site)  # another edit: the harbour article comes from the parse cache
    lead = page(site).xpath('//figure[@class="story-image"]//img')[0]
    assert (lead.get("width"), lead.get("height")) == ("1000", "900")
