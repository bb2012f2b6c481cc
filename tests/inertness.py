"""A browser-like check that rendered HTML can run nothing.

Uses the standard library's HTML tokenizer to look at every start tag and attribute the way a
browser would, rather than searching for strings (which encoded payloads slip past).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from kb.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "lowsrc", "dynsrc", "xlink:href", "data"}
# As the WHATWG URL parser reads an attribute: trim C0 controls and spaces at the ends, drop
# tabs and newlines anywhere, then a scheme is a letter followed by letters, digits, + - .
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel", "class"}
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            elif name not in allowed:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                url = re.sub(r"[\t\n\r]", "", value.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
                scheme = _SCHEME.match(url)
                if scheme and scheme.group(1).lower() not in SAFE_SCHEMES:
                    self.problems.append(f"unsafe URL {value!r} in {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")

    handle_startendtag = handle_starttag


def problems_in(fragment: str) -> list[str]:
    """Everything in ``fragment`` that could run script, load a frame or restyle the page."""
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector.problems


def load_payloads(path) -> list[str]:  # noqa: ANN001
    """Payload lines from a file; ``#`` lines are comments, ``\\n`` and ``\\x00`` are escapes."""
    payloads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        payloads.append(line.replace("\\n", "\n").replace("\\x00", "\x00").replace("\\x20", " "))
    return payloads
