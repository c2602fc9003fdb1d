"""The upstream internals sitegen relies on, each behind the versions it is tested with.

Three fast paths reach into other packages' private parts, and the search bundle code reads
and writes Pagefind's file format. Each is used only where the installed version lies in the
range that the output-equality tests (`pytest -m compat`) passed at both ends: `make
test-compat` runs them with the newest versions in .venv and with the lowest in .venv-lowest
(`python -m sitegen.compat --lowest` lists those pins). Outside its range a fast path gives way
to the stock path it replaces (slower, same output) and says so once a process on stderr.
Pagefind outside its range is an error (`search.check_pagefind`): there is no stock path for
a bundle sitegen cannot read. pyproject.toml's bounds are these ranges (tests/test_compat.py).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class VersionRange:
    name: str  # as its users know it
    requirements: tuple[str, ...]  # the pip requirements pyproject.toml bounds by this range
    low: tuple[int, ...]  # the oldest release tested (included)
    high: tuple[int, ...]  # the first release not tested (excluded)
    relies_on: str  # which internals, where
    fallback: str | None  # the stock path sitegen takes outside the range; None: an error

    @property
    def text(self) -> str:
        """The range as a pip version specifier: ">=3.5,<3.12"."""
        return f">={_dotted(self.low)},<{_dotted(self.high)}"

    def contains(self, version: str) -> bool:
        number = release(version)
        return number is not None and self.low <= number < self.high

    def lowest(self) -> list[str]:
        """Pip requirements that install the oldest tested release."""
        return [f"{requirement}=={_dotted(self.low)}" for requirement in self.requirements]


MARKDOWN = VersionRange(
    "Python-Markdown", ("markdown",), (3, 5), (3, 12),
    "InlineProcessor's name-mangled __handleInline and __applyPattern, BlockParser.parseBlocks, "
    "and the names and expressions of its patterns and processors (quickmarkdown.py)",
    "stock Python-Markdown")
JINJA2 = VersionRange(
    "Jinja2", ("jinja2",), (3, 1), (3, 2),
    "Environment.getattr inlined, CodeGenerator._output_child_pre overridden (render.py)",
    "Jinja's own attribute lookup and code generator")
MARKUPSAFE = VersionRange(
    "MarkupSafe", ("markupsafe",), (3, 0), (3, 1),
    "markupsafe._escape_inner (render.escape)",
    "markupsafe.escape")
# 1.5.0 writes a word's diacritic variants in a different order each run: no join of pieces
# can give its bundle byte for byte. 1.5.2 writes them in order of appearance.
PAGEFIND = VersionRange(
    "Pagefind", ("pagefind[bin]", "pagefind-bin"), (1, 5, 2), (1, 6),
    "the bundle format: entry, metadata, word index, filter and fragment files (search/)",
    None)
RANGES = (MARKDOWN, JINJA2, MARKUPSAFE, PAGEFIND)

_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def release(version: str) -> tuple[int, ...] | None:
    """The release numbers a version starts with ("3.1.6" -> (3, 1, 6); "1.6.0rc1" ->
    (1, 6, 0)); None for a version without any."""
    match = _RELEASE.match(version.strip().lstrip("v"))
    return tuple(int(part) for part in match.group().split(".")) if match else None


def _dotted(numbers: tuple[int, ...]) -> str:
    return ".".join(map(str, numbers))


def installed_version(tested: VersionRange) -> str | None:
    """The installed version of the distribution `tested` names first, or None. Read off the
    name of its `NAME-VERSION.dist-info` folder (the wheel standard) on sys.path, in the order
    importlib.metadata looks, without importing it: that costs ~20 ms in every worker."""
    wanted = _normal(tested.requirements[0].split("[")[0])
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:  # a zip file, a folder gone
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            distribution, _, version = stem.partition("-")
            if kind == "dist-info" and version and _normal(distribution) == wanted:
                return version
    return _metadata_version(wanted)  # e.g. an .egg-info


def _metadata_version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@cache
def usable(tested: VersionRange) -> bool:
    """Whether the installed version is one sitegen's fast path over `tested` is tested with.
    Answered once a process; the first answer "no" prints one line on stderr."""
    if tested.fallback is None:
        raise ValueError(f"{tested.name} has no stock path: check its version where it runs")
    version = installed_version(tested)
    if version is not None and tested.contains(version):
        return True
    sys.stderr.write(  # one write: the lines of processes at work at once stay whole
        f"sitegen: {tested.name} {version or '(version unknown)'} is outside the range "
        f"sitegen is tested with ({tested.requirements[0]}{tested.text}); using "
        f"{tested.fallback} (slower, same output)\n")
    sys.stderr.flush()
    return False


def check_all() -> None:
    """Answer for every fast path now: a process that forks workers afterwards says it once
    for all of them."""
    for tested in RANGES:
        if tested.fallback is not None:  # Pagefind: the binary's version, check_pagefind
            usable(tested)


def main(argv: list[str]) -> int:
    if argv == ["--lowest"]:  # for `make test-compat`: one requirement a line
        print("\n".join(pin for tested in RANGES for pin in tested.lowest()))
        return 0
    for tested in RANGES:
        print(f"{tested.name}: {tested.requirements[0]}{tested.text} (installed: "
              f"{installed_version(tested) or 'none'}): {tested.relies_on}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
