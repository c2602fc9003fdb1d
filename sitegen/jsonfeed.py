"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) beside every RSS and Atom feed.

The feed itself is written by the `feed.json` layout (and `corrections-feed.json`) from the
same context as `rss.xml` and `atom.xml`; here are its URL and the links pages carry to it."""

from __future__ import annotations

from .urls import Urls

MEDIA_TYPE = "application/feed+json"


def json_feed_url(scope_url: str) -> str:
    """The JSON Feed of a scope (the site, a section, a tag...): beside its feed.xml."""
    return scope_url + "feed.json"


def feed_links(name: str, scope_url: str, urls: Urls) -> tuple[tuple[str, str], ...]:
    """(title, URL) of a scope's RSS, Atom and JSON feeds, for a page's `feeds`."""
    return ((f"{name} (RSS)", urls.feed(scope_url)),
            (f"{name} (Atom)", urls.feed(scope_url, atom=True)),
            (f"{name} (JSON Feed)", json_feed_url(scope_url)))
