"""A small crawler over a built `output/`: links, reachability and broken internal links."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for attr in ("href", "src"):
            if values.get(attr) and tag != "form":
                self.links.append(values[attr] or "")


@dataclass
class Crawl:
    pages: dict[str, list[str]] = field(default_factory=dict)  # page path -> absolute links
    broken: list[tuple[str, str]] = field(default_factory=list)  # (page, link)
    reached: set[str] = field(default_factory=set)


def file_for(output: Path, path: str, base_path: str) -> Path | None:
    """The file that serves a site path, as GitHub Pages would resolve it."""
    if not path.startswith(base_path):
        return None
    rel = unquote(path[len(base_path):])
    target = output / rel
    if target.is_dir() or rel == "" or rel.endswith("/"):
        target = target / "index.html"
    return target if target.is_file() else None


def crawl(output: Path, base_path: str = "/", start: str | None = None,
          skip_prefixes: tuple[str, ...] = ()) -> Crawl:
    """Follow every internal link from the home page; record broken ones."""
    result = Crawl()
    queue = deque([start or base_path])
    result.reached.add(start or base_path)
    while queue:
        path = queue.popleft()
        file = file_for(output, path, base_path)
        if file is None or file.suffix != ".html":
            continue
        parser = _LinkParser()
        parser.feed(file.read_text(encoding="utf-8"))
        links = []
        for link in parser.links:
            absolute = urljoin(path, link)
            parts = urlsplit(absolute)
            if parts.scheme or parts.netloc:
                continue
            links.append(parts.path)
            if any(parts.path.startswith(base_path + p) for p in skip_prefixes):
                continue
            if file_for(output, parts.path, base_path) is None:
                result.broken.append((path, link))
            elif parts.path not in result.reached:
                result.reached.add(parts.path)
                queue.append(parts.path)
        result.pages[path] = links
    return result


def all_html_pages(output: Path, base_path: str = "/") -> set[str]:
    pages = set()
    for file in output.rglob("*.html"):
        rel = file.relative_to(output).as_posix()
        if rel.startswith("pagefind/"):
            continue
        pages.add(base_path + (rel[: -len("index.html")] if rel.endswith("index.html") else rel))
    return pages
