"""Read content files into data plus a way to find the line each value came from.

python-frontmatter does not report line numbers, and authors need ``path:line:`` in every error,
so files are split here and the YAML is parsed with PyYAML into nodes (which carry their
positions) and then into Python values by a stricter safe loader (:class:`_Loader`).

Every way a file can be wrong becomes a :class:`ContentFileError` with a line — never another
exception: a value that its tag or its shape cannot be (``!!int 'abc'``, ``2015-02-30``,
``2015-01-01 25:00:00``), a key given twice, anchors and merge keys, a file outside the folder
being imported (a symlink to ``/etc/passwd``), anything but a regular file, and a file over
:data:`MAX_FILE_BYTES` (checked before a byte is read).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb import textcheck

MAX_FILE_BYTES = 1_000_000
# Characters that kb.textcheck may refuse in multi-line text: controls but tab and line breaks
# (category Cc), and surrogates (Cs). Text without any of them is certainly acceptable.
_REFUSABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
FENCE = "---"


class ContentFileError(Exception):
    """A file cannot be read at all. ``line`` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class ParsedYaml:
    """YAML values and the node tree they came from; ``first_line`` is the file line of YAML line 1."""

    data: Any
    node: yaml.Node | None
    first_line: int

    def line_for(self, loc: tuple[Any, ...]) -> int:
        """The file line of the value at ``loc`` (keys and list indexes), or of its nearest parent."""
        node = self.node
        line = node.start_mark.line if node is not None else 0
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == key), None)
                if match is None:
                    break
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                break
            line = node.start_mark.line
        return self.first_line + line

    def lines(self) -> LineMap:
        """The file line of every value, detached from the node tree (small, and picklable: what a
        worker process sends back instead of the nodes, which hold the whole text)."""
        found: dict[tuple[Any, ...], int] = {}

        def walk(node: yaml.Node, loc: tuple[Any, ...]) -> None:
            found[loc] = self.first_line + node.start_mark.line
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and (*loc, key.value) not in found:
                        walk(value, (*loc, key.value))
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    walk(item, (*loc, index))

        if self.node is None:
            found[()] = self.first_line
        else:
            walk(self.node, ())
        return LineMap(found)


@dataclass
class LineMap:
    """:meth:`ParsedYaml.line_for` without the nodes: the line of every value by its ``loc``."""

    found: dict[tuple[Any, ...], int]

    def line_for(self, loc: tuple[Any, ...]) -> int:
        """The file line of the value at ``loc``, or of its nearest parent (as :meth:`ParsedYaml.line_for`)."""
        for end in range(len(loc), -1, -1):
            line = self.found.get(tuple(loc[:end]))
            if line is not None:
                return line
        return self.found[()]


@dataclass
class ContentFile:
    """A Markdown content file: front matter (with positions) and body."""

    front: ParsedYaml
    body: str


def _open_inside(path: Path, root: Path | None) -> int:
    """Open ``path`` for reading, refusing what lies outside ``root`` or is not a regular file.

    The path is resolved first (following every symlink) and the resolved file is opened with
    ``O_NOFOLLOW``, so what is checked is what is read. ``O_NONBLOCK`` keeps a FIFO from hanging
    the import; it is refused a moment later as not a regular file.
    """
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link, a loop of links
        raise ContentFileError(1, "cannot be read: it is a broken or looping symbolic link") from None
    if root is not None and not resolved.is_relative_to(root.resolve()):
        raise ContentFileError(1, f"resolves to {resolved}, outside {root}: refused (content files must "
                                  f"live inside the folder being imported)")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(resolved, flags)
    except OSError as exc:
        raise ContentFileError(1, f"cannot be read: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ContentFileError(1, "is not a regular file: refused")
    if info.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise ContentFileError(1, f"file is larger than {MAX_FILE_BYTES:,} bytes")
    return fd


def read_text(path: Path, root: Path | None = None) -> str:
    """Read a content file as text with ``\\n`` line ends.

    Refused before anything is read: a path resolving outside ``root`` (when given), anything
    but a regular file, and a file over :data:`MAX_FILE_BYTES`. Refused after: non-UTF-8 text
    and NUL bytes.

    :raise ContentFileError: saying why, with the line where it applies.
    """
    with os.fdopen(_open_inside(Path(path), root), "rb") as file:
        raw = file.read(MAX_FILE_BYTES + 1)  # the file may have grown since it was measured
    if len(raw) > MAX_FILE_BYTES:
        raise ContentFileError(1, f"file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentFileError(line, "file is not valid UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # The one rule for typed text (kb.textcheck); its own pre-check counts every line break as
    # suspect, so files, which are all line breaks, are first searched for what can be refused.
    if _REFUSABLE.search(text) and (bad := textcheck.disallowed(text, multiline=True)):
        line = text[: text.index(bad[0])].count("\n") + 1
        raise ContentFileError(line, f"file contains the control character U+{ord(bad[0]):04X}; remove it")
    return text


def _reject_aliases(node: yaml.Node, seen: set[int]) -> None:
    # Anchors and aliases let a few lines expand into gigabytes ("billion laughs"); content
    # files never need them.
    if id(node) in seen:
        raise ContentFileError(node.start_mark.line + 1, "YAML anchors and aliases (&, *) are not allowed")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _reject_aliases(key, seen)
            _reject_aliases(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_aliases(item, seen)


# What a scalar with each tag was meant to be, for messages about values that cannot be it.
_KINDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:timestamp": "a valid date",
}
_MERGE = "tag:yaml.org,2002:merge"
# Plain data only. ``!!set`` (unordered, so export would not be repeatable), ``!!omap``,
# ``!!pairs`` and ``!!binary`` have no place in a content file.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, made strict. Line numbers here are 0-based YAML lines.

    * A scalar that cannot be what its tag (explicit, or implied by its look) says — int('abc'),
      a 30th of February, a 25th hour, ``!!bool maybe`` — raises :class:`_Refused` instead of
      whatever Python error the constructor happened to hit.
    * A key given twice in one mapping is an error (PyYAML keeps the last silently).
    * Merge keys (``<<``) are refused: they exist to repeat things, and quietly override keys.
    * Only the tags of plain data are accepted (:data:`_PLAIN_TAGS`).
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _Refused(node, f"invalid YAML: the tag {_shown(tag)[1:-1]} is not allowed in content files",
                           name_field=False)
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            if not isinstance(node, yaml.ScalarNode):
                raise
            raise _Refused(node, _bad_value(node, exc)) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                raise _Refused(key_node, "YAML merge keys (<<) are not allowed")
            key = self.construct_object(key_node, deep=deep)
            try:
                earlier = first_seen.get(key)
            except TypeError:  # unhashable: PyYAML reports it below
                continue
            if earlier is not None:
                raise _Refused(key_node, f"duplicate key {_shown(key)}", earlier)
            first_seen[key] = key_node.start_mark.line
        try:
            return super().construct_mapping(node, deep=deep)
        except _Refused as exc:
            # Name the field whose value is wrong, as schema errors do ("published: …").
            key_node = next((k for k, v in node.value if v is exc.node), None)
            if key_node is not None and isinstance(key_node, yaml.ScalarNode) and exc.name_field:
                exc.message = f"{key_node.value}: {exc.message}"
            raise


class _Refused(Exception):
    """Raised inside :class:`_Loader`: ``message`` about ``node``, and for a key given twice the
    0-based YAML line (``earlier``) where it was first given."""

    def __init__(self, node: yaml.Node, message: str, earlier: int | None = None, *, name_field: bool = True):
        super().__init__(message)
        self.node = node
        self.message = message
        self.earlier = earlier
        self.name_field = name_field  # prefix the message with the key whose value this is

    def in_file(self, first_line: int) -> ContentFileError:
        message = self.message
        if self.earlier is not None:
            message += f": it is already given on line {first_line + self.earlier}"
        return ContentFileError(first_line + self.node.start_mark.line, message)


def _shown(value: Any) -> str:
    """``value`` quoted for a message, cut short: a message must not repeat a megabyte of input."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "…"


def _bad_value(node: yaml.ScalarNode, cause: Exception) -> str:
    message = f"{_shown(node.value)} is not {_KINDS.get(node.tag, 'a valid ' + node.tag.rsplit(':', 1)[-1])}"
    if node.tag.endswith(":timestamp"):
        reason = str(cause)
        # datetime's own words name the part that is out of range ("day is out of range for month").
        known = reason.startswith(("day ", "month ", "year ", "hour ", "minute ", "second "))
        message += f" ({reason})" if known else " (write dates as YYYY-MM-DD)"
    return message


# How deeply YAML may nest before only the pure-Python parser is trusted with it (see _parser_for).
C_PARSER_MAX_NESTING = 1_000


def _parser_for(text: str) -> type:
    """libyaml's parser (about 5 times faster) when the text cannot nest deeply, else PyYAML's own.

    libyaml composes nested nodes by recursion on the C stack, and crashes the process (SIGSEGV)
    somewhere past 10,000 levels, where the pure-Python parser raises RecursionError, which is
    reported as a line. Every level of nesting needs one of ``[ { - : ?``, so counting them bounds
    the depth; ordinary front matter is far below the bound. Both parsers give the same nodes
    and marks, and :class:`_Loader` builds the values from the nodes either way.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return yaml.SafeLoader
    if sum(text.count(c) for c in "[{-:?") > C_PARSER_MAX_NESTING:
        return yaml.SafeLoader
    return yaml.CSafeLoader


def parse_yaml(text: str, first_line: int = 1) -> ParsedYaml:
    """Parse one YAML document safely and strictly (see :class:`_Loader`).

    :raise ContentFileError: for anything that is not plain data, with the file line.
    """
    parser = _parser_for(text)
    if parser is yaml.SafeLoader:
        return _parse_yaml(text, first_line, parser)
    try:
        return _parse_yaml(text, first_line, parser)
    except ContentFileError:
        # libyaml places some errors a line off, and words them differently: a file that is
        # refused is parsed again by PyYAML, so that every message is the same either way.
        return _parse_yaml(text, first_line, yaml.SafeLoader)


def _parse_yaml(text: str, first_line: int, parser: type) -> ParsedYaml:
    try:
        node = yaml.compose(text, Loader=parser)
        if node is None:
            return ParsedYaml(data=None, node=None, first_line=first_line)
        for event in yaml.parse(text, Loader=parser):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ContentFileError(
                    first_line + event.start_mark.line,
                    "YAML anchors and aliases (&, *) are not allowed",
                )
        _reject_aliases(node, set())
        loader = _Loader("")
        try:
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except _Refused as exc:
        raise exc.in_file(first_line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ContentFileError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ContentFileError(first_line, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ContentFileError(first_line, "invalid YAML: nested too deeply") from None
    return ParsedYaml(data=data, node=node, first_line=first_line)


def split(text: str) -> ContentFile:
    """Split ``---`` front matter from the Markdown body.

    :raise ContentFileError: if the file does not start with a front-matter block.
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise ContentFileError(1, "file must start with a '---' line opening the front matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            front = parse_yaml("\n".join(lines[1:index]), first_line=2)
            body = "\n".join(lines[index + 1 :]).strip("\n").rstrip()
            return ContentFile(front=front, body=body)
    raise ContentFileError(1, "front matter is not closed by a '---' line")
