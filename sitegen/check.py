"""`sitegen check`: every problem of a site in one run, each with file and line; writes nothing.

It runs the build's own stages (load, parse, index, plan) with its parse cache in a temporary
folder that reads through to the site's build cache (opened read-only: what the last build
parsed is not parsed again), so neither `output/` nor the build cache is changed. Then it
checks what a build does not: that internal links and images lead somewhere, and that every
layout renders.

- content: every parse error of every file, duplicate URLs, pages that want the same URL;
- links: root-relative and relative links and images in article bodies, front matter `image`
  and `link`, against every planned page, static file, theme asset and page-bundle file;
- typo-like front matter keys: warnings (errors with `--strict`);
- raw HTML the sanitizer removes from an article body (`raw_html = "safe"`): warnings;
- layouts: each compiles, and each renders one real page of every kind it is used for.

Drafts, embargoed and expired articles are checked too: their own links may lead to other
unpublished articles (they will appear together), but a published article linking to an
unpublished one is a broken link today.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin

from . import sources
from .cache import BuildCache
from .checklayouts import layout_problems
from .config import Config
from .copies import copy_jobs
from .errors import ContentError, Problem
from .feeds import plan_feeds
from .images import DERIVED_URL
from .indexes import Indexes, build_indexes
from .outputdigest import output_digest
from .pages import plan_pages
from .parse import attach_history, parse_articles
from .parsedrecords import parse_key
from .plan import plan_site
from .records import Article, PageSpec, SourceFile
from .sanitize import Sanitizer, may_need_cleaning
from .scan import load_sources
from .state import BuildState
from .urls import Urls

if TYPE_CHECKING:
    from .markup import MarkdownRenderer

_ATTR = re.compile(r"""<(?:a|img|source|video|audio|iframe)\b[^>]*?\s(href|src)=["']([^"']*)["']""",
                   re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def check_site(config: Config, fix: bool = False, notes: list[str] | None = None
               ) -> list[Problem]:
    """Every problem of the site: errors, and warnings (errors when `config.strict`); then the
    published URLs the commit being made would lose (urlcheck.py; `fix` adds their aliases,
    reported with severity "fixed"). `notes` receives what else to say (a check skipped)."""
    with tempfile.TemporaryDirectory(prefix="sitegen-check-") as tmp, \
            BuildState.open(config, read_only=True) as state:
        # Never stop at an error, and keep the parse cache in the temporary folder. Only
        # settings outside the output-affecting digest change, so the parse-cache keys are
        # the build's: articles the last build parsed are read from its state, read-only.
        work = dataclasses.replace(config, keep_going=True, strict=False, cache_dir=Path(tmp))
        cache = state.read_through(work)
        checker = _Checker(config, cache)
        try:
            problems = checker.run(work)
        finally:
            cache.close()
    from .urlcheck import check_urls

    moved, said = check_urls(config, checker.published, fix)
    if notes is not None:
        notes.extend(said)
    return problems + moved


class _Checker:
    def __init__(self, config: Config, cache: BuildCache):
        self.config = config
        self.cache = cache
        self.urls = Urls(config)
        self.base = config.base_path
        self.folder = Path(config.content_dir.name)
        self.problems: list[Problem] = []
        self.markdown: MarkdownRenderer | None = None
        self.published: list[Article] = []

    def run(self, work: Config) -> list[Problem]:
        sources = self.load()
        loaded = parse_articles(sources, work, self.cache)
        if self.config.git_history:  # layouts are checked with the revisions they show
            loaded = attach_history(loaded, self.config)
        severity = "error" if self.config.strict else "warning"
        for problem in (*loaded.skipped, *loaded.warnings):
            self.problems.append(problem if problem.severity == "error" else
                                 dataclasses.replace(problem, severity=severity))
        articles = self.all_parsed(sources, loaded.articles, work)
        self.check_people([a for a, _key in articles])
        published = self.published = list(loaded.articles)
        others = [a for a, _key in articles[len(published):]]
        unpublished = [a for a in others if not self.config.publishes(a)]
        indexes = build_indexes(published, self.config.related_count)
        specs = self.plan(indexes)

        targets = {self.urls.output_path(s.url) for s in specs}
        try:
            targets |= {job.rel_path for job in copy_jobs(self.config, published, self.urls)}
        except ContentError as exc:  # a bundle file linking out of content/: one more problem
            self.problems.extend(exc.problems)
        targets |= {".nojekyll", "CNAME"} if self.config.cname else {".nojekyll"}
        # An article dropped for a duplicate URL still gets its tag pages etc. once fixed:
        # links to those are not what is wrong.
        dropped = [a for a in others if self.config.publishes(a)]
        targets |= self.unpublished_targets(dropped).keys()
        waiting = self.unpublished_targets(unpublished)
        every_target = targets | waiting.keys()
        for article, key in articles:
            text = self.source_bytes(article.source)
            if self.config.publishes(article):
                self.check_article(article, text, key, targets, waiting)
            else:
                self.check_article(article, text, key, every_target, {})
        self.problems += layout_problems(self.config, specs, loaded.keys, self.cache.body,
                                         self.problems)
        unique = {str(p): p for p in self.problems}
        return sorted(unique.values(), key=lambda p: (str(p.path), p.line or 0, p.message))

    def check_people(self, articles: Sequence[Article]) -> None:
        """Author ids with no entry in data/authors (when there is one), and bylines that
        differ only in case or accents."""
        from .people import author_problems, people_file

        authors_file = people_file(self.config.site_dir)
        for message in author_problems(articles, self.config.people, authors_file is not None):
            shown = authors_file.relative_to(self.config.site_dir) if authors_file else self.folder
            self.problems.append(Problem(shown, None, message,
                                         "error" if self.config.strict else "warning"))

    def source_bytes(self, rel: str) -> bytes:
        """An article's file, read again: the loaded sources carry only digests."""
        try:
            return (self.config.content_dir / rel).read_bytes()
        except OSError:
            return b""

    # ------------------------------------------------------------ stages

    def load(self) -> list[SourceFile]:
        try:
            return load_sources(self.config)
        except ContentError as exc:  # unreadable files: report them, check the rest
            self.problems.extend(exc.problems)
        found = []
        for rel, path, bundle in sources.scan(self.config.content_dir).articles:
            if any(str(p.path).endswith(rel) for p in self.problems):
                continue  # unreadable, or a link out of content/: reported above
            with contextlib.suppress(OSError):
                found.append(sources.read_source(rel, path, bundle))
        return found

    def all_parsed(self, sources: Sequence[SourceFile], kept: Sequence[Article],
                   work: Config) -> list[tuple[Article, str]]:
        """Every article that parsed, with the cache key of its body: those the build keeps,
        and those it drops for a problem found after parsing (a duplicate URL), whose links
        deserve a check all the same."""
        digest = output_digest(work)
        keys = {s.path: parse_key(s.path, s.digest, digest, s.bundle_files) for s in sources}
        out = [(a, keys[a.source]) for a in kept]
        kept_sources = {a.source for a in kept}
        dropped = [keys[s.path] for s in sources if s.path not in kept_sources]
        out += [(article, key) for key, (article, _warnings)
                in self.cache.get_parsed(dropped).items()]
        return out

    def plan(self, indexes: Indexes) -> list[PageSpec]:
        try:
            return plan_site(indexes, self.config)
        except ContentError as exc:  # two pages want one URL: report, and check the rest
            self.problems.extend(exc.problems)
        # past the problem: colliding aliases left out (pages.plan_pages)
        html_pages = list(plan_pages(indexes, dataclasses.replace(self.config, keep_going=True),
                                     self.urls))
        return html_pages + list(plan_feeds(indexes, self.config, self.urls,
                                            [(s.url, None) for s in html_pages]))

    def unpublished_targets(self, articles: Sequence[Article]) -> dict[str, Article]:
        """The output paths these articles would add to the site, each with one of them."""
        out: dict[str, Article] = {}
        for article in articles:
            page = self.urls.output_path(article.url)
            out.setdefault(page, article)
            y, m, d = article.day_key
            pages = [self.urls.year(y), self.urls.month(y, m), self.urls.day(y, m, d)]
            pages += [t.url for t in (*article.tags, *article.authors)]
            if article.section:
                pages.append(article.section.url)
            for url in pages:
                out.setdefault(self.urls.output_path(url), article)
            base = page.rsplit("/", 1)[0]
            for name in article.bundle_files:
                out.setdefault(f"{base}/{name}", article)
        return out

    # ------------------------------------------------------------ links and images

    def check_article(self, article: Article, data: bytes, body_key: str,
                      targets: set[str], waiting: dict[str, Article]) -> None:
        text = data.decode("utf-8-sig", "replace").replace("\r\n", "\n")
        where = self.folder / article.source
        body_start = _body_offset(text)
        body = self.cache.body(body_key)
        for href, line in article.internal_links:
            path = self.urls.internal_target(href)
            if path is not None:
                kind = "image" if f'src="{self.base}{href[1:]}"' in body else "link"
                self.check_target(self.urls.page(path), href, where, line, targets, waiting,
                                  article, kind)
        for attr, raw in _ATTR.findall(body):
            value = html.unescape(raw).strip()
            if not value or value.startswith(("/", "#", "?")) or _SCHEME.match(value):
                continue  # root-relative links came through internal_links above
            line = _line_of(text, value, body_start)
            kind = "image" if attr.lower() == "src" else "link"
            self.check_target(urljoin(article.url, value), value, where, line, targets,
                              waiting, article, kind)
        if article.image and not _SCHEME.match(article.image) \
                and not article.image.startswith("//") \
                and not DERIVED_URL.search(article.image):  # made from a file found at parse
            self.check_target(article.image, _front_value(text, "image"), where,
                              _key_line(text, "image"), targets, waiting, article, "image")
        if article.link.startswith("/") and not article.link.startswith("//"):
            self.check_target(self.urls.page(article.link), article.link, where,
                              _key_line(text, "link"), targets, waiting, article, "link")
        self.check_raw_html(article.source, text, where, body_start)

    def check_raw_html(self, source: str, text: str, where: Path, body_start: int) -> None:
        """What the sanitizer removes from the body's HTML (the build publishes it without,
        and says nothing): rendered again here, for the bodies that could have any."""
        body = text[body_start:]
        if self.config.raw_html == "trusted" or not may_need_cleaning(body):
            return
        if self.markdown is None:
            from .markup import MarkdownRenderer

            self.markdown = MarkdownRenderer(self.base, Sanitizer.from_config(self.config))
        from .htmlbody import is_html_source, render_html  # Markdown's import: only if needed

        if is_html_source(source):
            rendered = render_html(body, self.base, self.markdown.sanitizer)
        else:
            rendered = self.markdown.render(body)
        severity = "error" if self.config.strict else "warning"
        for removal in rendered.removed:
            line = next((text.count("\n", 0, at) + 1 for at in
                         (text.find(hint, body_start) for hint in removal.hints) if at >= 0),
                        None)
            self.problems.append(Problem(where, line, removal.message, severity))

    def check_target(self, url: str, written: str, where: Path, line: int | None,
                     targets: set[str], waiting: dict[str, Article], article: Article,
                     kind: str) -> None:
        rel = _output_candidates(url, self.base)
        if rel is None:
            self.problems.append(Problem(where, line, f"{kind} {written!r} leads outside the "
                                                      f"site (its base path is {self.base})"))
            return
        if any(c in targets for c in rel) or (self.config.search and
                                               rel[0].startswith("pagefind/")):
            return
        other = next((waiting[c] for c in rel if c in waiting), None)
        if other is not None:
            reason, severity = self.unpublished_reason(other)
            self.problems.append(Problem(where, line, f"{kind} {written!r} leads to "
                                         f"{self.folder / other.source}, {reason}", severity))
            return
        self.problems.append(Problem(where, line, self.missing_message(kind, written, url,
                                                                       article)))

    def missing_message(self, kind: str, written: str, url: str, article: Article) -> str:
        folder = self.folder / Path(article.source).parent
        if kind == "image" and url.startswith(article.url):
            if Path(article.source).name == "index.md":
                return f"image {written!r} is not a file of the bundle {folder}/"
            return (f"image {written!r} not found: only a page bundle (a folder with index.md) "
                    "holds an article's files")
        return f"{kind} {written!r} leads nowhere: no page or file at {url}"

    def unpublished_reason(self, article: Article) -> tuple[str, str]:
        if article.draft and not self.config.drafts:
            return "a draft", "error"
        if article.expires and article.expires <= self.config.now:
            return f"expired on {article.expires:%Y-%m-%d}", "error"
        return f"embargoed until {article.date:%Y-%m-%d %H:%M %z}", "warning"


# ---------------------------------------------------------------- helpers

def _output_candidates(url: str, base: str) -> list[str] | None:
    """The output files, relative to `output/`, that could serve a URL path."""
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    if not path.startswith(base):
        return None
    rel = unquote(path[len(base):])
    if "/../" in f"/{rel}/" or "\\" in rel:
        return None
    if rel == "" or rel.endswith("/"):
        return [rel + "index.html"]
    return [rel, rel + "/index.html"]  # '/a/b' is served by a/b/index.html too


def _body_offset(text: str) -> int:
    """Where the body starts: after the second '---' line (0 when there is none)."""
    match = re.match(r"\s*---[ \t]*\n.*?\n---[ \t]*(\n|$)", text, re.S)
    return match.end() if match else 0


def _line_of(text: str, value: str, start: int) -> int:
    """The line of a link target in the body: as a Markdown or HTML target first."""
    for pattern in (f"]({value}", f"](<{value}>", f'"{value}"', f"'{value}'", f"]: {value}",
                    value):
        at = text.find(pattern, start)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return text.count("\n", 0, start) + 1


def _key_line(text: str, key: str) -> int | None:
    end = _body_offset(text) or len(text)
    match = re.search(rf"^{re.escape(key)}\s*:", text[:end], re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _front_value(text: str, key: str) -> str:
    end = _body_offset(text) or len(text)
    match = re.search(rf"^{re.escape(key)}\s*:\s*(.*)$", text[:end], re.MULTILINE)
    return match.group(1).strip().strip("'\"") if match else ""

