"""Damage found in the cache folder: said once (`report_damage`) and discarded; the build
goes on without the damaged part."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

log = logging.getLogger("sitegen.cache")


def report_damage(what: Path | str, detail: str) -> None:
    """The one warning for a damaged part of the cache folder, which is discarded: the build
    goes on without it (only slower)."""
    log.warning("warning: discarded a damaged part of the build cache: %s (%s)", what, detail)


class DamagedRecord(pickle.UnpicklingError):
    """A parsed record in the cache that does not unpickle to one (an UnpicklingError, so
    that readers of another build's cache, such as `check`, skip it as before)."""
