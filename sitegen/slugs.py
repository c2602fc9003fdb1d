"""Slugs: names made safe as one URL segment (and file name). Used by urls.py and by what
must not depend on the site's config (the data files of people and stories)."""

from __future__ import annotations

import re
from functools import lru_cache

SAFE_SLUG = re.compile(r"^[\w][\w.~-]*$")
# A path segment may have 255 bytes; a slug also becomes a file name (`sitegen new`) and a
# folder beside others, so slugs stay well below that.
MAX_SLUG_BYTES = 100
# A slug names a folder: one ending like a file the site or a web server serves is refused.
FILE_LIKE_SLUG = re.compile(r"\.(html?|xhtml|xml|json|txt|css|m?js|php|aspx?|md|rss|atom)$",
                            re.IGNORECASE)


@lru_cache(maxsize=65536)
def slugify(name: str) -> str:
    """python-slugify's defaults, cut at a word boundary to `MAX_SLUG_BYTES`:
    "Marco Rubio" -> "marco-rubio" (ASCII only, so characters are bytes)."""
    from slugify import slugify as python_slugify  # on first use: a no-change build needs none

    return python_slugify(name, max_length=MAX_SLUG_BYTES, word_boundary=True,
                          save_order=True)


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be one plain path segment of the site, or None when it can."""
    if len(slug.encode("utf-8", "surrogatepass")) > MAX_SLUG_BYTES:
        return f"is longer than {MAX_SLUG_BYTES} bytes"
    if not SAFE_SLUG.match(slug) or ".." in slug:
        return "must be one URL segment (letters, digits, '-', '_', '.'), with no '/' or '..'"
    if FILE_LIKE_SLUG.search(slug):
        return "looks like a file name: a slug names a folder, so it must not end in an extension"
    return None


def is_safe_slug(slug: str) -> bool:
    """A slug that is one plain path segment and cannot climb out of `output/`."""
    return slug_problem(slug) is None
