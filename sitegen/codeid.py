"""What identifies sitegen's code in the build state: its version and a digest of its files.

The parse cache, the no-change check and the site's shape are keyed by it, so a build after
an upgrade does not reuse what older code made. The version alone is not enough: a checkout
or a `pip install git+...` of another commit keeps the same version number, and a build
that reused its parses, or found "nothing changed", would leave the old code's pages."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from . import __version__

PACKAGE = Path(__file__).resolve().parent


@cache
def code_digest() -> str:
    """The version and a digest of every file of the package (code, catalogs, scripts), by
    its relative path: ~6 ms, once per process."""
    digest = hashlib.blake2b(digest_size=16)
    files = sorted(path for path in PACKAGE.rglob("*")
                   if path.is_file() and "__pycache__" not in path.parts)
    for path in files:
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()}"
