"""Which file events start a build, and the watchdog observer that reports them."""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..config import Config
from ..errors import SitegenError
from ..outputtree import work_dir_for
from .rebuild import CONFIG_NAMES

# Only these reach the watcher: inotify is then not even asked about the opens and
# closes of every file a build reads, so the watch threads stay idle during builds.
WATCHED_EVENTS = [FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
                  DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


# -- watching

EDITOR_JUNK_SUFFIXES = (".swp", ".swx", ".swo", "~")


def is_editor_junk(name: str) -> bool:
    """Swap, backup and temporary files of editors (and every hidden file, as the build)."""
    return name.startswith(".") or name == "4913" or name.endswith(EDITOR_JUNK_SUFFIXES)


class ChangeFilter:
    """Which changed paths matter: sources and the config file, not outputs or editor junk."""

    def __init__(self, config: Config) -> None:
        self.roots = [Path(os.path.abspath(p))
                      for p in (config.content_dir, config.layouts_dir, config.static_dir)]
        self.config_files = {Path(os.path.abspath(config.site_dir / n)) for n in CONFIG_NAMES}
        self.excluded = [Path(os.path.abspath(p)) for p in (
            config.output_dir, config.cache_dir, work_dir_for(config.output_dir))]

    def accepts(self, path: str) -> bool:
        target = Path(os.path.abspath(path))
        if target in self.config_files:
            return True
        if any(target == ex or ex in target.parents for ex in self.excluded):
            return False
        for root in self.roots:
            if target == root or root in target.parents:
                rel = target.relative_to(root).parts
                return not any(is_editor_junk(part) for part in rel)
        return False


class SourceEventHandler(FileSystemEventHandler):
    """Passes the paths of relevant events to `notify` (the observer is scheduled with
    WATCHED_EVENTS, so only creations, deletions, moves and file changes arrive)."""

    def __init__(self, accepts: Callable[[str], bool], notify: Callable[[str], None]) -> None:
        self.accepts = accepts
        self.notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(path)
            if path and self.accepts(path):
                self.notify(path)
                return


def watch_list(config: Config) -> list[tuple[Path, bool]]:
    """(folder, recursive) to watch: the source folders that exist, and the site folder
    (not recursively) for its config file."""
    folders = [(p, True) for p in (config.content_dir, config.layouts_dir, config.static_dir)
               if p.is_dir()]
    return [*folders, (config.site_dir, False)]


def start_observer(handler: FileSystemEventHandler, watches: list[tuple[Path, bool]],
                   console: Console | None = None,
                   factory: Callable[[], BaseObserver] = Observer) -> BaseObserver:
    """A started watchdog observer; a polling one when inotify runs out of watches."""
    # watchdog 7 registers a folder created inside a watched tree twice (once from its parent's
    # walk, once from its own event) and warns that it overwrites the first: harmless, noisy
    # on every `git checkout` that adds folders.
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning,
                            module=r"watchdog\.")
    try:
        return _start(factory(), handler, watches)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EMFILE):
            raise SitegenError(f"cannot watch the site: {exc}") from exc
        if console is not None:
            console.print(f"inotify limit reached ({exc.strerror}): watching by polling "
                          "instead; raise fs.inotify.max_user_watches to avoid it",
                          style="yellow", markup=False, soft_wrap=True)
        return _start(PollingObserver(timeout=1.0), handler, watches)


def _start(observer: BaseObserver, handler: FileSystemEventHandler,
           watches: list[tuple[Path, bool]]) -> BaseObserver:
    try:
        for path, recursive in watches:
            observer.schedule(handler, str(path), recursive=recursive,
                              event_filter=WATCHED_EVENTS)
        observer.start()
    except BaseException:
        observer.stop()  # stops the emitters that did start
        raise
    return observer


