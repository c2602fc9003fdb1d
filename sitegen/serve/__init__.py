"""`sitegen serve`: build, serve `output/`, rebuild on every save, reload open pages.

The pieces, each testable on its own:

- `resolve_request` maps a request path to a file inside `output/` (or a redirect, 400, 404);
  `inject_script` adds the live-reload `<script>` to HTML responses (never to `output/`)
  (files.py);
- `BuildStatus` holds the build epoch and the last error; pages see it through server-sent
  events at `/__sitegen__/events` (JSON at `/__sitegen__/state`) and reload only after a
  completed build, as MkDocs does; `Rebuilder` debounces file events into one build at a
  time on one thread (rebuild.py);
- `ChangeFilter` and `start_observer` watch the sources with watchdog (polling when inotify
  runs out of watches) (watch.py);
- `Preview` ties them to a `ThreadingHTTPServer` (server.py) and runs every build in a build
  host, a process started before any thread (processes.BuildHost); `serve` runs it until
  Ctrl-C (preview.py).

`Limits` bounds what one client can take of the server (slow requests, threads, event streams,
request-line length); `allowed_hosts` and `host_allowed` refuse requests whose `Host` header
names another site (DNS rebinding) (server.py).
"""

from .files import inject_script, is_html, resolve_request, script_tag
from .preview import Preview, serve
from .rebuild import BuildStatus, Rebuilder, SiteBuilder, error_payload
from .server import Limits, PreviewHTTPServer, allowed_hosts, host_allowed
from .watch import ChangeFilter, SourceEventHandler, is_editor_junk, start_observer, watch_list

__all__ = [
    "BuildStatus", "ChangeFilter", "Limits", "Preview", "PreviewHTTPServer", "Rebuilder",
    "SiteBuilder", "SourceEventHandler", "allowed_hosts", "error_payload", "host_allowed",
    "inject_script", "is_editor_junk", "is_html", "resolve_request", "script_tag", "serve",
    "start_observer", "watch_list",
]
