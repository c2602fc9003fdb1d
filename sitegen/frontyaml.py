"""Front matter, read safely: a source's text decoded and split into front matter and
body, and its YAML read into a mapping; a value YAML aliases would expand beyond reason, a
duplicate key, a control character or a file too large is refused with its line."""

from __future__ import annotations

import re
import reprlib
from typing import Any

import frontmatter
import yaml

from .errors import Problem
from .records import SourceFile

try:
    YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    YamlLoader = yaml.SafeLoader

MAX_ARTICLE_BYTES = 10 * 1024 * 1024
# Values that YAML aliases repeat (each use of an alias counts all it holds): an alias
# "billion laughs" of 393 bytes expands to a billion values.
MAX_YAML_REPEATS = 10_000
MAX_YAML_INT_DIGITS = 100  # longer integers are read as text (int() refuses 4,300 digits)
MAX_SHOWN = 80  # characters of a value quoted in a message
# Not allowed in XML 1.0 (feeds, sitemaps) and never meant in text: C0 controls but tab,
# newline and carriage return; DEL; the non-characters U+FFFE and U+FFFF.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_FM_HANDLER = frontmatter.YAMLHandler()


class _Loader(YamlLoader):  # type: ignore[misc, valid-type]
    """The safe loader, reading an integer too long for int() as the text it is."""


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int | str:
    if len(node.value) > MAX_YAML_INT_DIGITS:
        return str(node.value)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _TextDatesLoader(_Loader):
    """Reads timestamps as text: used when PyYAML's own date parsing raises (2020-13-45)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in YamlLoader.yaml_implicit_resolvers.items()
}


class ArticleError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


def decode_source(src: SourceFile, display: str) -> str:
    if len(src.data) > MAX_ARTICLE_BYTES:
        raise ArticleError([Problem(display, None,
                                    f"file is {len(src.data) // 1024} KB, over the "
                                    f"{MAX_ARTICLE_BYTES // 1024 // 1024} MB limit")])
    if b"\x00" in src.data[:8192]:
        raise ArticleError([Problem(display, None, "binary file, not a Markdown article")])
    try:
        text = src.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = src.data[: exc.start].count(b"\n") + 1
        raise ArticleError([Problem(display, line,
                                    f"not valid UTF-8 (byte 0x{src.data[exc.start]:02x} "
                                    f"at offset {exc.start})")]) from None
    if not text.strip():
        raise ArticleError([Problem(display, None, "empty file")])
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, display: str) -> tuple[str, str, int, int]:
    """Front matter text, body, the line where front matter starts and where the body starts."""
    stripped = text.lstrip("\n \t")
    skipped = text[: len(text) - len(stripped)].count("\n")
    if not _FM_HANDLER.detect(stripped):
        raise ArticleError([Problem(display, skipped + 1,
                                    "no front matter: the file must start with a '---' line")])
    try:
        fm_text, body = _FM_HANDLER.split(stripped)
    except ValueError:
        raise ArticleError([Problem(display, skipped + 1,
                                    "front matter is not closed by a '---' line")]) from None
    fm_line = skipped + 1  # fm_text starts with the rest of the opening '---' line
    body_start = len(stripped) - len(body.lstrip("\n"))
    body_line = skipped + stripped.count("\n", 0, body_start) + 1
    body = body.lstrip("\n")
    return fm_text, body, fm_line, body_line


def load_yaml(fm_text: str, fm_line: int, display: str) -> dict[str, Any]:
    raw = CONTROL_RE.search(fm_text)
    if raw:  # YAML refuses these too, but names neither the character's line nor the character
        raise ArticleError([Problem(display, fm_line + fm_text.count("\n", 0, raw.start()),
                                    f"control character U+{ord(raw.group()):04X} in front "
                                    "matter: not allowed, it makes feeds invalid XML")])
    try:
        try:
            meta = _compose_and_construct(fm_text, fm_line, display, _Loader)
        except (ValueError, TypeError, AttributeError, OverflowError):
            # an impossible date such as 2020-13-45: validated per key later
            meta = _compose_and_construct(fm_text, fm_line, display, _TextDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = fm_line + mark.line if mark else fm_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError([Problem(display, line, f"invalid YAML: {problem}")]) from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # an explicit tag on a value it cannot read, e.g. `!!timestamp soon`, `!!int x`
        raise ArticleError([Problem(display, fm_line, "front matter has a value YAML cannot "
                                    "read as the type its tag (e.g. !!int, !!timestamp) "
                                    f"says ({shown_text(str(exc))})")]) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError([Problem(display, fm_line + 1,
                                    f"front matter must be a mapping of keys to values, "
                                    f"not a {type(meta).__name__}")])
    return meta


def _compose_and_construct(fm_text: str, fm_line: int, display: str, loader_class: type
                           ) -> Any:
    """Compose the node graph, check it (size, duplicate keys, control characters), and only
    then build Python values from it."""
    loader = loader_class(fm_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _node_problem(node)
        if problem:
            mark, message = problem
            raise ArticleError([Problem(display, fm_line + mark.line, message)])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _node_problem(root: yaml.Node) -> tuple[Any, str] | None:
    """The first problem of a front matter's node graph: (its mark, a message), or None.

    It walks the graph as construction would expand it, an alias each time it is used, and
    stops after `MAX_YAML_REPEATS` values seen again: so a graph that expands to billions (or,
    with a recursive alias, forever) costs no more than the text it is written in.
    """
    is_mapping = isinstance(root, yaml.MappingNode)
    entries = root.value if is_mapping else [(None, root)]
    checked = {id(root)} if is_mapping else set()
    duplicate = _duplicate_key(root) if is_mapping else None
    if duplicate is not None:
        return duplicate.start_mark, _duplicate_message(duplicate)
    remaining = MAX_YAML_REPEATS
    for key, value in entries:
        stack = [value] if key is None else [key, value]
        while stack:
            node = stack.pop()
            seen = id(node) in checked
            remaining -= seen
            if remaining < 0:
                name = f"'{shown_text(key.value)}'" if key is not None else "front matter"
                return ((key or root).start_mark,
                        f"{name} expands to more than {MAX_YAML_REPEATS:,} values through "
                        "YAML aliases (each repeats all its anchor holds): refused")
            problem = None if seen else _own_problem(node)
            checked.add(id(node))
            if problem:
                return problem
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                stack.extend(part for pair in node.value for part in pair)
    return None


def _own_problem(node: yaml.Node) -> tuple[Any, str] | None:
    """A problem of this node itself (not of its children)."""
    if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
        found = CONTROL_RE.search(node.value)
        if found:
            return _control_problem(node, found)
    elif isinstance(node, yaml.MappingNode):
        duplicate = _duplicate_key(node)
        if duplicate is not None:
            return duplicate.start_mark, _duplicate_message(duplicate)
    return None


def _duplicate_message(key: yaml.ScalarNode) -> str:
    return f"key '{shown_text(key.value)}' appears twice in the same mapping"


def _control_problem(node: yaml.ScalarNode, found: re.Match[str]) -> tuple[Any, str]:
    text = node.value
    mark = node.start_mark
    if node.style in ("|", ">"):  # a block scalar: its text starts on the next line
        mark = yaml.Mark(mark.name, mark.index, mark.line + 1 + text.count("\n", 0,
                         found.start()), 0, None, None)
    return mark, (f"control character U+{ord(found.group()):04X} in a value "
                  f"({shown(text[max(0, found.start() - 20):found.end() + 20])}): not "
                  "allowed, it makes feeds invalid XML")


def _duplicate_key(node: yaml.MappingNode) -> yaml.ScalarNode | None:
    seen: set[tuple[str, str]] = set()
    for key, _value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if (key.tag, key.value) in seen:
                return key
            seen.add((key.tag, key.value))
    return None


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, MAX_SHOWN, MAX_SHOWN, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = _SHORT.maxfrozenset = 5


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to about `MAX_SHOWN` characters, without
    ever making the whole repr (a number of 5,000 digits, a list of a million values)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    text = _SHORT.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def shown_text(text: str) -> str:
    """Text to quote inside a message's own quotes, cut to about `MAX_SHOWN` characters."""
    text = CONTROL_RE.sub("?", text)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
