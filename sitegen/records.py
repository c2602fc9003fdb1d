"""The plain immutable records passed from one pipeline stage to the next.

The records a build holds by the hundred thousand have slots (no per-instance dict), and a
Term unpickles as the one shared Term of its value: each article used to carry its own copies
of its section, tags and authors (~1 KB an article), in the parent and again in each worker
that inherits its memory."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Term:
    """A section, tag or author: its name as written, its slug and its index URL."""

    name: str
    slug: str
    url: str

    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]:
        return shared_term, (self.name, self.slug, self.url)


@cache
def shared_term(name: str, slug: str, url: str) -> Term:
    """The one Term of this value in this process (terms are few; articles are many)."""
    return Term(name, slug, url)


@dataclass(frozen=True, slots=True)
class Correction:
    date: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class Revision:
    """One update of an article (history.py): its date and the commit's `Revision-Note:`
    trailer, if any (never the commit's own message, written for the newsroom)."""

    date: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An article file as read from disk."""

    path: str  # relative to the content folder, '/'-separated
    data: bytes
    digest: str  # "" until read, when many files are new: the parse workers hash them
    bundle_files: tuple[str, ...] = ()  # other files of a page bundle, relative to its folder
    signature: str = ""  # its stat signature when it was found


@dataclass(frozen=True, slots=True)
class Article:
    """One parsed article. `body_html` is empty in the copy the indexes and lists use."""

    source: str
    digest: str
    title: str
    slug: str
    url: str
    date: datetime
    summary: str
    body_html: str = ""
    is_brief: bool = False
    section: Term | None = None
    tags: tuple[Term, ...] = ()
    authors: tuple[Term, ...] = ()
    updated: datetime | None = None
    dateline: str = ""
    source_name: str = ""
    link: str = ""
    image: str = ""
    image_alt: str = ""
    story: str = ""
    corrections: tuple[Correction, ...] = ()
    lang: str = ""
    draft: bool = False
    expires: datetime | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    internal_links: tuple[tuple[str, int], ...] = ()  # (site path, line) for `check`
    bundle_files: tuple[str, ...] = ()
    revisions: tuple[Revision, ...] = ()
    words: int = 0
    card: str = ""  # digest of what a list or a neighbour link can show (fingerprint.card_digest)
    outline: str = ""  # digest of its place in the site's shape (fingerprint.outline_digest)
    # Other URLs of the article (Hugo's aliases, Jekyll's redirect_from) and the URL its
    # old generator gave it (url, permalink): kept for redirects (frontkeys.py).
    aliases: tuple[str, ...] = ()
    permalink: str = ""
    weight: int = 0  # Hugo's ordering weight, kept as written
    # The lead photo (`image`, `image_alt` above): caption, credit, and its pixel size when
    # it is a local file (photos.py); 0 when not known (a remote image).
    image_caption: str = ""
    image_credit: str = ""
    image_width: int = 0
    image_height: int = 0
    featured: bool = False  # may lead the home page (Config.featured_days)
    # Its versions in other languages (i18n.py): a key they share (Hugo's translationKey),
    # or the site path or URL of the original, as written.
    translation_key: str = ""
    translation_of: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Unpickled by `_restore_article` with the field values in order: the slots
        dataclass default (`__setstate__` asking `dataclasses.fields()` every time) took 12 us
        an article, most of the time a build spends loading 10,000 cached articles."""
        return _restore_article, _article_fields(self)

    @property
    def extras(self) -> dict[str, Any]:
        """Front-matter keys that are not sitegen fields, by name (`article.extras.kicker`)."""
        return dict(self.extra)

    @property
    def day_key(self) -> tuple[int, int, int]:
        """The date as written (its own offset) that URLs and archives group on."""
        return (self.date.year, self.date.month, self.date.day)

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Newest first when sorted in reverse; the URL breaks ties deterministically."""
        return (self.date, self.url)


_article_fields = operator.attrgetter(*Article.__dataclass_fields__)


def _slot_filler(cls: type) -> type:
    """A plain class with `cls`'s slots, whose `__init__` stores its arguments in them in
    order, as plain attribute stores: a frozen dataclass's `__init__` calls
    `object.__setattr__` for each field (Article's 44: 4 us of the 7 us an article takes to
    unpickle). Its instances have `cls`'s layout, so one can become a `cls`
    (`_restore_article`)."""
    names = cls.__slots__
    source = (f"def __init__(self, {', '.join(names)}):\n" +
              "".join(f"    self.{name} = {name}\n" for name in names))
    scope: dict[str, Any] = {}
    exec(source, scope)  # noqa: S102  (our own field names: as dataclasses makes __init__)
    return type(f"_{cls.__name__}Slots", (), {"__slots__": names, "__init__": scope["__init__"]})


_ArticleSlots = _slot_filler(Article)


def _restore_article(*values: Any) -> Article:
    """An Article of its field values in order, made without Article's `__init__` (see
    `_slot_filler`): equal to `Article(*values)`, and immutable as any Article."""
    article = _ArticleSlots(*values)
    article.__class__ = Article
    return article  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Pagination:
    number: int
    total: int
    url: str
    prev_url: str | None
    next_url: str | None
    pages: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page to render: its URL, its template and the data it shows (and nothing else)."""

    url: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    body_of: str = ""  # digest of the article whose body this page shows, if any
    kind: str = "page"
    # Every article the page shows, when the rest of its context follows from the site's
    # shape alone (shape.site_shape); None when the planner does not vouch for that.
    shows: tuple[Article, ...] | None = None


class PageState(NamedTuple):
    """What a build wrote at an output path: the page's fingerprint ("" for a file that is
    not a rendered page) and the content hash of its bytes (writer.content_hash). A named
    tuple: the cache stores it as a row, and older code may still unpack it."""

    fingerprint: str
    output_hash: str


@dataclass(frozen=True)
class LastBuild:
    """What the last complete build read (`inputs`, scan.inputs_key) and reported."""

    inputs: str
    valid_until: datetime | None  # when the passing of time alone changes the site
    articles: int
    warnings: tuple[str, ...]
    unused: tuple[str, ...]
    redirects: int


@dataclass(frozen=True)
class BuildReport:
    articles: int
    pages_planned: int
    pages_rendered: int
    files_written: int
    files_unchanged: int
    files_removed: int
    seconds: float
    stage_seconds: tuple[tuple[str, float], ...] = ()
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    search_seconds: float = 0.0
    unused: tuple[str, ...] = ()  # files in content/ that are neither articles nor bundle files
    redirects: int = 0  # redirect pages of the site (aliases, redirects.py)

    def summary_line(self) -> str:
        """One line that adds up: every planned page was rendered or found up to date (its
        fingerprint unchanged); every file was written, found unchanged or removed."""
        extras = []
        if self.redirects:
            extras.append(f"{self.redirects} redirect page{'' if self.redirects == 1 else 's'}")
        if self.unused:
            extras.append(f"{len(self.unused)} other file{'' if len(self.unused) == 1 else 's'} "
                          "in content/ not used")
        up_to_date = self.pages_planned - self.pages_rendered
        return (f"{self.articles} articles, {self.pages_planned} pages: "
                f"{self.pages_rendered} rendered, {up_to_date} up to date; "
                f"{self.files_written} files written, {self.files_unchanged} unchanged, "
                f"{self.files_removed} removed in {self.seconds:.2f} s"
                + "".join(f"; {extra}" for extra in extras))
