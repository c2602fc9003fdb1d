"""Python-Markdown without the regex scans that cannot match: the same HTML, faster.

Most of Python-Markdown's time on news prose goes to regular expressions that are tried on
text where they cannot match: ~15 inline patterns on every text node, ~10 block processors on
every block, and preprocessors that scan the whole document for fences, HTML and blank lines
made of spaces. Each pattern or processor listed here needs certain characters in its text before
it can match (read off its regular expression in Python-Markdown 3.x); where they are absent it
is skipped, which is what it would have decided itself. Anything not listed (a pattern or a
processor of another extension) always runs, and the inline shortcut is off altogether when
an unknown inline pattern is registered. tests/test_markup.py compares the HTML with stock
Python-Markdown.
"""

from __future__ import annotations

import re
import types
import xml.etree.ElementTree as etree
from collections.abc import Callable
from typing import Any

import markdown
import markdown.blockparser
import markdown.util
from markdown.treeprocessors import InlineProcessor

from . import compat

# What each inline pattern of Python-Markdown 3.x (and the footnotes extension) needs in a
# text before it can match; a text with none of these goes through the inline stage unchanged.
INLINE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`", "\\"), "escape": ("\\",), "footnote": ("[",), "reference": ("[",),
    "link": ("[",), "image_link": ("[",), "image_reference": ("[",),
    "short_reference": ("[",), "short_image_ref": ("[",), "autolink": ("<",),
    "automail": ("<",), "linebreak": ("  \n",), "html": ("<",), "entity": ("&",),
    "em_strong": ("*", "_"), "em_strong2": ("_",),
    "not_strong": ("*", "_"),  # a lone `*` or `_`; Python-Markdown before 3.11 registers it
}


# Block processors by name: (class name, a test true whenever the processor could apply).
BLOCK_TRIGGERS: dict[str, tuple[tuple[str, ...], Callable[[str], bool]]] = {
    "table": (("TableProcessor",), lambda b: "|" in b),
    "hashheader": (("HashHeaderProcessor",), lambda b: "#" in b),
    "setextheader": (("SetextHeaderProcessor",), lambda b: "\n=" in b or "\n-" in b),
    "hr": (("HRProcessor",), lambda b: "-" in b or "_" in b or "*" in b),
    "olist": (("OListProcessor", "SaneOListProcessor"),
              lambda b: b.lstrip(" ")[:1].isdigit()),
    "ulist": (("UListProcessor", "SaneUListProcessor"),
              lambda b: b.lstrip(" ")[:1] in ("*", "+", "-")),
    "deflist": (("DefListProcessor",), lambda b: ":" in b),
    "quote": (("BlockQuoteProcessor",), lambda b: ">" in b),
    "footnote": (("FootnoteBlockProcessor",), lambda b: "[^" in b),
    "reference": (("ReferenceProcessor",), lambda b: "]:" in b),
}


# Preprocessors by name: (class name, a test true whenever the preprocessor could change the
# document). Without them, a document's lines come out as they went in.
PREPROCESSOR_TRIGGERS: dict[str, tuple[tuple[str, ...], Callable[[str], bool]]] = {
    "fenced_code_block": (("FencedBlockPreprocessor",), lambda t: "```" in t or "~~~" in t),
    # HTML's parser acts on '<', and on '&#' (it writes `&#169` back as `&#169;`)
    "html_block": (("HtmlBlockPreprocessor",), lambda t: "<" in t or "&#" in t),
}
_SPACES_LINE = re.compile(r"(?<=\n) +\n")


class QuickInline(InlineProcessor):
    """Python-Markdown's inline stage without the regex scans that cannot match: one scan of a
    text finds which trigger characters it holds, and only the patterns those can start are
    tried, in Python-Markdown's order (a text with none skips the stage). Only when every
    registered pattern is one whose triggers are known; the HTML is the same
    (tests/test_markup.py).

    What a pattern puts in place of its match is a placeholder (STX, letters, digits, ETX):
    never a trigger, so the patterns a text cannot start stay the same after each match.
    """

    def __init__(self, md: markdown.Markdown):
        super().__init__(md)
        self.trigger: re.Pattern[str] | None = None
        self.known_patterns: tuple[str, ...] = ()
        self.plans: dict[frozenset[str], tuple[int, ...]] = {}  # triggers found -> patterns

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        self.inlinePatterns._sort()  # by priority: the order patterns are tried in
        names = tuple(item.name for item in self.inlinePatterns._priority)
        if names != self.known_patterns:
            self.known_patterns = names
            self.trigger = _trigger_pattern(names)
            self.plans = {}
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802,N803
        if self.trigger is None or isinstance(data, markdown.util.AtomicString):
            return super()._InlineProcessor__handleInline(data, patternIndex)
        found = frozenset(self.trigger.findall(data))
        if not found:
            return data
        plan = self.plans.get(found)
        if plan is None:
            plan = self.plans[found] = self._plan(found)
        patterns = self.inlinePatterns
        start = 0
        for index in plan:  # InlineProcessor.__handleInline, over the patterns that can match
            if index < patternIndex:
                continue
            matched = True
            while matched:  # a pattern that matched is tried again from where it stopped
                data, matched, start = self._InlineProcessor__applyPattern(
                    patterns[index], data, index, start)
        return data

    def _plan(self, found: frozenset[str]) -> tuple[int, ...]:
        """The indexes of the patterns that one of the triggers `found` can start."""
        return tuple(index for index, name in enumerate(self.known_patterns)
                     if found.intersection(INLINE_TRIGGERS[name]))


def _trigger_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    if not names or not all(name in INLINE_TRIGGERS for name in names):
        return None  # an unknown pattern: always run them all
    triggers = sorted({t for name in names for t in INLINE_TRIGGERS[name]})
    return re.compile("|".join(map(re.escape, triggers)))


def supported() -> bool:
    """Whether this Python-Markdown is one the shortcuts are tested with (compat.MARKDOWN;
    outside it, stock Python-Markdown runs and says so once) and has the internals they
    replace."""
    if not compat.usable(compat.MARKDOWN):
        return False
    inline = all(hasattr(InlineProcessor, name) for name in
                 ("_InlineProcessor__handleInline", "_InlineProcessor__applyPattern"))
    return inline and hasattr(markdown.blockparser.BlockParser, "parseBlocks")


def quicken_block_parser(md: markdown.Markdown) -> None:
    """Give `md.parser` a `parseBlocks` that skips the processors listed in BLOCK_TRIGGERS
    whose trigger is absent from the block (once all extensions are registered)."""
    md.parser.parseBlocks = types.MethodType(_parse_blocks, md.parser)


def quicken_preprocessors(md: markdown.Markdown) -> None:
    """Skip the preprocessors listed in PREPROCESSOR_TRIGGERS on a document without their
    triggers, and the whitespace normaliser's scan for lines of spaces where there are none."""
    registry = md.preprocessors
    for name, (classes, could_change) in PREPROCESSOR_TRIGGERS.items():
        if name in registry and type(registry[name]).__name__ in classes:
            registry[name].run = _skipped_unless(registry[name].run, could_change)
    if "normalize_whitespace" in registry and \
            type(registry["normalize_whitespace"]).__name__ == "NormalizeWhitespace":
        registry["normalize_whitespace"].run = types.MethodType(
            _normalize_whitespace, registry["normalize_whitespace"])


def _skipped_unless(run: Callable[[list[str]], list[str]], could_change: Callable[[str], bool]
                    ) -> Callable[[list[str]], list[str]]:
    def quick_run(lines: list[str]) -> list[str]:
        return run(lines) if could_change("\n".join(lines)) else lines
    return quick_run


def _normalize_whitespace(processor: Any, lines: list[str]) -> list[str]:
    """NormalizeWhitespace.run of Python-Markdown 3.x; its regex runs only where it can match."""
    source = "\n".join(lines)
    source = source.replace(markdown.util.STX, "").replace(markdown.util.ETX, "")
    source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
    source = source.expandtabs(processor.md.tab_length)
    if " \n" in source:
        source = _SPACES_LINE.sub("\n", source)
    return source.split("\n")


def _parse_blocks(parser: Any, parent: etree.Element, blocks: list[str]) -> None:
    """BlockParser.parseBlocks of Python-Markdown 3.x, with the trigger checks."""
    registry = parser.blockprocessors
    key = tuple(registry._priority)  # (name, priority) of each: the plan below holds while equal
    plan = vars(parser).get("_sitegen_plan")
    if plan is None or plan[0] != key:
        names = {id(registry[item.name]): item.name for item in registry._priority}
        processors = [(p, _block_trigger(names[id(p)], p)) for p in registry]  # by priority
        plan = parser._sitegen_plan = (key, processors)
    processors = plan[1]
    while blocks:
        for processor, could_apply in processors:
            if could_apply is not None and not could_apply(blocks[0]):
                continue
            if processor.test(parent, blocks[0]) and \
                    processor.run(parent, blocks) is not False:
                break


def _block_trigger(name: str, processor: Any) -> Callable[[str], bool] | None:
    known = BLOCK_TRIGGERS.get(name)
    if known is None or type(processor).__name__ not in known[0]:
        return None
    return known[1]
