"""Read content files into data plus a way to find the line each value came from.

python-frontmatter does not report line numbers, and authors need ``path:line:`` in every error,
so files are split here and the YAML is parsed twice with PyYAML: once into nodes (which carry
their positions) and once into Python values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1_000_000
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


@dataclass
class ContentFile:
    """A Markdown content file: front matter (with positions) and body."""

    front: ParsedYaml
    body: str


def read_text(path: Path) -> str:
    """Read a content file as text with ``\\n`` line ends; refuse huge or non-UTF-8 files."""
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise ContentFileError(1, f"file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentFileError(line, "file is not valid UTF-8") from None
    if "\x00" in text:
        raise ContentFileError(text[: text.index("\x00")].count("\n") + 1, "file contains a NUL byte")
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def parse_yaml(text: str, first_line: int = 1) -> ParsedYaml:
    """Parse one YAML document safely. Errors carry file line numbers."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    raise ContentFileError(
                        first_line + event.start_mark.line,
                        "YAML anchors and aliases (&, *) are not allowed",
                    )
            _reject_aliases(node, set())
        data = yaml.safe_load(text)
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
