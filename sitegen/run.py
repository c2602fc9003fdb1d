"""`Run`: what every stage of one build shares, fixed when the build starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .cache import BuildCache
from .config import Config
from .records import PageState


@dataclass(frozen=True)
class Run:
    """One build's settings, its cache, what the last build wrote (output path -> state), and
    where the workers report their progress (a `processes.Progress`)."""

    config: Config
    cache: BuildCache
    previous: dict[str, PageState]
    progress: Callable[[str, int, int], None] | None = None
