"""`sitegen due`: has a publication moment passed since the site was last built?

Embargoed articles appear, expiring ones disappear, the news sitemap's window and a featured
lead's time on the home page end by the clock alone, so a site on a static host changes only
when a build runs. A scheduled job asks `due` with the time of the build it last deployed,
and builds and deploys only when the answer is yes (.github/workflows/pages.yml).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from .config import Config
from .parse import parse_articles
from .scan import scan_sources
from .state import BuildState


@dataclasses.dataclass(frozen=True)
class Due:
    due: bool
    moment: datetime | None  # the first date change after `since` (past when due)

    def message(self, since: datetime | None) -> str:
        if since is None:
            return "due: no earlier build is known"
        if self.moment is None:
            return f"not due: nothing changes by the clock after {since.isoformat()}"
        if self.due:
            return f"due: {self.moment.isoformat()} has passed since {since.isoformat()}"
        return f"not due: the next change is at {self.moment.isoformat()}"


def parse_since(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC. ValueError when it is not one."""
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def next_change_after(config: Config, since: datetime) -> datetime | None:
    """The first moment after `since` at which the passing of time alone changes the site:
    what a build at `since` recorded as its `valid_until` (parsedfolders.next_date_change)."""
    then = dataclasses.replace(config, now=since)
    with BuildState.open(config) as cache:
        sources = scan_sources(then, cache).sources
        return parse_articles(sources, then, cache).valid_until


def due_since(config: Config, since: datetime | None) -> Due:
    """Whether a build at `config.now` would differ by the clock from one at `since`."""
    if since is None:
        return Due(True, None)
    moment = next_change_after(config, since)
    return Due(moment is not None and moment <= config.now, moment)
