"""Shortcodes and template tags: Hugo, Liquid (Jekyll, Eleventy) and WordPress calls in
Markdown bodies, each rendered by a Jinja template `layouts/shortcodes/<name>.html` (a site's
own file overrides the theme's).

Design, in the order a body goes through it:

1. `syntax.scan` finds code (fenced, indented, spans: never touched), verbatim blocks
   (`{% raw %}`, `{% comment %}`, `{% highlight %}`) and the tags of the three syntaxes.
2. `engine.tree` pairs open and close tags; `Engine.expand` renders each call through its
   template (`filters` holds what templates see) and puts a placeholder token in its place;
   URL expressions become URL text in the Markdown instead (`expressions`).
3. Markdown and the sanitizer run on the body; `Expansion.substitute` (`expansion`) then puts
   the trusted template output in place of the tokens.

`post_url` and `link` need another article's URL. It is computed when the linking article is
parsed, from the linked file's own front matter (the same `content.parse_source` a build
runs), so no stage after parsing is involved. The parse cache keys an article by its own
bytes, so if the linked article's URL changes later, the linking article keeps the old URL
until it is parsed again (edited, or `build --clean`); `sitegen check` reports such a stale
link as leading nowhere. Shortcode templates and `includes/` files are part of the
configuration digest (`files_digest`): editing one re-parses every article.

Every call that cannot be rendered is a `Problem` (severity error) carried with the article's
warnings: a build fails on it, `--keep-going` builds the article with the call shown as its
inner content (or nothing), and `check` lists it.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

from .engine import Engine, Page
from .expansion import Expansion
from .filters import ShortcodeFailure
from .syntax import WORDPRESS_NAMES, may_contain, parse_args, scan

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["Engine", "Expansion", "Page", "ShortcodeFailure", "WORDPRESS_NAMES",
           "files_digest", "may_contain", "parse_args", "scan"]


def files_digest(config: Config) -> str:
    """A digest of what shortcode output depends on besides the body: every shortcode
    template (site and theme) and every file of the site's `includes/` (or `_includes/`)."""
    from ..sources import builtin_layouts, layout_dirs

    digest = hashlib.blake2b(digest_size=12)
    # each folder by its role, not its place in a list that grows when a site adds layouts/
    folders = [("theme" if d == builtin_layouts() else "site", d / "shortcodes")
               for d in layout_dirs(config)]
    folders += [("includes", config.site_dir / "includes"),
                ("_includes", config.site_dir / "_includes")]
    for number, folder in folders:
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as file:
                        data = file.read()
                except OSError:
                    continue
                rel = f"{number}/{os.path.relpath(path, folder)}"
                digest.update(rel.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()
