"""The one Markdown render function: features authors need, and nothing hostile gets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.markdown import EXTERNAL_REL, render, sanitise, to_plain_text
from tests.inertness import load_payloads, problems_in

PAYLOADS = load_payloads(Path(__file__).parent.parent / "data" / "xss_payloads.txt")
INTERNAL = frozenset({"kb.test"})


def test_payload_set_is_broad():
    assert len(PAYLOADS) >= 100


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_input_renders_inert(payload):
    html = render(payload, INTERNAL)
    assert problems_in(html) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitising_rendered_output_again_changes_nothing(payload):
    html = render(payload, INTERNAL)
    assert sanitise(html, INTERNAL) == html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_html_given_directly_to_sanitise_is_inert(payload):
    assert problems_in(sanitise(payload, INTERNAL)) == []


def test_script_content_is_dropped_not_shown_as_text():
    html = render("Before <script>alert('gone')</script> after")
    assert "alert" not in html
    assert "Before" in html and "after" in html


def test_javascript_link_loses_its_href_but_keeps_its_text():
    html = render("[click me](javascript:alert(1))")
    assert "click me" in html
    assert "javascript" not in html.lower()


def test_external_links_get_nofollow_noopener():
    html = render("[NHS England](https://www.england.nhs.uk/)", INTERNAL)
    assert f'<a href="https://www.england.nhs.uk/" rel="{EXTERNAL_REL}">NHS England</a>' in html


def test_protocol_relative_links_count_as_external():
    assert f'rel="{EXTERNAL_REL}"' in render("[x](//evil.example/)", INTERNAL)


@pytest.mark.parametrize("href", ["/entries/sheffield-pooled-budget", "#sources", "http://kb.test/sites/", "mailto:team@example.nhs.uk"])
def test_links_within_the_site_and_mail_links_get_no_rel(href):
    html = render(f"[x]({href})", INTERNAL)
    assert "rel=" not in html
    assert f'href="{href}"' in html


def test_author_supplied_rel_and_target_are_removed():
    html = render('<a href="https://example.org" rel="opener" target="_blank">x</a>', INTERNAL)
    assert "opener\"" not in html.replace(EXTERNAL_REL, "")
    assert "target" not in html
    assert html.count("rel=") == 1


def test_tables_render_with_alignment():
    html = render("| Measure | Value |\n|:--|--:|\n| Admissions | -34% |")
    assert "<table>" in html
    assert '<td align="right">-34%</td>' in html


def test_footnotes_render_with_back_links():
    html = render("Claim.[^1]\n\n[^1]: Self-reported by the trust.")
    assert '<sup id="fnref:1"><a href="#fn:1">1</a></sup>' in html
    assert '<div class="footnote">' in html
    assert 'href="#fnref:1"' in html


def test_headings_get_ids_and_start_below_the_page_title():
    html = render("# What they did\n\n## Results")
    assert '<h2 id="what-they-did">What they did</h2>' in html
    assert '<h3 id="results">Results</h3>' in html
    assert "<h1" not in render("<h1>Second title</h1>")


def test_fenced_code_is_shown_as_code_and_escaped():
    html = render("```\n<b>not bold</b>\n```")
    assert "<pre><code>&lt;b&gt;not bold&lt;/b&gt;\n</code></pre>" in html


def test_author_classes_and_styles_are_removed():
    html = render('<p class="nhsuk-header" style="color:red">x</p><div class="footnote other">y</div>')
    assert "nhsuk-header" not in html and "style" not in html
    assert '<div class="footnote">' in html


def test_odd_ids_are_removed_but_ordinary_ones_kept():
    assert "id=" not in render('<h2 id="a&quot;b c">x</h2>')
    assert 'id="section-2"' in render('<h2 id="section-2">x</h2>')


def test_plain_text_strips_markup_and_scripts():
    text = to_plain_text("## Result\n\n**Admissions** fell by [34%](https://x.example). <script>bad()</script>")
    assert text == "Result Admissions fell by 34%."


def test_empty_and_none_render_to_empty_string():
    assert render("") == ""
    assert render(None) == ""  # type: ignore[arg-type]
