"""`output_digest(config)`: one digest of everything besides the articles that changes the
rendered bytes: the settings that do (`Config.output_settings`), the shortcode templates and
the site's includes, and the string catalogs. Parse keys, page fingerprints, the site's shape
and the inputs key all include it."""

from __future__ import annotations

import hashlib

from .config import Config


def output_digest(config: Config) -> str:
    # imported here: a build that finds nothing changed needs neither Jinja nor Babel
    from .i18n import files_digest as catalogs_digest
    from .shortcodes import files_digest as shortcode_files_digest

    items = config.output_settings()
    items.append(("shortcode_files", shortcode_files_digest(config)))  # they shape bodies
    items.append(("catalogs", catalogs_digest(config)))  # shipped and the site's
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]
