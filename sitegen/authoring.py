"""`sitegen new`: write a new draft article with its front matter filled in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .config import Config
from .content import CONTROL_RE
from .errors import SitegenError
from .urls import slugify

MAX_SHOWN = 80  # characters of the headline quoted in a message


def article_date(config: Config) -> datetime:
    """`config.now` in the site's timezone, to the second (a naive `now` is read in it)."""
    now = config.now
    now = now.replace(tzinfo=config.tz) if now.tzinfo is None else now.astimezone(config.tz)
    return now.replace(microsecond=0)


def front_matter(title: str, when: datetime, section: str | None = None,
                 tags: Sequence[str] = (), authors: Sequence[str] = (), slug: str = "") -> str:
    """The front matter block of a new draft, every value quoted as YAML needs it. `slug` is
    written out: the URL stays when the headline is edited."""
    fields: dict[str, Any] = {
        "title": title,
        "slug": slug or slugify(title),
        "date": when.strftime("%Y-%m-%d %H:%M:%S %z"),
        "section": section or "",
        "tags": list(tags),
        "authors": list(authors),
        "summary": "",
        "draft": True,
    }
    text = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True,
                          default_flow_style=None, width=10**6)
    return f"---\n{text}---\n"


def new_article(config: Config, title: str, *, section: str | None = None,
                tags: Sequence[str] = (), authors: Sequence[str] = ()) -> Path:
    """Write `content/YYYY/MM/<slug>.md` as a draft and return its path; never overwrite."""
    title = title.strip()
    if not title:
        raise SitegenError("the headline is empty")
    for value in (title, section or "", *tags, *authors):
        found = CONTROL_RE.search(value)
        if found:
            raise SitegenError(f"control character U+{ord(found.group()):04X} in "
                               f"{value[:40]!r}: not allowed in an article")
    slug = slugify(title)
    if not slug:
        shown = title if len(title) <= MAX_SHOWN else title[: MAX_SHOWN - 3] + "..."
        raise SitegenError(f"the headline {shown!r} has no letters or digits for a URL")
    when = article_date(config)
    folder = config.content_dir / f"{when:%Y}" / f"{when:%m}"
    path = folder / f"{slug}.md"
    bundle = folder / slug / "index.md"
    if bundle.exists():
        raise SitegenError(f"{bundle} already exists: choose another headline")
    text = front_matter(title, when, section.strip() if section else None,
                        [t.strip() for t in tags if t.strip()],
                        [a.strip() for a in authors if a.strip()], slug)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as out:  # "x": never overwrite
            out.write(text + "\n")
    except FileExistsError:
        raise SitegenError(f"{path} already exists: choose another headline") from None
    except OSError as exc:
        raise SitegenError(f"{path}: cannot write: {exc.strerror}") from None
    return path
