"""Pagefind full-text index of the article pages (first version: the Pagefind CLI)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from pagefind_bin import get_executable

from .config import Config
from .errors import SitegenError
from .records import Article


def update_search_index(config: Config, articles: Sequence[Article], changed_urls: set[str]
                        ) -> None:
    if not changed_urls and (config.output_dir / "pagefind" / "pagefind.js").is_file():
        return
    proc = subprocess.run(
        [str(get_executable()), "--site", str(config.output_dir), "--output-subdir", "pagefind",
         "--quiet"],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SitegenError(f"pagefind failed: {proc.stderr.strip() or proc.stdout.strip()}")
