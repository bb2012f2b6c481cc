"""The pages a UK public-sector service must have — accessibility statement, privacy notice,
cookies, contact and feedback — and "How we rate evidence": their content from the real app,
the phase banner and footer links on every page, and the feedback form's behaviour."""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime, timezone
from email import message_from_bytes, policy
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import ForeignKey

from kb.extensions import db
from kb.mail import MemorySender, _email
from kb.models import EvidenceDesign, Provenance
from kb.services import feedback
from kb.services.errors import BadRequest
from kb.views.evidence_display import STRENGTH_LEVELS
from kb.views.pages import TOO_MUCH_FEEDBACK
from tests.pages import get_page, main_text, text_of

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FOOTER_LINKS = {
    "/accessibility": "Accessibility statement",
    "/privacy": "Privacy",
    "/cookies": "Cookies",
    "/feedback": "Contact and feedback",
    "/how-we-rate-evidence": "How we rate evidence",
}
TEAM = "Network team <team@pioneers.example.org>"
CRAWL_PAGES = 120


# --- helpers ------------------------------------------------------------------------------------


def _outbox(app) -> list:
    return app.extensions["kb.mail"].outbox


def _csrf(client, path: str = "/feedback") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _send(client, **fields):
    data = {"csrf_token": _csrf(client), "doing": "Searching for data sharing evidence",
            "problem": "The filters were hard to find on my phone", "email": ""}
    data.update(fields)
    return client.post("/feedback", data=data)


def _headings(page: BeautifulSoup) -> list[str]:
    return [text_of(h) for h in page.find("main").find_all(["h1", "h2", "h3"])]


def _error_summary(page: BeautifulSoup) -> dict[str, str]:
    """The error summary's links: target id → message."""
    summary = page.find(class_="nhsuk-error-summary")
    assert summary is not None, "no error summary"
    return {a["href"].lstrip("#"): text_of(a) for a in summary.find_all("a")}


def _public_crawl(client, limit: int) -> dict[str, BeautifulSoup]:
    """Up to ``limit`` HTML pages reachable from the home page by links, parsed."""
    pages: dict[str, BeautifulSoup] = {}
    queue, seen = deque(["/"]), {"/"}
    while queue and len(pages) < limit:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = pages[url] = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        for anchor in page.find_all("a", href=True):
            parts = urlsplit(urljoin(url, anchor["href"]))
            if parts.netloc in ("", "localhost") and parts.path.startswith("/") and not parts.path.startswith(
                    ("/feeds/", "/nhsuk/", "/static/")):
                link = parts.path + (f"?{parts.query}" if parts.query else "")
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    return pages


# --- the pages' content -------------------------------------------------------------------------


def test_accessibility_statement_has_the_sections_the_regulations_ask_for(client):
    page = get_page(client, "/accessibility")
    headings = _headings(page)
    for heading in ("Accessibility statement for the Pioneer Knowledge Base", "Using this website",
                    "How accessible this website is", "What to do if you cannot access parts of this website",
                    "Reporting accessibility problems with this website", "Enforcement procedure",
                    "Technical information about this website’s accessibility", "Compliance status",
                    "Non-accessible content", "How we tested this website",
                    "Preparation of this accessibility statement"):
        assert heading in headings
    text = main_text(page)
    assert "Public Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018" in text
    assert "partially compliant with the Web Content Accessibility Guidelines version 2.2 AA standard" in text_of(
        page.find(id="compliance-status"))
    assert "Equality and Human Rights Commission (EHRC)" in text
    assert "Equality Commission for Northern Ireland (ECNI)" in text
    tested = text_of(page.find(id="tested-pages"))
    assert "375 pixels" in tested and "1,280 pixels" in tested and "home page" in tested
    assert "axe-core" in text and "JavaScript switched off" in text and "keyboard" in text
    assert re.search(r"prepared on \d{1,2} [A-Z][a-z]+ 20\d\d\. It was last reviewed on \d{1,2} [A-Z][a-z]+ 20\d\d",
                     text_of(page.find(id="statement-dates")))
    assert page.find("a", href="/feedback") is not None


def test_cookies_page_names_the_session_cookie_the_app_really_sets(app, client):
    app.config["SESSION_COOKIE_NAME"] = "kb_session_under_test"
    page = get_page(client, "/cookies")
    assert text_of(page.find(id="session-cookie-name")) == "kb_session_under_test"
    assert len(page.find(id="cookie-table").find("tbody").find_all("tr")) == 1
    assert "We do not use analytics, advertising or any other tracking cookies" in main_text(page)
    assert f"never lasts more than {app.config['KB_SESSION_DAYS']} days" in main_text(page)
    # A page with a form sets it (its CSRF code lives in it), under the name the page gives.
    set_cookie = client.get("/feedback").headers.getlist("Set-Cookie")
    assert [header.split("=", 1)[0] for header in set_cookie] == ["kb_session_under_test"]
    assert "HttpOnly" in set_cookie[0] and "SameSite=Lax" in set_cookie[0] and "Expires" not in set_cookie[0]


def test_reading_and_searching_set_no_cookie_as_the_cookies_page_says(content_client):
    for path in ("/", "/entries/sheffield-pooled-budget", "/search?q=care+navigator", "/themes/data-sharing",
                 "/sites/sheffield", "/glossary", *[p for p in FOOTER_LINKS if p != "/feedback"]):
        response = content_client.get(path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Set-Cookie") == [], path


# Each table that holds something about a person (a column referring to an account), and the row
# of the privacy notice's table that covers it. A new such table fails this test until the
# notice says what it keeps.
NOTICE_ROWS = {
    "user": "keep-account", "membership": "keep-account", "user_session": "keep-sessions",
    "audit_event": "keep-audit", "revision": "keep-revisions", "entry": "keep-revisions", "subscription": "keep-subscriptions",
    "digest_delivery": "keep-digests", "feed_token": "keep-feed-key",
}


def test_privacy_notice_covers_every_table_that_holds_something_about_a_person(client):
    holding_people = {"user"} | {
        table.name for table in db.metadata.tables.values()
        if any(isinstance(fk, ForeignKey) and fk.column.table.name == "user" for fk in table.foreign_keys)}
    assert holding_people <= NOTICE_ROWS.keys(), f"not in the privacy notice: {holding_people - NOTICE_ROWS.keys()}"
    page = get_page(client, "/privacy")
    for row in set(NOTICE_ROWS.values()):
        assert page.find(id=row) is not None, row
    text = main_text(page)
    for stored in ("name, email address", "network (IP) address", "audit log", "failed sign-ins",
                   "who saved each version", "who last published each entry", "subscriptions", "digest delivery log", "private feed key",
                   "does not delete it", "deactivating does not delete it"):
        assert stored in text, stored
    assert f"stops working after {client.application.config['KB_SESSION_DAYS']} days" in text
    assert "Article 6(1)(e)" in text and "ico.org.uk/make-a-complaint" in text and "0303 123 1113" in text
    assert "The website does not keep them in its database" in text  # feedback is only emailed


def test_how_we_rate_evidence_explains_levels_designs_qualitative_rule_and_provenance(client):
    page = get_page(client, "/how-we-rate-evidence")
    levels = page.find(id="strength-levels").find_all(class_="nhsuk-summary-list__row")
    assert [text_of(row.find("dt")) for row in levels] == [f"{n} out of 5" for n in range(1, 6)]
    # In the words the evidence entries' own boxes use, which name no design (so none contradicts one).
    assert [text_of(row.find("dd").find("p")) for row in levels] == [STRENGTH_LEVELS[n] for n in range(1, 6)]
    assert "randomised controlled trials" in text_of(page.find(id="strength-5"))
    assert "qualitative research across several sites" in text_of(page.find(id="strength-2"))
    design_rows = {text_of(row.find("th")): text_of(row.find("td"))
                   for row in page.find(id="design-table").find("tbody").find_all("tr")}
    assert list(design_rows) == [design.label for design in EvidenceDesign]
    assert all(design_rows.values()), "every design says what strength it usually has"
    assert "never" in design_rows["Qualitative"]
    text = main_text(page)
    assert "Maryland Scientific Methods Scale" in text
    assert "never rated above 2" in text and "single site" in text and "several sites" in text
    provenance = [text_of(dt) for dt in page.find(id="provenance-list").find_all("dt")]
    assert provenance == [p.label for p in Provenance]
    assert "Figures are shown as their sources reported them" in text


# --- every page: phase banner and footer ----------------------------------------------------------


def test_every_page_has_the_phase_banner_and_the_five_footer_links(content_client):
    pages = _public_crawl(content_client, CRAWL_PAGES)
    assert len(pages) == CRAWL_PAGES
    assert any(url.startswith("/entries/") for url in pages) and any(url.startswith("/themes/") for url in pages)
    assert set(FOOTER_LINKS) <= pages.keys()  # the footer's own pages are reached, and checked too
    for url, page in pages.items():
        footer = page.find("footer")
        links = {a["href"]: text_of(a) for a in footer.select("a.nhsuk-footer__list-item-link")}
        assert FOOTER_LINKS.items() <= links.items(), url
        banner = page.find(class_="kb-phase-banner")
        assert banner is not None and "Beta" in text_of(banner), url
        assert "This is a new service. Your feedback will help us improve it." in text_of(banner), url
        assert banner.find("a", href="/feedback") is not None, url


def test_breadcrumbs_carry_a_back_link_to_the_parent(content_client):
    for path, parent, label in [("/entries/sheffield-pooled-budget", "/search?type=case_study", "Case studies"),
                                ("/themes/data-sharing", "/themes/", "Themes"),
                                ("/sites/sheffield", "/sites/", "Sites"),
                                ("/privacy", "/", "the home page")]:
        page = get_page(content_client, path)
        crumbs = page.find("nav", class_="nhsuk-breadcrumb")
        trail = [a["href"] for a in crumbs.select("a.nhsuk-breadcrumb__link")]
        back = crumbs.find("a", class_="nhsuk-back-link")
        assert trail[-1] == parent and back["href"] == parent, path
        assert text_of(back) == f"Back to {label}", path


def test_entry_pages_offer_a_print_link(content_client):
    page = get_page(content_client, "/entries/sheffield-pooled-budget")
    assert text_of(page.find("p", class_="kb-print")) == "Print this page"
    assert page.find("script", src="/static/js/print.js") is not None


def test_home_page_has_one_clearly_labelled_search_box(content_client):
    page = get_page(content_client, "/")
    boxes = page.find_all("input", attrs={"name": "q"})
    assert len(boxes) == 1
    label = page.find("label", attrs={"for": boxes[0]["id"]})
    assert text_of(label) == "Search the knowledge base" and "nhsuk-u-visually-hidden" not in label["class"]
    assert boxes[0].find_parent("form")["action"] == "/search"
    # Other pages keep the header's search.
    assert get_page(content_client, "/themes/").find(id="search-field") is not None


# --- the feedback form ------------------------------------------------------------------------------


def test_feedback_is_emailed_once_to_the_configured_team_address(app, client):
    app.config["KB_FEEDBACK_EMAIL"] = TEAM
    hostile = "<script>alert('x')</script> & <b>bold</b>\nSecond line"
    response = _send(client, problem=hostile, email="Reader@Example.NHS.uk")
    assert response.status_code == 302 and response.location.endswith("/feedback/sent")
    [message] = _outbox(app)
    assert message.to == TEAM
    assert "Searching for data sharing evidence" in message.text and hostile in message.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in message.html
    assert "<script>" not in message.html
    assert dict(message.headers) == {"Reply-To": "reader@example.nhs.uk"}
    assert "reader@example.nhs.uk" in message.text
    parsed = message_from_bytes(_email(message, "KB <kb@example.org>"), policy=policy.strict)
    assert parsed["Reply-To"] == "reader@example.nhs.uk" and parsed["To"] == TEAM
    confirmation = get_page(client, response.location)
    assert "Thank you for your feedback" in text_of(confirmation.find(id="feedback-sent"))


def test_feedback_without_an_email_address_is_sent_without_reply_to(app, client):
    assert _send(client).status_code == 302
    [message] = _outbox(app)
    assert message.to == app.config["KB_FEEDBACK_EMAIL"] and message.headers == ()
    assert "did not give an email address" in message.text


def test_missing_answers_are_explained_and_what_was_typed_is_kept(app, client):
    response = _send(client, doing="Looking for pooled budgets", problem="  ", email="me@example.org")
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert _error_summary(page) == {"problem": feedback.MISSING_PROBLEM}
    assert page.find("title").get_text().startswith("Error: ")
    assert page.find(id="doing").get_text().strip() == "Looking for pooled budgets"
    assert page.find(id="email")["value"] == "me@example.org"
    assert "nhsuk-form-group--error" in page.find(id="problem").find_parent("div")["class"]
    both = BeautifulSoup(_send(client, doing="", problem="").get_data(as_text=True), "html.parser")
    assert _error_summary(both) == {"doing": feedback.MISSING_DOING, "problem": feedback.MISSING_PROBLEM}
    assert _outbox(app) == []


def test_feedback_without_a_csrf_token_is_refused(app, client):
    client.get("/feedback")
    response = client.post("/feedback", data={"doing": "x", "problem": "y"})
    assert response.status_code == 400
    assert "The CSRF token is missing." in main_text(BeautifulSoup(response.get_data(as_text=True), "html.parser"))
    assert _outbox(app) == []


@pytest.mark.parametrize("address", ["me@example.org\r\nBcc: everyone@example.org", "me@example.org\nX: y",
                                     "\r\n", "not an address"])
def test_an_address_with_line_breaks_or_not_an_address_is_refused_cleanly(app, client, address):
    response = _send(client, email=address)
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert list(_error_summary(page)) == ["email"]
    assert "\r" not in (page.find(id="email").get("value") or "")
    assert _outbox(app) == []


def test_the_service_refuses_an_address_that_could_start_a_header(app):
    sender = MemorySender()
    with pytest.raises(BadRequest):
        feedback.send_feedback(feedback.Feedback("doing", "problem", "a@example.org\r\nBcc: b@example.org"),
                               to=TEAM, now=datetime.now(timezone.utc), sender=sender)
    assert sender.outbox == []


def test_feedback_is_rate_limited_with_a_clear_page(app, client):
    app.config["KB_FEEDBACK_LIMIT"] = "2 per hour"
    statuses = [_send(client).status_code for _ in range(2)]
    refused = _send(client)
    assert statuses == [302, 302] and refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    page = BeautifulSoup(refused.get_data(as_text=True), "html.parser")
    assert text_of(page.find("h1")) == "Too many requests"
    assert TOO_MUCH_FEEDBACK in main_text(page)
    assert len(_outbox(app)) == 2
