"""Write a WordPress export (WXR 1.2) of a given size: a newsroom's shape, for the importer's
memory and speed tests.

    python tools/genwxr.py OUT.xml --mb 200 [--seed 1]

Posts (published, a few drafts and scheduled ones) with classic-editor bodies (blank-line
paragraphs, links, images, [caption] and [gallery] calls), categories, tags, two authors, image
attachments, comments, pages and menu items; written as it goes, so any size takes no memory.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

BLOG = "https://news.example.com"
WORDS = (
    "city", "council", "budget", "vote", "mayor", "school", "board", "river", "flood",
    "police", "report", "election", "county", "court", "ruling", "hospital", "plan",
    "bridge", "repair", "transit", "fare", "library", "park", "storm", "season",
    "harvest", "market", "business", "downtown", "housing", "permit", "museum",
    "festival", "water", "rights", "union", "contract", "teachers", "students", "tax",
    "levy", "road", "closure", "fire", "crews",
)
SECTIONS = ("News", "Politics", "Business", "Sports", "Opinion", "Arts")
TAGS = ("Elections", "Schools", "Transit", "Weather", "Courts", "Housing", "Health", "Budget")
HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
<title>Generated Gazette</title>
<link>{blog}</link>
<description>A generated newsroom</description>
<language>en-US</language>
<wp:wxr_version>1.2</wp:wxr_version>
<wp:base_site_url>{blog}</wp:base_site_url>
<wp:base_blog_url>{blog}</wp:base_blog_url>
"""
AUTHOR = ("<wp:author><wp:author_login><![CDATA[{login}]]></wp:author_login>"
          "<wp:author_display_name><![CDATA[{name}]]></wp:author_display_name></wp:author>\n")


def _sentence(rng: random.Random, words: int = 14) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _body(rng: random.Random, post_id: int, images: list[int], date: datetime) -> str:
    paragraphs = []
    for number in range(rng.randint(6, 14)):
        text = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
        if number == 1:
            text += f' See <a href="{BLOG}/?p={max(1, post_id - 10)}">earlier coverage</a>.'
        paragraphs.append(text)
    upload = f"{BLOG}/wp-content/uploads/{date:%Y/%m}"
    if images:
        first = images[0]
        paragraphs.insert(2, f'[caption id="attachment_{first}" align="alignright" width="300"]'
                             f'<img src="{upload}/photo-{first}-300x200.jpg" alt="Photo {first}"'
                             f' width="300" height="200" /> Photo {first}, a caption.[/caption]')
        paragraphs.append("[gallery]")
    paragraphs.append("A line\nwith a break, and <em>emphasis</em>.")
    return "\n\n".join(paragraphs)


def _item(fields: dict[str, str], cdata: dict[str, str], extra: str = "") -> str:
    parts = ["<item>"]
    parts += [f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()]
    parts += [f"<{k}><![CDATA[{v.replace(']]>', ']]]]><![CDATA[>')}]]></{k}>"
              for k, v in cdata.items()]
    parts += [extra, "</item>\n"]
    return "\n".join(parts)


def generate(out: Path, megabytes: float, seed: int = 1) -> int:
    """Write an export of about `megabytes` MB to `out`; the number of posts written."""
    rng = random.Random(seed)
    limit = int(megabytes * 1024 * 1024)
    start = datetime(2012, 1, 1, 8, 0, 0)
    posts = 0
    next_id = 1
    with open(out, "w", encoding="utf-8") as file:
        file.write(HEAD.format(blog=BLOG))
        file.write(AUTHOR.format(login="jdoe", name="Jane Doe"))
        file.write(AUTHOR.format(login="rroe", name="Richard Roe"))
        for name in SECTIONS:
            slug = name.lower()
            file.write(f"<wp:category><wp:term_id>{len(slug)}</wp:term_id><wp:category_nicename>"
                       f"{slug}</wp:category_nicename><wp:cat_name><![CDATA[{name}]]>"
                       "</wp:cat_name></wp:category>\n")
        while file.tell() < limit:
            date = start + timedelta(hours=7 * posts, minutes=rng.randint(0, 59))
            post_id = next_id
            images = [post_id + 1 + n for n in range(rng.choice((0, 1, 2)))]
            next_id += 1 + len(images)
            file.write(_post(rng, post_id, date, images))
            for image in images:
                file.write(_attachment(image, post_id, date))
            if posts % 200 == 0:
                file.write(_item({"title": f"Page {posts}", "link": f"{BLOG}/page-{posts}/"},
                                 {"wp:post_type": "page", "wp:status": "publish",
                                  "content:encoded": "A page."},
                                 f"<wp:post_id>{next_id}</wp:post_id>"))
                next_id += 1
            posts += 1
        file.write("</channel>\n</rss>\n")
    return posts


def _post(rng: random.Random, post_id: int, date: datetime, images: list[int]) -> str:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).title()
    slug = f"{title.lower().replace(' ', '-')}-{post_id}"
    status = "draft" if post_id % 97 == 0 else "publish"
    gmt = date + timedelta(hours=5)
    section = rng.choice(SECTIONS)
    terms = [f'<category domain="category" nicename="{section.lower()}"><![CDATA[{section}]]>'
             "</category>"]
    terms += [f'<category domain="post_tag" nicename="{t.lower()}"><![CDATA[{t}]]></category>'
              for t in rng.sample(TAGS, 2)]
    comments = "".join(f"<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_content>"
                       f"<![CDATA[{_sentence(rng)}]]></wp:comment_content></wp:comment>"
                       for n in range(rng.randint(0, 3)))
    meta = f"<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>{images[0]}" \
           "</wp:meta_value></wp:postmeta>" if images else ""
    link = f"{BLOG}/{date:%Y/%m/%d}/{slug}/" if status == "publish" else f"{BLOG}/?p={post_id}"
    return _item(
        {"title": title, "link": link, "dc:creator": rng.choice(("jdoe", "rroe")),
         "wp:post_id": str(post_id), "wp:post_date": f"{date:%Y-%m-%d %H:%M:%S}",
         "wp:post_date_gmt": f"{gmt:%Y-%m-%d %H:%M:%S}",
         "wp:post_modified_gmt": f"{gmt + timedelta(days=post_id % 3):%Y-%m-%d %H:%M:%S}",
         "wp:post_name": slug if status == "publish" else "", "wp:status": status,
         "wp:post_parent": "0", "wp:post_type": "post", "wp:post_password": ""},
        {"content:encoded": _body(rng, post_id, images, date),
         "excerpt:encoded": _sentence(rng, 10)},
        "\n".join(terms) + meta + comments)


def _attachment(image: int, parent: int, date: datetime) -> str:
    url = f"{BLOG}/wp-content/uploads/{date:%Y/%m}/photo-{image}.jpg"
    return _item({"title": f"Photo {image}", "link": f"{BLOG}/?attachment_id={image}",
                  "wp:post_id": str(image), "wp:post_parent": str(parent),
                  "wp:post_type": "attachment", "wp:status": "inherit",
                  "wp:attachment_url": url},
                 {"excerpt:encoded": f"Photo {image}, a caption."},
                 "<wp:postmeta><wp:meta_key>_wp_attachment_image_alt</wp:meta_key>"
                 f"<wp:meta_value><![CDATA[Photo {image}]]></wp:meta_value></wp:postmeta>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=200.0, help="size in MB (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    posts = generate(args.out, args.mb, args.seed)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, {posts} posts")


if __name__ == "__main__":
    main()
