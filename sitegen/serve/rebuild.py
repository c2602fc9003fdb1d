"""Builds of the preview: `BuildStatus` (what pages hear about), `Rebuilder` (file events
debounced into one build at a time on one thread) and `SiteBuilder` (the current config)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from ..config import Config, load_config
from ..errors import SitegenError
from ..processes import HostError

QUIET_SECONDS = 0.2  # a build starts once no event came for this long ...
MAX_WAIT_SECONDS = 2.0  # ... or this long after the first event of a burst
CONFIG_NAMES = ("sitegen.toml", "pyproject.toml")


class Report(Protocol):
    """What the preview needs of a `BuildReport`."""

    files_written: int
    files_removed: int

    def summary_line(self) -> str: ...


BuildFunc = Callable[[frozenset[str]], Report]


# -- build state

class BuildStatus:
    """The epoch of the last good build and the error of the last failed one.

    `version` counts every change pages should hear about; `epoch` only good builds
    that changed the output. A page reloads when the epoch differs from its own.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.epoch = 0
        self.version = 0
        self.error: dict[str, Any] | None = None
        self.building = False
        self.closed = False

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {"epoch": self.epoch, "version": self.version, "building": self.building,
                    "error": self.error}

    def set_building(self, building: bool) -> None:
        self._change(building=building)

    def succeed(self, changed: bool) -> None:
        self._change(building=False, error=None, epoch=self.epoch + int(changed))

    def fail(self, error: dict[str, Any]) -> None:
        self._change(building=False, error=error)

    def close(self) -> None:
        self._change(closed=True)

    def _change(self, **values: Any) -> None:
        with self._cond:
            for key, value in values.items():
                setattr(self, key, value)
            self.version += 1
            self._cond.notify_all()

    def wait_for_change(self, version: int, timeout: float) -> dict[str, Any] | None:
        """The state once its version differs from `version` (or at `timeout`); None if closed."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return None if self.closed else self.snapshot()


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The JSON the overlay shows: a message and each problem with file and line."""
    problems = getattr(exc, "problems", None)
    if problems:
        items = [{"path": str(p.path), "line": p.line, "message": p.message,
                  "severity": p.severity, "text": str(p)} for p in problems]
        return {"message": f"{len(items)} problem{'s' if len(items) != 1 else ''}",
                "problems": items}
    lines = str(exc).splitlines() or [type(exc).__name__]
    if not isinstance(exc, (SitegenError, HostError)):  # a HostError names its type already
        lines[0] = f"{type(exc).__name__}: {lines[0]}"
    items = [{"path": None, "line": None, "message": line, "severity": "error", "text": line}
             for line in lines]
    return {"message": lines[0], "problems": items}


# -- debounced rebuilds

class Rebuilder:
    """Collects changed paths and runs `build(changes)` on one worker thread.

    A burst of events (a checkout of 500 files, an editor's write-and-rename) becomes one
    build: it starts when no event came for `quiet` seconds, or `max_wait` seconds after
    the burst began. Events during a build lead to one more build after it; never two at once.
    """

    def __init__(self, build: BuildFunc, state: BuildStatus, console: Console | None = None,
                 root: Path | None = None, quiet: float = QUIET_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        self._build = build
        self.state = state
        self.console = console
        self.root = root
        self.quiet, self.max_wait = quiet, max_wait
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = self._last = 0.0
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def notify(self, path: str) -> None:
        """Record a changed path (called from the watcher's thread)."""
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
                self._cond.notify_all()
            self._pending.add(path)
            self._last = now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sitegen-rebuild", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop the worker; False if a build was still running after `timeout` seconds."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no change is pending and no build runs (for tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _run(self) -> None:
        while (changes := self._next_batch()) is not None:
            try:
                self.run_build(changes)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_batch(self) -> frozenset[str] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._stopping)
            while not self._stopping:
                remaining = min(self._last + self.quiet, self._first + self.max_wait) \
                    - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._stopping:
                return None
            changes = frozenset(self._pending)
            self._pending.clear()
            self._busy = True
            return changes

    def run_build(self, changes: frozenset[str]) -> bool:
        """One build; updates the state and prints one line (or the problems)."""
        self.state.set_building(True)
        try:
            report = self._build(changes)
        except Exception as exc:  # a failed rebuild must not stop the server
            self.state.fail(error_payload(exc))
            self._print_failure(exc)
            return False
        except KeyboardInterrupt:
            # On the worker thread this comes from the build's worker processes, which
            # got the terminal's Ctrl-C too: the server is stopping, the build is dropped.
            if threading.current_thread() is threading.main_thread():
                self.state.set_building(False)
                raise
            self.state.fail(error_payload(SitegenError("build interrupted")))
            self._print("build interrupted", style="yellow")
            return False
        except BaseException:
            self.state.set_building(False)
            raise
        self.state.succeed(changed=bool(report.files_written or report.files_removed))
        self._print(f"{self._describe(changes)}{report.summary_line()}")
        return True

    def _describe(self, changes: frozenset[str]) -> str:
        if not changes:
            return ""
        first = min(changes)
        with suppress(ValueError):
            first = Path(first).relative_to(self.root).as_posix() if self.root else first
        more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
        return f"{first}{more} changed: "

    def _print_failure(self, exc: Exception) -> None:
        payload = error_payload(exc)
        for item in payload["problems"]:
            self._print(item["text"], style="red")
        if isinstance(exc, HostError):
            self._print(exc.details)  # the traceback, from the build host
        elif not isinstance(exc, SitegenError) and self.console is not None:
            self.console.print_exception()
        self._print(f"{payload['message']}; still serving the last good site.", style="red")

    def _print(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False, highlight=False,
                               soft_wrap=True)


class SiteBuilder:
    """`build()` with the current Config; re-reads the config file when it changed, keeping
    the settings given on the command line (`overrides`) over the file's."""

    def __init__(self, config: Config, build: Callable[[Config], Report],
                 overrides: dict[str, Any] | None = None,
                 on_reload: Callable[[Config], None] | None = None) -> None:
        self.config = config
        self._build = build
        self._overrides = dict(overrides or {})
        self._on_reload = on_reload

    @property
    def config_files(self) -> set[Path]:
        return {self.config.site_dir / name for name in CONFIG_NAMES}

    def __call__(self, changes: frozenset[str]) -> Report:
        if any(Path(path) in self.config_files for path in changes):
            self.config = load_config(self.config.site_dir, **self._overrides)
            if self._on_reload is not None:
                self._on_reload(self.config)
        return self._build(dataclasses.replace(self.config, now=datetime.now(UTC)))


