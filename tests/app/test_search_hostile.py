"""/search never fails on hostile input: every string of tests/data/hostile_queries.json, as the
query and (for a sample) as the site, sort and page parameters, gets a page — results, or a
400/404 that says in words what was wrong — never a server error, a traceback or live markup.

Each search test walks its list on one app and reports every offending string at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup

QUERIES: list[str] = json.loads((Path(__file__).parents[1] / "data" / "hostile_queries.json").read_text(encoding="utf-8"))
SAMPLE = QUERIES[::7]
# Parsing ~900 pages would take longer than the searches, so the checks read the HTML text
# and parse a page only when a quick look finds something suspicious.
OWN_SCRIPT = re.compile(r'<script (?:type="module" )?src="/static/js/[\w.-]+"></script>')
LIVE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=", re.I)
ERROR_MESSAGE = re.compile(r'<p id="error-message">([^<]+)</p>')


def _event_handlers(html: str) -> set[str]:
    return {name for tag in BeautifulSoup(html, "html.parser").find_all(True) for name in tag.attrs if name.lower().startswith("on")}


def _problem(client, url: str) -> str | None:
    """What is wrong with the answer to ``url`` (following one redirect), or ``None``."""
    try:
        response = client.get(url)
        if response.status_code == 302:
            location = response.headers["Location"]
            if not location.startswith("/search"):
                return f"redirects away, to {location}"
            response = client.get(location)
    except Exception as error:  # noqa: BLE001 - the test's whole point is that nothing raises
        return f"raised {error!r}"
    html = response.get_data(as_text=True)
    status = response.status_code
    if status >= 500 or status not in (200, 400, 404):
        return f"answered {status}"
    if "Traceback" in html or 'File "' in html:
        return "shows a traceback"
    if html.count("<script") != len(OWN_SCRIPT.findall(html)):
        return "contains a script the page did not put there"
    if LIVE_ATTRIBUTE.search(html) and _event_handlers(html):  # the quick look can be fooled by attribute values
        return f"contains event-handler attributes {_event_handlers(html)}"
    message = ERROR_MESSAGE.search(html)
    if status == 400 and not (message and len(message.group(1)) >= 20):
        return "refuses without saying why"
    if status == 404 and "There is no page" not in html:
        return "is a 404 without the reason"
    if status == 200 and 'id="result-count"' not in html:
        return "is not a results page"
    return None


def _problems(client, urls: dict[str, str]) -> dict[str, str]:
    found = {}
    for label, url in urls.items():
        problem = _problem(client, url)
        if problem:
            found[label] = problem
    return found


def test_the_list_is_long_and_varied():
    assert len(QUERIES) >= 300 and len(set(QUERIES)) == len(QUERIES)
    assert any("<script" in q for q in QUERIES) and any(len(q) > 400 for q in QUERIES) and any("\x00" in q or "\u202e" in q for q in QUERIES)


class _Answer:
    def __init__(self, status: int, html: str):
        self.status_code, self.headers, self._html = status, {}, html

    def get_data(self, as_text: bool = False) -> str:
        return self._html


class _Stub:
    """A client that always gives the same answer, to show that each check can fail."""

    def __init__(self, status: int, html: str):
        self.answer = _Answer(status, html)

    def get(self, url: str) -> _Answer:
        return self.answer


RESULTS = '<p id="result-count">1 entry</p>'


@pytest.mark.parametrize("status, html, problem", [
    (500, "Sorry", "answered 500"),
    (200, RESULTS + 'Traceback (most recent call last): File "x.py"', "shows a traceback"),
    (200, RESULTS + "<script>alert(1)</script>", "contains a script the page did not put there"),
    (200, RESULTS + '<img src=x onerror="alert(1)">', "contains event-handler attributes {'onerror'}"),
    (400, '<p id="error-message"></p>', "refuses without saying why"),
    (404, "Page not found", "is a 404 without the reason"),
    (200, "<p>Hello</p>", "is not a results page"),
])
def test_the_checks_catch_what_they_look_for(status, html, problem):
    assert _problem(_Stub(status, html), "/search") == problem
    assert _problem(_Stub(200, RESULTS + '<input value="&lt;img onerror=alert(1)&gt;">'), "/search") is None


def test_every_hostile_query_gets_a_page_not_an_error(content_client):
    urls = {repr(q): "/search?" + urlencode({"q": q}) for q in QUERIES}
    assert _problems(content_client, urls) == {}


@pytest.mark.parametrize("name", ["site", "sort", "page"])
def test_hostile_parameter_values_are_refused_politely(content_client, name):
    urls = {repr(q): "/search?" + urlencode({"q": "care", name: q}) for q in SAMPLE}
    assert _problems(content_client, urls) == {}


def test_hostile_queries_combined_with_filters_and_later_pages(content_client):
    urls = {repr(q): "/search?" + urlencode({"q": q, "type": "evidence", "sort": "title", "page": "2"}) for q in SAMPLE}
    assert _problems(content_client, urls) == {}
