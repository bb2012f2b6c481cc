"""The one Markdown render function, and plain text for indexing.

Every piece of Markdown the site shows — entry bodies, site profiles, previews — goes through
:func:`render`. Python-Markdown turns it into HTML (raw HTML passes straight through it), then
nh3 (the Rust ``ammonia`` sanitiser) keeps only an allow-list of tags, attributes and URL
schemes. Nothing else in the application may mark user text as safe.
"""

from __future__ import annotations

import html
import re
import threading
from urllib.parse import urlsplit

import cmarkgfm
import markdown as python_markdown
import nh3
from cmarkgfm.cmark import Options as CmarkOptions

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
        "em", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
        "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "li": {"id"},
    "sup": {"id"},
    "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
}
# Only the classes Python-Markdown's footnotes produce; authors cannot borrow page styles.
ALLOWED_CLASSES = {"div": {"footnote"}}
# Tags removed together with everything inside them (the rest are unwrapped, keeping text).
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "svg", "math", "iframe", "object", "embed", "noscript",
     "textarea", "select", "title", "xmp", "noembed", "noframes", "plaintext"}
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_REL = "nofollow noopener"

# ids are kept only if they look like the ones Markdown generates, so that author HTML cannot
# create ids such as "maincontent" with odd characters meant to confuse scripts or selectors.
_SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]{0,79}$")
_ATTR_VALUES = {"align": {"left", "right", "center"}, "scope": {"col", "row", "colgroup", "rowgroup"}}
# nh3's serialiser always double-quotes attribute values and escapes '"' inside them, so an
# anchor's attributes can be matched exactly.
_ANCHOR = re.compile(r'<a((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*>')
_HREF = re.compile(r'\shref="([^"]*)"')
_TOC_MARKER = "[TOC]"  # Python-Markdown toc's default marker
# Raw HTML is kept, as Python-Markdown keeps it, for nh3 to remove with its tags (GitHub's
# tagfilter would turn <script> into text instead); footnotes and tables as the site's extensions
# make them, and none of GitHub's other extensions (strikethrough, bare-URL links, task lists).
_CMARK_OPTIONS = CmarkOptions.CMARK_OPT_UNSAFE | CmarkOptions.CMARK_OPT_FOOTNOTES
_CMARK_EXTENSIONS = ("table",)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "id":
        return value if _SAFE_ID.match(value) else None
    if attribute in _ATTR_VALUES:
        return value if value in _ATTR_VALUES[attribute] else None
    if attribute in {"width", "height", "colspan", "rowspan", "start"}:
        return value if value.isdigit() and len(value) <= 4 else None
    return value


def _is_external(href: str, internal_hosts: frozenset[str]) -> bool:
    href = html.unescape(href)
    if not (href.startswith("//") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", href)):
        return False  # relative to this site
    parts = urlsplit(href)
    if parts.scheme == "mailto":
        return False
    return (parts.hostname or "") not in internal_hosts


def _mark_external_links(fragment: str, internal_hosts: frozenset[str]) -> str:
    def add_rel(match: re.Match[str]) -> str:
        attributes = match.group(1)
        href = _HREF.search(attributes)
        if href and _is_external(href.group(1), internal_hosts):
            return f'<a{attributes} rel="{EXTERNAL_REL}">'
        return match.group(0)

    return _ANCHOR.sub(add_rel, fragment)


def sanitise(fragment: str, internal_hosts: frozenset[str] = frozenset()) -> str:
    """Reduce an HTML fragment to the allow-list, and mark links to other sites.

    Links whose host is not in ``internal_hosts`` get ``rel="nofollow noopener"``. The result
    is a fixed point: ``sanitise(sanitise(x)) == sanitise(x)``.
    """
    cleaned = _clean(fragment)
    # Removing a tag can leave markup that parses differently the second time (a <p> inside a
    # <p> once an <applet> between them is gone), so clean until the output stops changing.
    for _ in range(3):
        again = _clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return _mark_external_links(cleaned, internal_hosts)


def _clean(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(classes) for tag, classes in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_filter_attribute,
        link_rel=None,
        strip_comments=True,
        clean_content_tags=set(DROPPED_WITH_CONTENT),
    )


_EXTENSIONS = ["tables", "footnotes", "fenced_code", "toc", "sane_lists"]
_EXTENSION_CONFIGS = {
    # The page title is the only <h1>; an author's "# Heading" becomes an <h2>.
    "toc": {"baselevel": 2, "permalink": False},
    "tables": {"use_align_attribute": True},
}
_converters = threading.local()


def _converter(toc: bool = True) -> python_markdown.Markdown:
    """This thread's converter (with or without ``toc``), reset for a new document.

    Building a converter is a sixth of converting a typical body, so each thread keeps one of
    each kind; :meth:`~markdown.Markdown.reset` clears everything a run leaves behind
    (footnotes, the table of contents), as Python-Markdown documents for reusing an instance.
    Threads never share one: a converter holds its document's state while it runs.
    """
    key = "toc" if toc else "plain"
    converter = getattr(_converters, key, None)
    if converter is None:
        converter = python_markdown.Markdown(
            extensions=[name for name in _EXTENSIONS if toc or name != "toc"],
            extension_configs=_EXTENSION_CONFIGS if toc else {k: v for k, v in _EXTENSION_CONFIGS.items() if k != "toc"},
            output_format="html",
        )
        setattr(_converters, key, converter)
    return converter.reset()


def render(text: str, internal_hosts: frozenset[str] = frozenset()) -> str:
    """Render Markdown to sanitised HTML, safe to insert into a page as it is.

    :param text: Markdown from anyone, hostile or not; raw HTML in it is allowed but sanitised.
    :param internal_hosts: host names of this site; links elsewhere are marked ``nofollow``.
    :return: an HTML fragment containing only allow-listed tags, attributes and URL schemes.
    """
    return sanitise(_converter().convert(text or ""), internal_hosts)


def to_plain_text(text: str) -> str:
    """Return the words of a Markdown document with all markup removed (for search and summaries).

    The text is what search indexes (``Entry.body_text``) and quotes in snippets, never HTML:
    every tag is gone and the result is escaped wherever it is shown.
    """
    text = text or ""
    if _TOC_MARKER in text:
        # Only Python-Markdown's toc extension turns the marker into the list of headings the
        # page shows; the toc extension costs a tenth of a conversion, so only here.
        fragment = _converter(toc=True).convert(text)
    else:
        # GitHub's cmark-gfm (C) makes the same text as Python-Markdown for every body in
        # content/ and the bench corpus (tests/unit/test_markdown_reuse.py) in a seventh of the
        # time, and this conversion was most of an import's work (docs/benchmarks.md). Where
        # the two dialects differ (raw HTML blocks, a list with no blank line before it) the
        # words differ little, and the page itself is always Python-Markdown's (:func:`render`).
        fragment = cmarkgfm.markdown_to_html_with_extensions(text, _CMARK_OPTIONS, _CMARK_EXTENSIONS)
    fragment = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
    return " ".join(html.unescape(fragment).split())
