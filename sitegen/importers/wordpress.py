"""`sitegen import wordpress`: a WordPress export (WXR) as page bundles of sitegen articles.

Two streaming passes over the export (memory follows the number of posts and attachments,
never the size of the file): the first indexes attachments and plans every post's bundle and
URL, so links between posts and bare `[gallery]` calls can be resolved; the second converts
and writes. Each post becomes `YYYY/MM/<slug>/index.md` in the content folder, with the
uploads it uses copied beside it when `--media` has them.

What was written is recorded (path -> digest) in `.import-wordpress.json` in the content
folder. A later run rewrites a file only when it is as the import left it (or `force`): an
edited article is kept and listed. Posts only: pages, menus, comments and the rest are
counted in the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..config import Config
from ..errors import ContentError, Problem
from ..urls import Urls
from . import wpposts
from .wpbody import Links, convert
from .wxr import Export, Item

LEDGER = ".import-wordpress.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".bmp", ".tif",
                  ".tiff")
Progress = Callable[[str, int, int], None]


@dataclass
class Report:
    """What an import did, for the summary line and the report file."""

    imported: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # edited since imported: not overwritten
    skipped: list[str] = field(default_factory=list)  # 'post 12 "Title": reason'
    copied: int = 0
    missing: list[str] = field(default_factory=list)  # 'post 12: URL'
    aliases: int = 0
    unredirectable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    left: Counter[str] = field(default_factory=Counter)  # not imported, by kind
    media_links: int = 0  # upload links left on the old site (no --media)

    def summary(self) -> str:
        left = ", ".join(f"{n} {kind}" for kind, n in sorted(self.left.items()))
        return (f"{self.imported} posts written, {self.unchanged} unchanged, "
                f"{len(self.kept)} kept (edited since imported), {len(self.skipped)} skipped; "
                f"{self.copied} attachments copied, {len(self.missing)} missing; "
                f"{self.aliases} aliases written; not imported: {left or 'nothing'}")


@dataclass(frozen=True, slots=True)
class Attachment:
    url: str
    parent: int
    alt: str
    caption: str


class Ledger:
    """Digests of the files the import wrote, kept in the content folder."""

    def __init__(self, into: Path, force: bool):
        self.path = into / LEDGER
        self.force = force
        self.files: dict[str, str] = {}
        if self.path.is_file():
            try:
                self.files = dict(json.loads(self.path.read_text("utf-8"))["files"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ContentError(Problem(self.path, None, f"unreadable import record "
                                           f"({exc}); delete it to import again")) from None

    def write(self, target: Path, rel: str, data: bytes) -> str:
        """'written', 'unchanged' or 'kept' (the file was edited since it was imported)."""
        return self._put(target, rel, hashlib.sha256(data).hexdigest(),
                         lambda temp: temp.write_bytes(data))

    def copy(self, target: Path, rel: str, source: Path) -> str:
        """As `write`, with the bytes of `source` (streamed: uploads can be large)."""
        return self._put(target, rel, _digest(source),
                         lambda temp: shutil.copyfile(source, temp))

    def _put(self, target: Path, rel: str, digest: str, fill: Callable[[Path], object]) -> str:
        if target.exists():
            current = _digest(target)
            if current == digest:
                self.files[rel] = digest
                return "unchanged"
            if self.files.get(rel) != current and not self.force:
                return "kept"
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.importing")
        fill(temp)
        os.replace(temp, target)
        self.files[rel] = digest
        return "written"

    def save(self) -> None:
        temp = self.path.with_name(self.path.name + ".tmp")
        temp.write_text(json.dumps({"version": 1, "files": dict(sorted(self.files.items()))},
                                   indent=0), "utf-8")
        os.replace(temp, self.path)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Importer:
    """One import run (see the module docstring)."""

    def __init__(self, config: Config, export: Path, into: Path, media: Path | None = None,
                 force: bool = False, progress: Progress | None = None):
        self.config, self.export_path, self.into = config, export, into
        self.media, self.progress = media, progress
        self.urls = Urls(config)
        self.ledger = Ledger(into, force)
        self.report = Report()
        self.attachments: dict[int, Attachment] = {}
        self.children: dict[int, list[tuple[int, int]]] = {}  # post -> [(order, id)]
        self.plans: dict[int, wpposts.Plan] = {}
        self.by_old_path: dict[str, str] = {}  # old site path -> new site path
        self.blog_host = ""
        self.blog_path = "/"

    def run(self) -> Report:
        self.into.mkdir(parents=True, exist_ok=True)
        self._index()
        export = Export(self.export_path, self._tick("import"))
        for count, item in enumerate(export, 1):
            self._item(item, export)
            if count % 500 == 0:
                self.ledger.save()
        self.ledger.save()
        return self.report

    def _tick(self, stage: str) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        size = self.export_path.stat().st_size
        progress = self.progress
        return lambda done: progress(stage, done, size)

    # ------------------------------------------------------------------ pass 1

    def _index(self) -> None:
        export = Export(self.export_path, self._tick("index"))
        used_bundles: set[str] = set()
        used_paths: set[str] = set()
        for item in export:
            if not self.blog_host and export.base_url:
                base = urlsplit(export.base_url)
                self.blog_host = base.netloc.lower()
                self.blog_path = (base.path.rstrip("/") or "") + "/"
            if item.post_type == "attachment":
                self._attachment(item)
            elif item.post_type == "post" and wpposts.skip_reason(item) is None:
                self.plans[item.post_id] = self._plan(item, used_bundles, used_paths)

    def _attachment(self, item: Item) -> None:
        url = item.attachment_url or item.link
        self.attachments[item.post_id] = Attachment(
            url, item.parent, wpposts.plain_text(item.meta_value("_wp_attachment_image_alt")),
            wpposts.plain_text(item.excerpt))
        if item.parent and urlsplit(url).path.lower().endswith(IMAGE_SUFFIXES):
            self.children.setdefault(item.parent, []).append((item.menu_order, item.post_id))

    def _plan(self, item: Item, used_bundles: set[str], used_paths: set[str]) -> wpposts.Plan:
        date, naive = wpposts.post_date(item)
        if naive:  # read in the site's timezone, as the build will read it
            date = date.replace(tzinfo=self.config.tz)
        slug = wpposts.post_slug(item)
        folder = f"{date.year:04d}/{date.month:02d}"
        path = self._site_path(slug, date)
        if f"{folder}/{slug}" in used_bundles or path in used_paths:
            slug = f"{slug}-{item.post_id}"
            path = self._site_path(slug, date)
        used_bundles.add(f"{folder}/{slug}")
        used_paths.add(path)
        old, unservable = wpposts.old_addresses(item, self.blog_path)
        for address in old:  # links in other posts to this one will lead to its new URL
            self.by_old_path[address] = path
        draft = wpposts.DRAFTS.get(item.status, False)
        return wpposts.Plan(item.post_id, f"{folder}/{slug}", slug, date, naive, path,
                            tuple(p for p in old if p != path), tuple(unservable), draft)

    def _site_path(self, slug: str, date) -> str:
        url = self.urls.article(slug, date)
        return "/" + url[len(self.config.base_path):]

    # ------------------------------------------------------------------ pass 2

    def _item(self, item: Item, export: Export) -> None:
        self.report.left["comments"] += item.comments
        if item.post_type != "post":
            if item.post_type != "attachment":
                self.report.left[_kind(item.post_type)] += 1
            return
        reason = wpposts.skip_reason(item)
        if reason:
            self.report.skipped.append(f"post {item.post_id} {_quote(item.title)}: {reason}")
            return
        self._post(item, self.plans[item.post_id], export)

    def _post(self, item: Item, plan: wpposts.Plan, export: Export) -> None:
        copies: dict[str, Path] = {}  # bundle file name -> source
        label = f"post {item.post_id}"

        def media(url: str) -> str | None:
            return self._media(url, copies, label)

        links = Links(media=media, post=self._post_link,
                      children=tuple(i for _o, i in sorted(self.children.get(item.post_id, []))),
                      known=lambda n: n in self.attachments)
        body = convert(item.content, links)
        self.report.notes += [f"{label}: {note}" for note in body.notes]
        fields = self._fields(item, plan, export, body.gallery_ids, media)
        text = wpposts.front_matter(fields) + ("\n" + body.markdown if body.markdown else "")
        bundle = self.into / plan.bundle
        for name, source in sorted(copies.items()):
            outcome = self.ledger.copy(bundle / name, f"{plan.bundle}/{name}", source)
            self.report.copied += outcome != "kept"
            if outcome == "kept":
                self.report.kept.append(f"{plan.bundle}/{name}")
        outcome = self.ledger.write(bundle / "index.md", f"{plan.bundle}/index.md",
                                    text.encode("utf-8"))
        if outcome == "kept":
            self.report.kept.append(f"{plan.bundle}/index.md")
        else:
            self.report.imported += outcome == "written"
            self.report.unchanged += outcome == "unchanged"
        self.report.aliases += len(plan.old_paths)
        if not plan.draft:
            self.report.unredirectable += [f"{u} -> {plan.path}" for u in plan.unredirectable]

    def _fields(self, item: Item, plan: wpposts.Plan, export: Export,
                gallery_ids: tuple[int, ...], media: Callable[[str], str | None]) -> dict:
        section, tags = wpposts.section_and_tags(item, export.categories)
        if len(tags) > self.config.max_tags:
            self.report.notes.append(f"post {item.post_id}: {len(tags) - self.config.max_tags}"
                                     f" tags over max_tags ({self.config.max_tags}) left out")
            tags = tags[:self.config.max_tags]
        title = wpposts.plain_text(item.title)
        if not title:
            title = "Untitled"
            self.report.notes.append(f"post {item.post_id}: no title, imported as 'Untitled'")
        draft = plan.draft or bool(item.password)
        if item.password and not plan.draft:
            self.report.notes.append(f"post {item.post_id}: password-protected, imported as a "
                                     "draft (a static site cannot ask for the password)")
        fields: dict[str, object] = {
            "title": title,
            "date": wpposts.format_date(plan.date, plan.naive),
            "slug": plan.slug,
            "authors": [export.authors.get(item.creator, item.creator)] if item.creator else [],
            "section": section,
            "tags": tags,
            "summary": wpposts.plain_text(item.excerpt),
            "updated": self._updated(item, plan),
            "draft": True if draft else None,
        }
        thumb = self.attachments.get(int(item.meta_value("_thumbnail_id") or 0))
        if thumb:
            fields["image"] = media(thumb.url) or thumb.url
            fields["image_alt"] = thumb.alt
        fields["aliases"] = list(plan.old_paths)
        if gallery_ids:
            fields["attachments"] = {n: _gallery_entry(self.attachments[n], media)
                                     for n in gallery_ids}
        fields["wordpress_id"] = item.post_id
        return fields

    def _updated(self, item: Item, plan: wpposts.Plan) -> str | None:
        modified = wpposts._parse(item.modified_gmt)
        if modified is None or plan.naive:
            return None
        modified = modified.replace(tzinfo=UTC).astimezone(plan.date.tzinfo)
        if modified.replace(second=0) <= plan.date.replace(second=0):
            return None
        return wpposts.format_date(modified, False)

    def _post_link(self, url: str) -> str | None:
        """The new site path of a link to one of the old site's posts."""
        parts = urlsplit(url)
        if parts.netloc and parts.netloc.lower() != self.blog_host:
            return None
        ids = parse_qs(parts.query).get("p")
        if ids and ids[0].isdigit() and int(ids[0]) in self.plans:
            target = self.plans[int(ids[0])].path
        else:
            path = unquote(parts.path)
            if self.blog_path != "/" and path.startswith(self.blog_path):
                path = "/" + path[len(self.blog_path):]
            target = self.by_old_path.get(path if path.endswith("/") else path + "/")
        if target is None:
            return None
        return self.urls.page(target) + (f"#{parts.fragment}" if parts.fragment else "")

    def _media(self, url: str, copies: dict[str, Path], label: str) -> str | None:
        rel = upload_path(url)
        if rel is None:
            return None
        if self.media is None:
            self.report.media_links += 1
            return None
        source = _find_upload(self.media, rel)
        if source is None:
            self.report.missing.append(f"{label}: {url}")
            return None
        name = source.name
        if name in copies and copies[name] != source or name == "index.md":
            name = rel.replace("/", "-")
        copies[name] = source
        return name


def upload_path(url: str) -> str | None:
    """An upload's path below the uploads folder ('2019/02/photo.jpg'), or None."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if "/wp-content/uploads/" in path:
        rel = path.split("/wp-content/uploads/", 1)[1]
    elif parts.netloc.lower().endswith(".files.wordpress.com"):
        rel = path.lstrip("/")
    else:
        return None
    if not rel or rel.endswith("/") or ".." in rel.split("/"):
        return None
    return rel


def _find_upload(media: Path, rel: str) -> Path | None:
    for folder in (media, media / "uploads", media / "wp-content" / "uploads"):
        candidate = folder / rel
        if candidate.is_file():
            return candidate
    return None


def _gallery_entry(attachment: Attachment, media: Callable[[str], str | None]) -> dict:
    entry: dict[str, str] = {"src": media(attachment.url) or attachment.url}
    if attachment.alt:
        entry["alt"] = attachment.alt
    if attachment.caption:
        entry["caption"] = attachment.caption
    return entry


def _kind(post_type: str) -> str:
    return {"page": "pages", "nav_menu_item": "menu items", "revision": "revisions"}.get(
        post_type, f"items of type '{post_type}'")


def _quote(title: str) -> str:
    text = wpposts.plain_text(title)
    return f'"{text[:60]}"' if text else "(no title)"


def write_report(report: Report, path: Path, export: Path) -> None:
    """The report file: the summary, then each list under its heading."""
    lines = [f"WordPress import of {export.name}", report.summary(), ""]
    sections = [
        ("Skipped posts", report.skipped),
        ("Kept: edited since they were imported (use --force to overwrite)", report.kept),
        ("Old addresses a static host cannot redirect (query strings)",
         report.unredirectable),
        ("Attachments not found under --media", report.missing),
        ("Notes", report.notes),
    ]
    for heading, entries in sections:
        if entries:
            lines += [f"{heading} ({len(entries)}):", *(f"  {e}" for e in entries), ""]
    if report.media_links:
        lines += [f"{report.media_links} links to uploads left pointing at the old site "
                  "(no --media folder given).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), "utf-8")
