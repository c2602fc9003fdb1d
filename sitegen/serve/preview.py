"""`Preview` ties the server, the watcher and the rebuilds together; `serve` runs it.

Builds run in a build host (processes.BuildHost), a process started before the server's
first thread: the server never forks, the host forks the build's workers.
"""

from __future__ import annotations

import mimetypes
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from rich.console import Console
from watchdog.observers.api import BaseObserver

from ..build import build as build_site
from ..config import Config
from ..errors import SitegenError
from ..processes import BuildHost
from .files import livereload_js
from .rebuild import (
    MAX_WAIT_SECONDS,
    QUIET_SECONDS,
    BuildFunc,
    BuildStatus,
    Rebuilder,
    Report,
    SiteBuilder,
)
from .server import Limits, PreviewHTTPServer
from .watch import WATCHED_EVENTS, ChangeFilter, SourceEventHandler, start_observer, watch_list

# -- the preview

def build_in_host(config: Config, log: Callable[[str], None]) -> Report:
    """One build, in the build host (processes.BuildHost)."""
    return build_site(config, log=log)


class Preview:
    """The server, the watcher and the rebuild worker of one `sitegen serve`."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 8000,
                 console: Console | None = None, build: BuildFunc | None = None,
                 quiet: float = QUIET_SECONDS, max_wait: float = MAX_WAIT_SECONDS,
                 overrides: dict[str, Any] | None = None, limits: Limits | None = None) -> None:
        """`overrides`: the settings given on the command line, kept when the config file
        is read again; `limits`: the server's (default `Limits()`)."""
        self.console = console or Console(stderr=True, highlight=False)
        # started first: before this process runs any thread (processes.BuildHost)
        self.host = BuildHost(build_in_host) if build is None else None
        if self.host is not None:
            self.host.start()
        self.builder = SiteBuilder(config, self._build_in_host, overrides,
                                   on_reload=self._follow_config)
        self.state = BuildStatus()
        self.rebuilder = Rebuilder(build or self.builder, self.state, self.console,
                                   config.site_dir, quiet, max_wait)
        self.filter = ChangeFilter(config)
        self.script = livereload_js()
        self.observer: BaseObserver | None = None
        self._watched: set[Path] = set()
        self._unwatched: set[Path] = set()
        self._handler: SourceEventHandler | None = None
        self._http_thread: threading.Thread | None = None
        mimetypes.init()
        try:
            self.httpd = PreviewHTTPServer((host, port), self, limits)
        except OSError as exc:
            raise SitegenError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc

    @property
    def config(self) -> Config:
        return self.builder.config

    def _build_in_host(self, config: Config) -> Report:
        assert self.host is not None
        return self.host.call(config, self._log)

    def _log(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}{self.config.base_path}"

    def initial_build(self) -> bool:
        return self.rebuilder.run_build(frozenset())

    def start(self, watch: bool = True) -> None:
        if watch:
            watches = watch_list(self.config)
            self._watched = {Path(p) for p, _ in watches}
            self._unwatched = set(self.filter.roots) - self._watched
            self._handler = SourceEventHandler(self._accepts, self._on_change)
            self.observer = start_observer(self._handler, watches, self.console)
        self.rebuilder.start()
        self._http_thread = threading.Thread(target=self.httpd.serve_forever,
                                             kwargs={"poll_interval": 0.2},
                                             name="sitegen-http", daemon=True)
        self._http_thread.start()

    def _accepts(self, path: str) -> bool:
        return self.filter.accepts(path)

    def _follow_config(self, config: Config) -> None:
        """A config file read again may name other folders: watch and filter for those."""
        self.filter = ChangeFilter(config)
        if self.observer is None or self._handler is None:
            return
        for path, recursive in watch_list(config):
            if path not in self._watched:
                with suppress(OSError):
                    self.observer.schedule(self._handler, str(path), recursive=recursive,
                                           event_filter=WATCHED_EVENTS)
                    self._watched.add(path)
        self._unwatched = set(self.filter.roots) - self._watched

    def _on_change(self, path: str) -> None:
        self.rebuilder.notify(path)
        target = Path(path)
        if target in self._unwatched and target.is_dir() and self.observer is not None:
            self._unwatched.discard(target)  # e.g. layouts/ made after the start
            with suppress(OSError):
                self.observer.schedule(self._handler, path, recursive=True,
                                       event_filter=WATCHED_EVENTS)

    def stop(self, build_timeout: float | None = None) -> bool:
        """Close event streams, stop the server, the watcher and the worker, in that order.

        False when a build was still running after `build_timeout` seconds."""
        self.state.close()
        if self._http_thread is not None:
            self.httpd.shutdown()
            self._http_thread.join(5)
        self.httpd.server_close()
        if self.observer is not None:
            self.observer.stop()
            with suppress(RuntimeError):
                self.observer.join(5)
        stopped = self.rebuilder.stop(timeout=build_timeout)
        if stopped and self.host is not None:
            self.host.close()
        return stopped

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(config: Config, host: str = "127.0.0.1", port: int = 8000,
          console: Console | None = None, overrides: dict[str, Any] | None = None) -> None:
    """Build, serve `config.output_dir` and rebuild on changes until Ctrl-C. `overrides`:
    the settings given on the command line, kept when the config file is read again."""
    console = console or Console(stderr=True, highlight=False)
    preview = Preview(config, host, port, console, overrides=overrides)
    try:
        preview.initial_build()
        preview.start()
        console.print(f"Serving {preview.url} (Ctrl-C to stop)", markup=False, highlight=False)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        with _sigint_ignored():
            stopped = preview.stop(build_timeout=1.0)
        if not stopped:
            _finish_build(preview, console)
    console.print("Stopped.", markup=False)


def _finish_build(preview: Preview, console: Console) -> None:
    """Let a running build end (its output stays consistent); a second Ctrl-C quits now."""
    console.print("waiting for the running build to finish (Ctrl-C again to quit now)...",
                  markup=False)
    try:
        preview.rebuilder.stop(timeout=None)
    except KeyboardInterrupt:
        if preview.host is not None:
            preview.host.kill()  # the output folder stays as the last build left it
        console.print("Stopped; the running build was abandoned.", markup=False)
        os._exit(130)
    if preview.host is not None:
        preview.host.close()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C must not break the clean shutdown with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
