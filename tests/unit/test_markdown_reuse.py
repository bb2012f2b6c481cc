"""kb.markdown keeps one converter per thread and resets it between documents, and makes plain
text with cmark-gfm unless a "[TOC]" marker asks for Python-Markdown's toc. Neither may change a
single character of what a fresh Python-Markdown converter with every extension makes — over
every entry in content/, 300 entries of the bench corpus, and documents written to leave state
behind (footnotes, heading ids, a table of contents) converted one after another. The XSS
payloads render exactly as fresh; their plain text (where the two dialects part) stays text."""

from __future__ import annotations

import html
import itertools
import threading
from pathlib import Path

import markdown as python_markdown
import nh3

from bench import corpus as bench_corpus
from kb import markdown
from kb.config import PROJECT_ROOT

PAYLOADS = (Path(__file__).parents[1] / "data" / "xss_payloads.txt").read_text(encoding="utf-8").split("\n\n")
STATEFUL = [
    "# Intro\n\nA claim.[^1]\n\n[^1]: The footnote of the first document.\n",
    "# Intro\n\nNo footnotes here, and the same heading: its id must not become intro_1.\n",
    "[TOC]\n\n## One\n\ntext\n\n## Two\n\nmore text\n",
    "Just a paragraph mentioning [TOC] inline, and a heading after.\n\n## Later\n",
    "Second footnote document.[^a]\n\n[^a]: Another note.\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n",
]


def _files() -> list[str]:
    files = [path.read_text(encoding="utf-8") for path in sorted((PROJECT_ROOT / "content" / "entries").rglob("*.md"))]
    assert len(files) >= 40
    return files


def _documents() -> list[str]:
    return STATEFUL + _files() + PAYLOADS + STATEFUL


def _fresh() -> python_markdown.Markdown:
    return python_markdown.Markdown(
        extensions=["tables", "footnotes", "fenced_code", "toc", "sane_lists"],
        extension_configs={"toc": {"baselevel": 2, "permalink": False}, "tables": {"use_align_attribute": True}},
        output_format="html",
    )


def _fresh_plain_text(text: str) -> str:
    fragment = nh3.clean(_fresh().convert(text), tags=set(), clean_content_tags={"script", "style"})
    return " ".join(html.unescape(fragment).split())


def test_reused_converters_render_exactly_what_fresh_ones_do():
    for text in _documents():
        assert markdown.render(text) == markdown.sanitise(_fresh().convert(text)), text[:200]


def test_plain_text_is_exactly_python_markdowns_for_every_entry_and_stateful_document():
    corpus = [entry["body"] for entry in itertools.islice(bench_corpus.generate(300), 300)]
    # Bodies as an import converts them: what follows the front matter's closing "---".
    bodies = [text.split("\n---\n", 1)[1] for text in _files()]
    documents = STATEFUL + bodies + corpus + STATEFUL
    assert sum("|---" in text or "|:--" in text for text in documents) >= 100  # tables are exercised
    for text in documents:
        assert markdown.to_plain_text(text) == _fresh_plain_text(text), text[:200]


def test_plain_text_of_hostile_markup_is_text_without_scripts_or_raw_html():
    for payload in PAYLOADS:
        text = markdown.to_plain_text(payload)
        assert isinstance(text, str)
        # What nh3 finds in it once more is only text: no element, no attribute survives.
        assert nh3.clean(text, tags=set()) == nh3.clean(nh3.clean(text, tags=set()), tags=set())
    assert markdown.to_plain_text("<script>steal()</script>Hello <b onclick=x()>there</b>") == "Hello there"
    assert markdown.to_plain_text("<div>\n<style>p{}</style>\n</div>\n\nSafe") == "Safe"


def test_each_thread_has_its_own_converter():
    seen = []
    together = threading.Barrier(4)

    def convert() -> None:
        together.wait(timeout=30)  # all four alive at once
        seen.append(markdown._converter())
        assert markdown.to_plain_text("Hello *there*") == "Hello there"
        together.wait(timeout=30)

    threads = [threading.Thread(target=convert) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(converter) for converter in seen}) == 4
