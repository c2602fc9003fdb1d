#!/usr/bin/env python3
"""`make check-site`: build two sites and prove their output with the validators that browsers,
search engines, feed readers and screen-reader users rely on (issue #6).

    python tools/check_site.py [--work DIR] [--only TOOL ...] [--skip TOOL ...] [-n 300]

The sites: this repository's sample site at the root of https://example.org/, a generated
300-article archive (tools/genarchive.py, seed 1) under the sub-path https://example.org/archive/,
and the test site whose articles use every built-in shortcode (tests/sites/shortcodes) under
https://example.org/gazette/.
The tools, each over both sites:

  html        the Nu HTML Checker (vnu.jar from npm `vnu-jar`, run with Java) on every .html page
  links       linkinator --recurse --check-fragments over each site served on 127.0.0.1 under its
              base path (public URLs such as the canonical link are rewritten to the local
              server), and the Pagefind bundle whole (its files are fetched by script)
  feeds       every RSS/Atom feed: feedparser without errors, plus the RSS 2.0 / Atom essentials
  sitemaps    every sitemap against the sitemaps.org XSD (npm `sitemap`'s schema/sitemap.xsd), W3C
              dates, every <loc> a page that exists; the news sitemap by Google's documented rules
  axe         axe-core in headless Chromium (Playwright, /usr/bin/chromium) on the home page, an
              article, a brief, a day archive, a tag page, the search page after a query and the
              404 page (and the tag list, a second archive page), each in the light and the
              dark colour scheme
  lighthouse  reported, never gating: Lighthouse scores of the home page and an article

Every finding of the first five fails the run (exit 1), except those KNOWN_ISSUES lists (each
waits for a fix in sitegen's Python code, and is printed with it); a missing tool is exit 2.
Nothing here needs the internet: the npm tools come from `npm ci --prefix tools` (make does it).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / "tools" / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
LINKINATOR = NODE_MODULES / "linkinator" / "build" / "src" / "cli.js"
SITEMAP_XSD = NODE_MODULES / "sitemap" / "schema" / "sitemap.xsd"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
LIGHTHOUSE = NODE_MODULES / "lighthouse" / "cli" / "index.js"
CHROMIUM = Path(os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

TOOLS = ("html", "links", "feeds", "sitemaps", "axe", "lighthouse")
GATED = TOOLS[:-1]
AXE_FAILING = ("serious", "critical")

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"

# Findings that wait for a fix in sitegen's Python code (not in the theme), each with that fix.
# They are printed on every run but do not fail it; delete an entry once its fix has landed (an
# entry that no longer matches anything is pointed out).
KNOWN_ISSUES: list[tuple[str, str, str]] = []

# RFC 822 date-time (RSS 2.0 allows a 2- or 4-digit year): "Fri, 04 Jul 2025 16:51:00 +0000".
RFC822 = re.compile(
    r"(?:(?P<wday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?:\d{2}|\d{4}) "
    r"\d{2}:\d{2}(?::\d{2})? (?:UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|[A-IK-Z]|[+-]\d{4})")
# RFC 3339 (Atom): a full date-time with an offset.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
# W3C Datetime (sitemaps): YYYY, YYYY-MM, YYYY-MM-DD, or a date and time with an offset.
W3C_DATETIME = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                          r"(?:Z|[+-]\d{2}:\d{2}))?)?)?")
NEWS_LANGUAGE = re.compile(r"[a-z]{2,3}|zh-cn|zh-tw")


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class Site:
    """One built site: its output folder and the public URL it was built for."""

    name: str
    root: Path
    base_url: str  # "https://example.org/archive/"

    @property
    def base_path(self) -> str:
        return urlsplit(self.base_url).path or "/"

    def url_of(self, path: Path) -> str:
        """The public URL of an output file (pretty URLs for index.html)."""
        rel = path.relative_to(self.root).as_posix()
        if rel == "index.html":
            rel = ""
        elif rel.endswith("/index.html"):
            rel = rel[: -len("index.html")]
        return self.base_url + rel

    def file_for(self, url: str) -> Path | None:
        """The output file a public URL of this site is served from, or None when the URL is
        outside the site (or names no file)."""
        parts = urlsplit(url)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        path = unquote(parts.path)
        if not path.startswith(self.base_path):
            return None
        rel = path[len(self.base_path):]
        target = self.root / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        return target if target.is_file() else None

    def is_internal(self, url: str) -> bool:
        return url.startswith(self.base_url)

    def html_pages(self) -> list[Path]:
        """Every HTML page but the search bundle's (a tag or a work folder named "pagefind"
        is not the bundle)."""
        return sorted(p for p in self.root.rglob("*.html")
                      if p.relative_to(self.root).parts[0] != "pagefind")


@dataclass
class Result:
    """What one tool found: `checked` items, gating `errors`, non-gating `notes`."""

    tool: str
    checked: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waived: Counter = field(default_factory=Counter)  # KNOWN_ISSUES entry -> findings
    seconds: float = 0.0
    skipped: str = ""


# --------------------------------------------------------------------------- feeds


def _text(element: Any, path: str, ns: dict[str, str] | None = None) -> str | None:
    found = element.find(path, ns or {})
    if found is None:
        return None
    return (found.text or "").strip()


def _absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_rfc822(value: str) -> str | None:
    """Why `value` is not an RFC 822 date-time (as RSS 2.0 wants), or None."""
    if not RFC822.fullmatch(value):
        return f"not an RFC 822 date: {value!r}"
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return f"not a valid RFC 822 date: {value!r}"
    weekday = RFC822.fullmatch(value).group("wday")
    if weekday and moment.strftime("%a") != weekday:
        return f"wrong day of the week in {value!r} (it is a {moment.strftime('%A')})"
    return None


def check_rfc3339(value: str) -> str | None:
    """Why `value` is not an RFC 3339 date-time (as Atom wants), or None."""
    if not RFC3339.fullmatch(value):
        return f"not an RFC 3339 date-time: {value!r}"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"not a valid RFC 3339 date-time: {value!r}"
    return None


def check_w3c_datetime(value: str) -> str | None:
    """Why `value` is not a W3C Datetime (as sitemaps want), or None."""
    if not W3C_DATETIME.fullmatch(value):
        return f"not a W3C Datetime: {value!r}"
    try:
        if len(value) > 10:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif len(value) == 10:
            datetime.strptime(value, "%Y-%m-%d")
        elif len(value) == 7:
            datetime.strptime(value, "%Y-%m")
    except ValueError:
        return f"not a valid W3C Datetime: {value!r}"
    return None


def check_feed(data: bytes, url: str, site: Site | None = None) -> list[str]:
    """Every problem of the feed `data` published at `url` (RSS 2.0 or Atom): feedparser must
    read it without error, and the essentials that feed readers rely on must be there. With a
    `site`, links into it must name files that exist."""
    import feedparser
    from lxml import etree

    problems: list[str] = []
    parsed = feedparser.parse(data)
    if parsed.bozo:
        problems.append(f"feedparser: {parsed.bozo_exception}")
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as error:
        return [*problems, f"not well-formed XML: {error}"]
    if root.tag == "rss":
        problems += _check_rss(root, url, site)
        if parsed.version != "rss20":
            problems.append(f"feedparser reads it as {parsed.version or 'unknown'}, not rss20")
    elif root.tag == f"{{{ATOM_NS}}}feed":
        problems += _check_atom(root, url, site)
        if parsed.version != "atom10":
            problems.append(f"feedparser reads it as {parsed.version or 'unknown'}, not atom10")
    else:
        problems.append(f"neither RSS nor Atom: root element {root.tag}")
    return problems


def _check_link_target(link: str, where: str, site: Site | None) -> list[str]:
    if site is not None and site.is_internal(link) and site.file_for(link) is None:
        return [f"{where}: {link} names no page of the site"]
    return []


def _check_rss(root: Any, url: str, site: Site | None) -> list[str]:
    problems: list[str] = []
    if root.get("version") != "2.0":
        problems.append(f'<rss version="{root.get("version")}">, not 2.0')
    channels = root.findall("channel")
    if len(channels) != 1:
        return [*problems, f"{len(channels)} <channel> elements, not 1"]
    channel = channels[0]
    for name in ("title", "link", "description"):
        if not _text(channel, name):
            problems.append(f"channel: missing or empty <{name}>")
    link = _text(channel, "link")
    if link and not _absolute(link):
        problems.append(f"channel: <link> is not an absolute URL: {link!r}")
    elif link:
        problems += _check_link_target(link, "channel <link>", site)
    selfs = [e for e in channel.findall(f"{{{ATOM_NS}}}link") if e.get("rel") == "self"]
    if not selfs:
        problems.append('channel: no <atom:link rel="self">')
    for element in selfs:
        if element.get("href") != url:
            problems.append(f'channel: <atom:link rel="self"> is {element.get("href")!r}, '
                            f"not the feed's URL {url!r}")
        if element.get("type") != "application/rss+xml":
            problems.append('channel: <atom:link rel="self"> lacks type="application/rss+xml"')
    for name in ("pubDate", "lastBuildDate"):
        value = _text(channel, name)
        if value is not None and (why := check_rfc822(value)):
            problems.append(f"channel <{name}>: {why}")
    guids: Counter = Counter()
    for number, item in enumerate(channel.findall("item"), start=1):
        where = f"item {number}"
        if not (_text(item, "title") or _text(item, "description")):
            problems.append(f"{where}: neither <title> nor <description>")
        item_link = _text(item, "link")
        if not item_link:
            problems.append(f"{where}: no <link>")
        elif not _absolute(item_link):
            problems.append(f"{where}: <link> is not an absolute URL: {item_link!r}")
        else:
            problems += _check_link_target(item_link, f"{where} <link>", site)
        guid = item.find("guid")
        if guid is None or not (guid.text or "").strip():
            problems.append(f"{where}: no <guid>")
        else:
            value = guid.text.strip()
            guids[value] += 1
            if guid.get("isPermaLink", "true") == "true":
                if not _absolute(value):
                    problems.append(f"{where}: permalink <guid> is not an absolute URL: {value!r}")
                else:
                    problems += _check_link_target(value, f"{where} <guid>", site)
        date = _text(item, "pubDate")
        if date is None:
            problems.append(f"{where}: no <pubDate>")
        elif why := check_rfc822(date):
            problems.append(f"{where} <pubDate>: {why}")
    problems += [f"<guid> {g!r} appears {n} times" for g, n in guids.items() if n > 1]
    return problems


def _check_atom(root: Any, url: str, site: Site | None) -> list[str]:
    ns = {"a": ATOM_NS}
    problems: list[str] = []
    for name in ("id", "title", "updated"):
        if not _text(root, f"a:{name}", ns):
            problems.append(f"feed: missing or empty <{name}>")
    updated = _text(root, "a:updated", ns)
    if updated and (why := check_rfc3339(updated)):
        problems.append(f"feed <updated>: {why}")
    selfs = [e for e in root.findall("a:link", ns) if e.get("rel") == "self"]
    if not selfs:
        problems.append('feed: no <link rel="self">')
    problems += [f'feed: <link rel="self"> is {e.get("href")!r}, not the feed\'s URL {url!r}'
                 for e in selfs if e.get("href") != url]
    feed_author = root.find("a:author/a:name", ns) is not None
    ids: Counter = Counter()
    for number, entry in enumerate(root.findall("a:entry", ns), start=1):
        where = f"entry {number}"
        entry_id = _text(entry, "a:id", ns)
        if not entry_id:
            problems.append(f"{where}: no <id>")
        else:
            ids[entry_id] += 1
            if not _absolute(entry_id) and not entry_id.startswith(("urn:", "tag:")):
                problems.append(f"{where}: <id> is not an absolute IRI: {entry_id!r}")
        if not _text(entry, "a:title", ns):
            problems.append(f"{where}: no <title>")
        for name in ("updated", "published"):
            value = _text(entry, f"a:{name}", ns)
            if value is None:
                if name == "updated":
                    problems.append(f"{where}: no <updated>")
            elif why := check_rfc3339(value):
                problems.append(f"{where} <{name}>: {why}")
        alternates = [e for e in entry.findall("a:link", ns)
                      if e.get("rel", "alternate") == "alternate"]
        if not alternates and entry.find("a:content", ns) is None:
            problems.append(f"{where}: neither <link rel=\"alternate\"> nor <content>")
        for element in alternates:
            href = element.get("href")
            if not _absolute(href):
                problems.append(f"{where}: <link> is not an absolute URL: {href!r}")
            else:
                problems += _check_link_target(href, f"{where} <link>", site)
        if not feed_author and entry.find("a:author/a:name", ns) is None:
            problems.append(f"{where}: no <author> (and none for the feed)")
    problems += [f"<id> {i!r} appears {n} times" for i, n in ids.items() if n > 1]
    return problems


# --------------------------------------------------------------------------- sitemaps


@functools.cache
def sitemap_schema(path: Path = SITEMAP_XSD) -> Any:
    """The sitemaps.org schema (shipped by npm `sitemap`), or None when it is not installed."""
    from lxml import etree

    if not path.is_file():
        return None
    return etree.XMLSchema(etree.parse(str(path)))


def check_sitemap(data: bytes, url: str, site: Site | None = None, schema: Any = None,
                  news: bool = False) -> list[str]:
    """Every problem of the sitemap (or sitemap index) `data` published at `url`: the sitemaps.org
    XSD when `schema` is given, W3C dates, size limits, every <loc> absolute, under the sitemap's
    folder and (with a `site`) a page that exists. `news=True` also checks Google's news rules;
    elements of other namespaces are left out of the XSD check (that XSD validates them
    strictly, and the Google News XSD is not shipped by any registry package)."""
    from lxml import etree

    problems: list[str] = []
    if len(data) > 50 * 1024 * 1024:
        problems.append(f"{len(data)} bytes: over the 50 MiB limit")
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    if schema is not None:
        core = _without_foreign_elements(root)
        if not schema.validate(core):
            problems += [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    kind = etree.QName(root).localname
    if etree.QName(root).namespace != SITEMAP_NS or kind not in ("urlset", "sitemapindex"):
        return [*problems, f"root element {root.tag} is neither urlset nor sitemapindex"]
    child = "url" if kind == "urlset" else "sitemap"
    ns = {"s": SITEMAP_NS, "n": NEWS_NS}
    entries = root.findall(f"s:{child}", ns)
    if not entries and schema is None:
        problems.append(f"no <{child}> entry (the sitemaps.org schema wants at least one)")
    if len(entries) > 50_000:
        problems.append(f"{len(entries)} entries: over the 50,000 limit")
    folder = url.rsplit("/", 1)[0] + "/"
    locs: Counter = Counter()
    for number, entry in enumerate(entries, start=1):
        loc = _text(entry, "s:loc", ns)
        where = f"<{child}> {number}"
        if not loc:
            problems.append(f"{where}: no <loc>")
            continue
        locs[loc] += 1
        if not _absolute(loc):
            problems.append(f"{where}: <loc> is not an absolute URL: {loc!r}")
        elif not loc.startswith(folder):
            problems.append(f"{where}: <loc> {loc} is outside the sitemap's folder {folder}")
        else:
            problems += _check_link_target(loc, f"{where} <loc>", site)
        lastmod = _text(entry, "s:lastmod", ns)
        if lastmod is not None and (why := check_w3c_datetime(lastmod)):
            problems.append(f"{where} <lastmod>: {why}")
        if news:
            problems += [f"{where} ({loc}): {p}" for p in _check_news_entry(entry, ns)]
    problems += [f"<loc> {loc} appears {n} times" for loc, n in locs.items() if n > 1]
    if news and len(entries) > 1000:
        problems.append(f"{len(entries)} news entries: Google News takes at most 1,000")
    return problems


def _without_foreign_elements(root: Any) -> Any:
    from lxml import etree

    copy = etree.fromstring(etree.tostring(root))
    for element in list(copy.iter()):
        if isinstance(element.tag, str) and etree.QName(element).namespace != SITEMAP_NS:
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
    return copy


def _check_news_entry(entry: Any, ns: dict[str, str]) -> list[str]:
    """Google's documented rules for one <url> of a news sitemap."""
    items = entry.findall("n:news", ns)
    if len(items) != 1:
        return [f"{len(items)} <news:news> elements, not 1"]
    news = items[0]
    problems = []
    if not _text(news, "n:publication/n:name", ns):
        problems.append("no <news:publication><news:name>")
    language = _text(news, "n:publication/n:language", ns)
    if not language:
        problems.append("no <news:publication><news:language>")
    elif not NEWS_LANGUAGE.fullmatch(language):
        problems.append(f"<news:language> {language!r} is not an ISO 639 code (or zh-cn, zh-tw)")
    date = _text(news, "n:publication_date", ns)
    if not date:
        problems.append("no <news:publication_date>")
    elif why := check_w3c_datetime(date):
        problems.append(f"<news:publication_date>: {why}")
    if not _text(news, "n:title", ns):
        problems.append("no <news:title>")
    return problems


def check_robots(text: str, site: Site) -> list[str]:
    """robots.txt names the site's sitemap by an absolute URL that exists."""
    sitemaps = [line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.lower().startswith("sitemap:")]
    if not sitemaps:
        return ["robots.txt names no Sitemap"]
    return [f"robots.txt: Sitemap {url} is not a sitemap of the site" for url in sitemaps
            if not _absolute(url) or site.file_for(url) is None]


# --------------------------------------------------------------------------- the tools


def run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a tool; past `timeout` seconds its whole process group (a browser too) is killed
    and the result says so, so that no hung tool can hold CI."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            err += f"\n{' '.join(command[:4])[:160]}: killed after {timeout:.0f} s"
        return subprocess.CompletedProcess(command, proc.returncode, out, err)


def run_feeds(sites: list[Site], result: Result) -> None:
    for site in sites:
        for path in sorted(site.root.rglob("*.xml")):
            data = path.read_bytes()
            if b"<rss" not in data[:500] and b"<feed" not in data[:500]:
                continue
            result.checked["feeds"] += 1
            result.checked["items"] += data.count(b"<item>") + data.count(b"<entry>")
            url = site.url_of(path)
            result.errors += [f"{url}: {p}" for p in check_feed(data, url, site)]


def run_sitemaps(sites: list[Site], result: Result) -> None:
    schema = sitemap_schema()
    if schema is None:
        result.errors.append(f"{SITEMAP_XSD} is missing: run `npm ci --prefix tools`")
    for site in sites:
        robots = site.root / "robots.txt"
        if robots.is_file():
            result.errors += check_robots(robots.read_text(encoding="utf-8"), site)
        else:
            result.errors.append(f"{site.name}: no robots.txt")
        for path in sorted(site.root.glob("*sitemap*.xml")):
            data = path.read_bytes()
            url = site.url_of(path)
            news = path.name == "news-sitemap.xml"
            result.checked["news sitemaps" if news else "sitemaps"] += 1
            result.checked["URLs"] += data.count(b"<loc>")
            result.errors += [f"{url}: {p}"
                              for p in check_sitemap(data, url, site, schema, news=news)]


def run_html(sites: list[Site], result: Result) -> None:
    """The Nu HTML Checker over every page of every site, one JVM."""
    files = [p for site in sites for p in site.html_pages()]
    result.checked.update({"pages": len(files), "warnings": 0})
    # The files as arguments (one JVM): a folder would also take in the Pagefind bundle.
    command = ["java", "-Xss4m", "-jar", str(VNU_JAR), "--format", "json", "--stdout",
               "--exit-zero-always", *map(str, files)]
    done = run(command, timeout=1200)
    try:
        messages = json.loads(done.stdout or "{}").get("messages", [])
    except json.JSONDecodeError:
        result.errors.append(f"vnu gave no JSON report (exit {done.returncode}): "
                             f"{(done.stderr or done.stdout)[-2000:]}")
        return
    stylesheets = [p for site in sites for p in sorted((site.root / "assets").glob("*.css"))]
    if stylesheets:
        result.checked["stylesheets"] = len(stylesheets)
        done = run([*command[:-len(files)], "--css", *map(str, stylesheets)], timeout=300)
        try:
            messages += json.loads(done.stdout or "{}").get("messages", [])
        except json.JSONDecodeError:
            result.errors.append(f"vnu --css gave no JSON report (exit {done.returncode})")
    for message in messages:
        where = message.get("url", "").removeprefix("file:")
        line = message.get("lastLine", "")
        text = f"{where}:{line}: {message.get('message', '')}"
        kind = message.get("type")
        if kind == "info" and message.get("subType") == "warning":
            result.checked["warnings"] += 1
            result.notes.append("warning: " + text)
        elif kind == "info":
            result.checked["info"] += 1
        else:
            result.errors.append(text)


class _PrefixHandler(SimpleHTTPRequestHandler):
    """Serves a folder at `prefix`, the 404 page (status 404) for anything else, as GitHub
    Pages does for a project site."""

    prefix = "/"
    protocol_version = "HTTP/1.1"

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / ".outside-the-prefix")
        return super().translate_path("/" + path[len(self.prefix):])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A checker that drops a connection (Lighthouse does) is not an error of the site."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(site: Site, port: int = 0) -> Iterator[str]:
    """Serve the site on 127.0.0.1 under its base path; yields the local URL of its home."""
    handler = type("Handler", (_PrefixHandler,), {"prefix": site.base_path})
    server = _Server(("127.0.0.1", port), functools.partial(handler, directory=str(site.root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{site.base_path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def check_search_bundle(site: Site) -> list[str]:
    """The Pagefind bundle is whole: no empty file, each shard's pagefind-entry.json readable
    and naming a metadata file that exists (links to these are made by script, so no link
    checker follows them)."""
    bundle = site.root / "pagefind"
    if not bundle.is_dir():
        return [f"{site.name}: no pagefind/ search bundle"]
    problems = [f"{site.name}: {p.relative_to(site.root)} is empty"
                for p in sorted(bundle.rglob("*")) if p.is_file() and p.stat().st_size == 0]
    for entry in sorted(bundle.rglob("pagefind-entry.json")):
        where = f"{site.name}: {entry.relative_to(site.root)}"
        try:
            languages = json.loads(entry.read_text(encoding="utf-8"))["languages"]
        except (ValueError, KeyError, TypeError):
            problems.append(f"{where} is not JSON naming its languages")
            continue
        problems += [f"{where}: its {lang} metadata pagefind.{info.get('hash')}.pf_meta is missing"
                     for lang, info in languages.items()
                     if not (entry.parent / f"pagefind.{info.get('hash')}.pf_meta").is_file()]
    return problems


def _json_report(text: str) -> bool:
    try:
        return "links" in json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return False


def run_links(sites: list[Site], result: Result) -> None:
    """linkinator over each served site from its home and its 404 page, anchors included;
    links that leave the site are not followed (no network), its public URLs (canonical links)
    are rewritten to the local server and checked too."""
    for site in sites:
        with serve(site) as local:
            start = [local, local + "404.html"]
            command = ["node", str(LINKINATOR), *start, "--recurse", "--check-fragments",
                       "--format", "json", "--concurrency", "8", "--timeout", "60000",
                       "--skip", f"^(?!{re.escape(local)})",
                       "--url-rewrite-search", re.escape(site.base_url),
                       "--url-rewrite-replace", local]
            done = run(command, timeout=900)
            if not _json_report(done.stdout):  # a local request timed out (a loaded disk
                done = run(command, timeout=900)  # after the test suite): once more
        try:
            links = json.loads(done.stdout)["links"]
        except (json.JSONDecodeError, KeyError):
            result.errors.append(f"{site.name}: linkinator gave no JSON report "
                                 f"(exit {done.returncode}): {done.stderr[-2000:]}")
            continue
        reached = set()
        for link in links:
            state, url = link.get("state"), link.get("url", "")
            if state == "SKIPPED":
                result.checked["external (not followed)"] += 1
                continue
            result.checked["links"] += 1
            if state == "BROKEN":
                detail = "; ".join(str(f.get("message", f)) for f in link.get("failureDetails")
                                   or [] if isinstance(f, dict))
                result.errors.append(f"{site.name}: {link.get('status')} {url} "
                                     f"(linked from {link.get('parent')}) {detail}".rstrip())
            elif url.startswith(local):
                reached.add(url.split("#", 1)[0])
        pages = {local + site.url_of(p)[len(site.base_url):] for p in site.html_pages()}
        unreached = sorted(pages - reached)
        result.checked["pages reached"] += len(pages & reached)
        result.notes += [f"{site.name}: no link leads to {url}" for url in unreached]
        result.checked["search bundle files"] += sum(
            1 for p in (site.root / "pagefind").rglob("*") if p.is_file())
        result.errors += check_search_bundle(site)


# --------------------------------------------------------------------------- axe, Lighthouse


def pick_pages(site: Site) -> dict[str, str]:
    """The pages axe looks at: their URLs relative to the site's base."""
    rel = {p: site.url_of(p)[len(site.base_url):] for p in site.html_pages()}
    day = re.compile(r"\d{4}/\d{2}/\d{2}/")
    articles, briefs, days, tags = [], [], [], []
    for path, url in rel.items():
        if day.fullmatch(url):
            days.append(url)
        elif day.match(url) and url.count("/") == 4:
            head = path.read_text(encoding="utf-8", errors="replace")
            (briefs if 'class="story brief"' in head else articles).append((len(head), url))
        elif url.startswith("tags/") and url.count("/") == 2:
            tags.append((path.stat().st_size, url))
    pages = {"home": ""}
    if site.name == "shortcodes":  # every article: each calls other built-in shortcodes
        pages.update({f"article {number}": url for number, (_size, url)
                      in enumerate(sorted(articles + briefs), 1)})
        return pages
    if articles:
        pages["article"] = max(articles)[1]  # the richest: corrections, timeline, related
    if briefs:
        pages["brief"] = min(briefs)[1]
    if days:
        pages["day archive"] = sorted(days)[-1]
    if tags:
        pages["tag"] = max(tags)[1]
    # Beyond the issue's list, so that every template is seen: the terms list, a paginated list.
    pages["tag list"] = "tags/"
    if "archive/page/2/" in rel.values():
        pages["archive page 2"] = "archive/page/2/"
    pages["search"] = "search/"
    pages["404"] = "no/such/page/"
    return pages


SEARCH_WAIT = """() => {
  const results = document.querySelectorAll('main ol li, main .pagefind-ui__result');
  return results.length > 0;
}"""


def run_axe(sites: list[Site], result: Result) -> None:
    from playwright.sync_api import sync_playwright

    axe_source = AXE_JS.read_text(encoding="utf-8")
    result.checked.update({"pages": 0, **{f"{i} violations": 0
                                          for i in ("critical", "serious", "moderate", "minor")}})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            for site in sites:
                with serve(site) as local:
                    for name, rel in pick_pages(site).items():
                        for scheme in ("light", "dark"):
                            _axe_page(browser, axe_source, site, local, name, rel, scheme,
                                      result)
        finally:
            browser.close()


def _axe_page(browser: Any, axe_source: str, site: Site, local: str, name: str, rel: str,
              scheme: str, result: Result) -> None:
    context = browser.new_context(color_scheme=scheme)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    label = f"{site.name} {name} ({scheme}) {rel or '/'}"
    try:
        page.goto(local + rel, wait_until="load")
        if name == "search":
            query = _search_word(site)
            field = page.locator("main input[type=search]").first
            field.wait_for(state="visible")
            field.fill(query)
            field.press("Enter")
            page.wait_for_function(SEARCH_WAIT)
            page.wait_for_timeout(300)  # let the result list settle before axe reads it
            label += f" q={query}"
        page.add_script_tag(content=axe_source)
        report = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})")
    except Exception as error:  # noqa: BLE001 - any failure to load the page is a finding
        status = page.locator("main [role=status]").all_inner_texts()
        result.errors.append(f"{label}: could not be checked: {str(error).splitlines()[0]} "
                             f"(status {status}, console errors {console})")
        context.close()
        return
    context.close()
    result.checked["pages"] += 1
    result.errors += [f"{label}: script error: {e}" for e in errors]
    for violation in report["violations"]:
        impact = violation.get("impact") or "minor"
        nodes = violation.get("nodes", [])
        result.checked[f"{impact} violations"] += 1
        targets = ", ".join(str(n.get("target")) for n in nodes[:3])
        text = (f"{label}: {impact}: {violation['id']}: {violation['help']} "
                f"({len(nodes)} nodes: {targets})")
        (result.errors if impact in AXE_FAILING else result.notes).append(text)


def _search_word(site: Site) -> str:
    """A word of the newest article's headline, which the index surely holds."""
    home = (site.root / "index.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h[23][^>]*>\s*<a [^>]*>([^<]+)</a>", home)
    words = [w for t in titles for w in re.findall(r"[A-Za-z]{5,}", t)]
    return words[0] if words else "news"


def run_lighthouse(sites: list[Site], result: Result, work: Path) -> None:
    """Lighthouse on the home page and an article of the archive (not gating). The site is
    built again for the local server's own URL, so canonical links point where Lighthouse is."""
    site = sites[-1]
    with serve_port() as port:
        base_url = f"http://127.0.0.1:{port}{site.base_path}"
        local_root = work / f"{site.name}-lighthouse"
        build_site(site.name, _site_folder(work, site), local_root, base_url, search=False)
        local = Site(site.name, local_root, base_url)
        with serve(local, port) as url:
            for name, rel in list(pick_pages(local).items())[:2]:
                _lighthouse(url + rel, name, result, work)


@contextlib.contextmanager
def serve_port() -> Iterator[int]:
    """A free port on 127.0.0.1 (taken back just before the server binds it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def _lighthouse(url: str, name: str, result: Result, work: Path) -> None:
    out = work / f"lighthouse-{name}.json"
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM)}
    command = ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json",
               f"--output-path={out}", "--max-wait-for-load=30000",
               "--only-categories=performance,accessibility,best-practices,seo",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    done = run(command, timeout=300, env=env)
    if done.returncode != 0 or not out.is_file():
        result.notes.append(f"{name}: Lighthouse failed (exit {done.returncode}): "
                            f"{done.stderr[-1500:]}")
        return
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {key: cat.get("score") for key, cat in report["categories"].items()}
    result.checked["pages"] += 1
    line = ", ".join(f"{k} {round(v * 100) if v is not None else '-'}" for k, v in scores.items())
    result.notes.append(f"{name} {url}: {line}")
    for key, category in report["categories"].items():
        if key == "performance":
            continue
        for ref in category["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) and audit.get("score") is not None and audit["score"] < 1:
                result.notes.append(f"{name}: {key}: {audit['id']}: {audit['title']}")


# --------------------------------------------------------------------------- building


def build_site(name: str, folder: Path, output: Path, base_url: str, search: bool = True) -> None:
    sitegen = Path(sys.executable).parent / "sitegen"
    command = [str(sitegen if sitegen.exists() else "sitegen"), "build", str(folder),
               "--output", str(output), "--base-url", base_url]
    if not search:
        command.append("--no-search")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"check-site: building {name} failed:\n{done.stdout}{done.stderr}")


def _site_folder(work: Path, site: Site) -> Path:
    return work / site.name


def _toml(values: dict[str, Any]) -> str:
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())


def _toml_value(value: Any) -> str:
    """A TOML value: tables inline (`{"es" = {"title" = "..."}}`), lists, booleans, strings
    and numbers as JSON writes them (which TOML reads alike)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def sample_folder(work: Path) -> Path:
    """A site folder for the repository's sample site: its config (the [tool.sitegen] table of
    pyproject.toml) with the repository's content, layouts and static folders, so that the build
    cache (and the search state) stay in `work`, apart from the developer's own builds."""
    import tomllib

    with (REPO / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file).get("tool", {}).get("sitegen", {})
    for key in ("content_dir", "layouts_dir", "static_dir"):
        config[key] = str(REPO / config.get(key, key.removesuffix("_dir")))
    for key in ("output_dir", "cache_dir"):
        config.pop(key, None)
    folder = work / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitegen.toml").write_text(_toml(config), encoding="utf-8")
    return folder


def build_sites(work: Path, size: int) -> list[Site]:
    sample = Site("sample", work / "sample-out", "https://example.org/")
    build_site(sample.name, sample_folder(work), sample.root, sample.base_url)
    folder = work / "archive"
    if not (folder / "content").is_dir():
        subprocess.run([sys.executable, str(REPO / "tools" / "genarchive.py"),
                        str(folder / "content"), "-n", str(size), "--seed", "1"],
                       check=True, capture_output=True)
    # A wide news window, so that the news sitemap of this 2015-2025 archive has entries.
    (folder / "sitegen.toml").write_text(_toml({
        "title": "The Generated Archive", "description": f"A generated archive of {size} articles",
        "base_url": "https://example.org/archive/", "news_sitemap_days": 10000}),
        encoding="utf-8")
    archive = Site("archive", work / "archive-out", "https://example.org/archive/")
    build_site(archive.name, folder, archive.root, archive.base_url)
    shortcodes = Site("shortcodes", work / "shortcodes-out", "https://example.org/gazette/")
    build_site(shortcodes.name, shortcodes_folder(work), shortcodes.root, shortcodes.base_url)
    return [sample, archive, shortcodes]


def shortcodes_folder(work: Path) -> Path:
    """A copy of the test site whose articles call every built-in shortcode (issue #14: the
    validators stay at zero on pages that use them), built apart from the tests' own."""
    folder = work / "shortcodes"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(REPO / "tests" / "sites" / "shortcodes", folder)
    return folder


# --------------------------------------------------------------------------- main


def missing_tools(tools: list[str]) -> list[str]:
    needs: dict[str, list[tuple[str, bool]]] = {
        "html": [("java (apt-get install default-jre-headless)", bool(shutil.which("java"))),
                 (f"{VNU_JAR} (npm ci --prefix tools)", VNU_JAR.is_file())],
        "links": [("node", bool(shutil.which("node"))),
                  (f"{LINKINATOR} (npm ci --prefix tools)", LINKINATOR.is_file())],
        "sitemaps": [(f"{SITEMAP_XSD} (npm ci --prefix tools)", SITEMAP_XSD.is_file())],
        "axe": [(f"{AXE_JS} (npm ci --prefix tools)", AXE_JS.is_file()),
                (f"{CHROMIUM} (apt-get install chromium)", os.access(CHROMIUM, os.X_OK))],
        "lighthouse": [(f"{LIGHTHOUSE} (npm ci --prefix tools)", LIGHTHOUSE.is_file()),
                       (f"{CHROMIUM} (apt-get install chromium)", os.access(CHROMIUM, os.X_OK))],
    }
    return [what for tool in tools for what, ok in needs.get(tool, []) if not ok]


def apply_known_issues(result: Result) -> None:
    """Move the findings that KNOWN_ISSUES expects out of `result.errors`."""
    for tool, pattern, fix in KNOWN_ISSUES:
        if tool != result.tool:
            continue
        matcher = re.compile(pattern)
        kept = [e for e in result.errors if not matcher.search(e)]
        result.waived[fix] = len(result.errors) - len(kept)
        result.errors = kept


def print_result(result: Result, verbose: bool) -> None:
    counts = ", ".join(f"{n} {what}" for what, n in result.checked.items())
    status = ("skipped: " + result.skipped if result.skipped else
              f"{len(result.errors)} errors" if result.tool in GATED else "reported")
    print(f"== {result.tool}: {counts or 'nothing'}; {status} ({result.seconds:.1f} s)",
          flush=True)
    shown = result.errors if verbose else result.errors[:50]
    for error in shown:
        print("  ERROR " + error)
    if len(shown) < len(result.errors):
        print(f"  ... and {len(result.errors) - len(shown)} more errors (--verbose shows them)")
    for fix, count in result.waived.items():
        if count:
            print(f"  KNOWN ISSUE, not failing ({count} findings): {fix}")
        else:
            print(f"  known issue not seen in this run (remove it from KNOWN_ISSUES once its "
                  f"fix has landed): {fix}")
    notes = result.notes if verbose or result.tool == "lighthouse" else result.notes[:20]
    for note in notes:
        print("  note: " + note)
    if len(notes) < len(result.notes):
        print(f"  ... and {len(result.notes) - len(notes)} more notes (--verbose shows them)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="keep the built sites and reports here")
    parser.add_argument("--only", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--skip", nargs="+", choices=TOOLS, default=[])
    parser.add_argument("-n", "--articles", type=int, default=300, help="size of the archive")
    parser.add_argument("--verbose", action="store_true", help="print every note")
    args = parser.parse_args(argv)
    tools = [t for t in args.only if t not in args.skip]
    missing = missing_tools(tools)
    if missing:
        print("check-site: missing " + "; ".join(missing), file=sys.stderr)
        return 2
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="check-site-")))
        work.mkdir(parents=True, exist_ok=True)
        sites = build_sites(work, args.articles)
        print(f"check-site: built {', '.join(s.name + ' ' + s.base_url for s in sites)} "
              f"in {time.monotonic() - started:.1f} s", flush=True)
        runners: dict[str, Callable[[Result], None]] = {
            "html": lambda r: run_html(sites, r),
            "links": lambda r: run_links(sites, r),
            "feeds": lambda r: run_feeds(sites, r),
            "sitemaps": lambda r: run_sitemaps(sites, r),
            "axe": lambda r: run_axe(sites, r),
            "lighthouse": lambda r: run_lighthouse(sites, r, work),
        }
        results = []
        for tool in tools:
            result = Result(tool)
            start = time.monotonic()
            runners[tool](result)
            apply_known_issues(result)
            result.seconds = time.monotonic() - start
            print_result(result, args.verbose)
            results.append(result)
    gated = [r for r in results if r.tool in GATED]
    failed = [r for r in gated if r.errors]
    total = sum(len(r.errors) for r in failed)
    print(f"check-site: {total} findings in {', '.join(r.tool for r in failed) or 'no tool'} "
          f"({time.monotonic() - started:.0f} s)")
    print(f"check-site: {len(gated) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
