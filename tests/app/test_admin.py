"""Administration pages: sites, themes and the audit log — for admins only, validated like content
files, with every refusal leaving the database as it was."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEvent, Membership, NetworkRole, Site, SiteRole, Theme
from kb.search import backend
from kb.search.backend import SearchRequest
from kb.search.documents import ANYONE
from kb.services import audit, workflow
from kb.services.records import site_record, theme_record
from tests.conftest import NOW
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.inertness import problems_in as markdown_problems
from tests.pages import form_values, get_page, main_text, text_of

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')

SITE_FORM = {
    "slug": "riverside",
    "name": "Riverside",
    "kind": "pioneer",
    "wave": "2",
    "region": "South West",
    "lead_organisations": "Riverside Council\r\n\r\n  Riverside Clinical Commissioning Group  \r\n",
    "population": "310,000",
    "website": "https://riverside.example.org/pioneer",
    "summary": "A coastal city that pooled\r\nits reablement budgets.",
    "profile": "## How it started\r\n\r\nThe council and the CCG agreed a *single* plan.",
}
THEME_FORM = {"slug": "shared-records", "name": "Shared records", "group": "Information & data",
              "definition": "Staff in different organisations can see the same care record."}


@pytest.fixture
def admin(app):
    return make_user("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)


def _token(client, path: str = "/") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    return match.group(1) or match.group(2)


def _post(client, path: str, data: dict, token_from: str | None = None):
    return client.post(path, data={**data, "csrf_token": _token(client, token_from or path)})


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _field_error(page: BeautifulSoup, field: str) -> str:
    """The error message shown next to ``field`` (its inline error, inside its form group)."""
    error = page.find(id=f"{field}-error")
    assert error is not None, f"no error shown next to {field}"
    assert error.find_parent(class_="nhsuk-form-group--error").find(id=field) is not None
    return text_of(error).removeprefix("Error: ")


def _summary_errors(page: BeautifulSoup) -> list[str]:
    return [text_of(a) for a in page.select(".nhsuk-error-summary__list a")]


def _events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _finds(word: str) -> set[int]:
    return {hit.id for hit in backend().search(SearchRequest(text=word, readers=(ANYONE,), limit=100)).hits}


ACTIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "svg", "math", "base", "link", "meta", "style"}


def problems_in(html: str) -> list[str]:
    """What in a page's ``html`` could run script or load content: the Markdown inertness check
    without its allow-list of tags and attributes (a whole page has more than Markdown makes)."""
    problems = []
    for problem in markdown_problems(html):
        tag = re.match(r"tag <([^>]+)> is not allowed", problem)
        if problem.startswith("attribute ") or (tag and tag[1] not in ACTIVE_TAGS):
            continue
        problems.append(problem)
    return problems


# --- sites ---------------------------------------------------------------------------------------


def test_admin_creates_a_site_that_appears_on_its_public_page(app, admin):
    client = app.test_client(user=admin)
    form = get_page(client, "/admin/sites/new")
    assert form.find("h1").get_text() == "Add a site"
    assert {label["for"] for label in form.select("main label")} >= {
        "slug", "name", "kind", "wave", "region", "lead_organisations", "population", "website", "summary", "profile"}

    response = _post(client, "/admin/sites/new", SITE_FORM)

    assert response.status_code == 302 and response.headers["Location"] == "/admin/sites"
    db.session.expire_all()
    site = db.session.scalar(select(Site).where(Site.slug == "riverside"))
    assert site_record(site) == {
        "name": "Riverside", "kind": "pioneer", "wave": 2, "region": "South West",
        "lead_organisations": ["Riverside Council", "Riverside Clinical Commissioning Group"],
        "population": "310,000", "website": "https://riverside.example.org/pioneer",
        "summary": "A coastal city that pooled its reablement budgets.",
        "body": "## How it started\n\nThe council and the CCG agreed a *single* plan.",
    }
    public = get_page(app.test_client(), "/sites/riverside")
    text = main_text(public)
    assert public.find("h1").get_text() == "Riverside"
    assert "Wave 2 pioneer" in text and "South West" in text and "Riverside Clinical Commissioning Group" in text
    assert public.find("h3", string="How it started") is not None and public.find("em", string="single") is not None
    listing = main_text(get_page(client, "/admin/sites"))
    assert "Site ‘Riverside’ created." in listing and "Riverside riverside Wave 2 South West 0" in listing
    [event] = _events()
    assert (event.action, event.actor_id, event.subject, event.detail["created"]) == ("site_saved", admin.id, "site:riverside", True)


def test_admin_edits_a_site_and_its_entries_are_found_by_the_new_name(app, admin):
    site = make_site("eastshire", name="Eastshire", kind="associate", wave=None, lead_organisations=["Old Trust"])
    entry = make_entry("falls-service", site=site)
    make_entry("draft-work", site=site, status="draft", published=None)
    client = app.test_client(user=admin)
    assert "Eastshire eastshire Network associate" in main_text(get_page(client, "/admin/sites"))
    assert re.search(r"Network associate \w[\w ]* 2 Edit", main_text(get_page(client, "/admin/sites")))  # both entries
    form = get_page(client, "/admin/sites/eastshire/edit")
    assert form.find(id="name")["value"] == "Eastshire"
    assert form.find(id="kind").find("option", selected=True)["value"] == "associate"
    assert form.find(id="lead_organisations").get_text().strip() == "Old Trust"
    assert form.find(id="slug") is None  # the slug is the address; it is never edited

    data = {**SITE_FORM, "name": "Zanzibar Vale", "kind": "pioneer", "wave": "1", "lead_organisations": "New Trust"}
    del data["slug"]
    response = _post(client, "/admin/sites/eastshire/edit", data)

    assert response.status_code == 302
    public = main_text(get_page(app.test_client(), "/sites/eastshire"))
    assert "Zanzibar Vale" in public and "Wave 1 pioneer" in public and "New Trust" in public and "Old Trust" not in public
    assert "Zanzibar Vale" in main_text(get_page(app.test_client(), "/entries/falls-service"))
    # The site's name is in its entries' search documents; renaming re-indexed them.
    assert _finds("zanzibar") == {entry.id}
    [event] = _events()
    assert event.action == "site_saved" and event.detail["created"] is False
    assert set(event.detail["changed"]) >= {"name", "kind", "wave", "lead_organisations", "summary", "profile"}


def test_saving_a_site_unchanged_writes_nothing(app, admin):
    make_site("westby", summary="Same as before.")
    client = app.test_client(user=admin)
    # What a browser sends: the form as it stands (the "reviewed" box is unticked, so not sent).
    data = form_values(client.get("/admin/sites/westby/edit").get_data(as_text=True), "main form")
    response = client.post("/admin/sites/westby/edit", data=data)
    assert response.status_code == 302
    assert "Nothing had changed." in main_text(get_page(client, "/admin/sites"))
    assert _events() == []


def test_invalid_site_input_is_shown_next_to_each_field_kept_and_changes_nothing(app, admin):
    client = app.test_client(user=admin)
    data = {**SITE_FORM, "slug": "Not A Slug", "name": "", "kind": "castle", "wave": "7", "region": "R" * 81,
            "website": "javascript:alert(1)"}
    response = _post(client, "/admin/sites/new", data)

    assert response.status_code == 400
    page = _page(response)
    assert page.title.get_text().startswith("Error:")
    errors = {field: _field_error(page, field) for field in ("slug", "name", "kind", "wave", "region", "website")}
    assert errors["slug"].startswith("Slug must be a slug")
    assert errors["name"] == "Enter the name"
    assert errors["kind"] == "Kind of site must be 'pioneer', 'associate' or 'comparator'"
    assert errors["wave"] == "Wave must be 1 or 2"
    assert errors["region"] == "Region must be 80 characters or fewer"
    assert errors["website"] == "Website must be an http:// or https:// address with no spaces"
    assert _summary_errors(page) == list(errors.values())  # in the order of the fields on the page
    # What was typed is still there.
    assert page.find(id="slug")["value"] == "Not A Slug"
    assert page.find(id="region")["value"] == "R" * 81
    assert page.find(id="website")["value"] == "javascript:alert(1)"
    assert page.find(id="summary").get_text().strip() == SITE_FORM["summary"]
    # Control characters are refused by the forms' text rule (kb.textcheck), before the service.
    response = _post(client, "/admin/sites/new", {**SITE_FORM, "slug": "westby", "lead_organisations": "Good Trust\nBad\x0bTrust",
                                                  "profile": "Fine text\x00with a NUL"})
    page = _page(response)
    assert response.status_code == 400
    assert _field_error(page, "lead_organisations").startswith("Lead organisations must not contain control characters")
    assert _field_error(page, "profile").startswith("Profile must not contain control characters")
    assert page.find(id="slug")["value"] == "westby"
    assert db.session.scalar(select(func.count(Site.id))) == 0 and _events() == []


def test_a_pioneer_needs_a_wave_and_a_slug_cannot_be_taken_twice(app, admin):
    make_site("riverside", name="Old Riverside")
    client = app.test_client(user=admin)
    response = _post(client, "/admin/sites/new", {**SITE_FORM, "wave": ""})
    page = _page(response)
    assert response.status_code == 400
    assert _field_error(page, "slug") == "There is already a site 'riverside'"
    assert _field_error(page, "kind") == "Pioneers need a wave (1 or 2)"
    db.session.expire_all()
    assert [s.name for s in db.session.scalars(select(Site))] == ["Old Riverside"] and _events() == []


def test_an_invalid_edit_changes_nothing(app, admin):
    site = make_site("northam", name="Northam")
    before = site_record(site)
    data = {**SITE_FORM, "name": "N" * 121, "summary": ""}
    del data["slug"]
    response = _post(app.test_client(user=admin), "/admin/sites/northam/edit", data)
    page = _page(response)
    assert response.status_code == 400
    assert _field_error(page, "name") == "Name must be 120 characters or fewer"
    assert _field_error(page, "summary") == "Enter the summary"
    assert page.find("h1").get_text() == "Edit Northam" and page.find(id="name")["value"] == "N" * 121
    db.session.expire_all()
    assert site_record(db.session.get(Site, site.id)) == before and _events() == []


def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(app, admin):
    client = app.test_client(user=admin)
    response = client.post("/admin/sites/new", data=SITE_FORM)
    assert response.status_code == 400 and "CSRF token is missing" in main_text(_page(response))
    _token(client, "/admin/sites/new")
    response = client.post("/admin/sites/new", data={**SITE_FORM, "csrf_token": "forged"})
    assert response.status_code == 400 and "CSRF token is invalid" in main_text(_page(response))
    assert db.session.scalar(select(func.count(Site.id))) == 0 and _events() == []


def test_editing_an_unknown_site_or_theme_is_a_404(app, admin):
    client = app.test_client(user=admin)
    assert client.get("/admin/sites/atlantis/edit").status_code == 404
    assert client.get("/admin/themes/atlantis/edit").status_code == 404


# --- themes --------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_theme_seen_on_its_public_page(app, admin):
    existing = make_theme("leadership")
    client = app.test_client(user=admin)
    assert _post(client, "/admin/themes/new", THEME_FORM).status_code == 302
    db.session.expire_all()
    theme = db.session.scalar(select(Theme).where(Theme.slug == "shared-records"))
    assert theme_record(theme) == THEME_FORM and theme.position > existing.position  # new themes go last
    public = get_page(app.test_client(), "/themes/shared-records")
    assert public.find("h1").get_text() == "Shared records"
    assert THEME_FORM["definition"] in main_text(public)

    entry = make_entry("records-pilot", theme=theme)
    form = get_page(client, "/admin/themes/shared-records/edit")
    assert form.find(id="group")["value"] == "Information & data" and form.find(id="slug") is None
    response = _post(client, "/admin/themes/shared-records/edit",
                     {"name": "Quokka records", "group": "Information & data", "definition": "Changed."})
    assert response.status_code == 302
    public = get_page(app.test_client(), "/themes/shared-records")
    assert public.find("h1").get_text() == "Quokka records" and "Changed." in main_text(public)
    assert "Quokka records shared-records Information & data 1" in main_text(get_page(client, "/admin/themes"))
    assert _finds("quokka") == {entry.id}  # theme names are searchable; the hooks re-indexed
    assert [(e.action, e.subject, e.detail["created"]) for e in _events()] == [
        ("theme_saved", "theme:shared-records", True), ("theme_saved", "theme:shared-records", False)]


def test_invalid_theme_input_is_shown_next_to_each_field_and_changes_nothing(app, admin):
    make_theme("leadership", name="Leadership")
    client = app.test_client(user=admin)
    response = _post(client, "/admin/themes/new",
                     {"slug": "leadership", "name": "", "group": "G" * 81, "definition": "One line."})
    page = _page(response)
    assert response.status_code == 400
    assert _field_error(page, "slug") == "There is already a theme 'leadership'"
    assert _field_error(page, "name") == "Enter the name"
    assert _field_error(page, "group") == "Group must be 80 characters or fewer"
    assert page.find(id="group")["value"] == "G" * 81
    response = _post(client, "/admin/themes/new", {"slug": "new", "name": "New", "group": "G", "definition": "Two\nlines"})
    assert response.status_code == 400
    assert _field_error(_page(response), "definition").startswith(
        "Definition must be one line of text without control characters")
    response = _post(client, "/admin/themes/leadership/edit", {"name": "", "group": "Fine", "definition": "Fine."})
    assert response.status_code == 400 and _field_error(_page(response), "name") == "Enter the name"
    db.session.expire_all()
    assert [(t.slug, t.name) for t in db.session.scalars(select(Theme))] == [("leadership", "Leadership")]
    assert _events() == []


# --- who may ------------------------------------------------------------------------------------


ADMIN_PAGES = ["/admin/", "/admin/sites", "/admin/sites/new", "/admin/sites/home-site/edit", "/admin/themes",
               "/admin/themes/new", "/admin/themes/home-theme/edit", "/admin/audit"]


def _world():
    site = make_site("home-site", name="Home Site")
    theme = make_theme("home-theme", name="Home Theme")
    return site, theme


def _state() -> tuple:
    db.session.expire_all()
    return ([site_record(s) for s in db.session.scalars(select(Site).order_by(Site.id))],
            [theme_record(t) for t in db.session.scalars(select(Theme).order_by(Theme.id))],
            db.session.scalar(select(func.count(AuditEvent.id))))


def _posts() -> list[tuple[str, dict]]:
    site_fields = {key: value for key, value in SITE_FORM.items() if key != "slug"}
    return [
        ("/admin/sites/new", SITE_FORM),
        ("/admin/sites/home-site/edit", {**site_fields, "name": "Taken Over"}),
        ("/admin/themes/new", THEME_FORM),
        ("/admin/themes/home-theme/edit", {"name": "Taken Over", "group": "G", "definition": "D."}),
    ]


@pytest.mark.parametrize("role", ["member", "editor", "lead", "deactivated admin"])
def test_anyone_but_an_admin_gets_403_on_every_admin_page_and_changes_nothing(app, role):
    site, _ = _world()
    user = make_user(f"{role.replace(' ', '-')}@example.nhs.uk", name="Not Admin",
                     network_role=NetworkRole.ADMIN if role == "deactivated admin" else NetworkRole.MEMBER)
    if role in ("editor", "lead"):
        db.session.add(Membership(user=user, site=site, role=SiteRole(role)))
        db.session.commit()
    before = _state()
    client = app.test_client(user=user)
    if role == "deactivated admin":
        user.active = False
        db.session.commit()
    for path in ADMIN_PAGES:
        response = client.get(path)
        if role == "deactivated admin":  # no longer signed in at all
            assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), path
        else:
            assert response.status_code == 403, path
            assert "You do not have permission to do this" in main_text(_page(response))
    token = _token(client, "/sign-in")
    for path, data in _posts():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code in (403, 302), path
        assert response.status_code == 403 or response.headers["Location"].startswith("/sign-in")
    assert _state() == before


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(app):
    _world()
    before = _state()
    client = app.test_client()
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/sign-in?next=" + path.replace("/", "%2F"), path
    token = _token(client, "/sign-in")
    for path, data in _posts():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), path
    assert _state() == before


def test_the_dashboard_links_to_every_admin_page(app, admin):
    page = get_page(app.test_client(user=admin), "/admin/")
    assert page.find("h1").get_text() == "Administration"
    links = {text_of(a): a["href"] for a in page.select("main .nhsuk-card a")}
    assert links == {"Users": "/admin/users", "Sites": "/admin/sites", "Themes": "/admin/themes", "Audit log": "/admin/audit",
                     "Email digests": "/admin/digests"}


# --- audit log ----------------------------------------------------------------------------------


def _rows(page: BeautifulSoup) -> list[list[str]]:
    return [[text_of(cell) for cell in row.find_all("td")] for row in page.select("main tbody tr")]


def test_the_audit_log_lists_events_newest_first_and_filters_by_action(app, admin):
    lead = make_user("lee@example.nhs.uk", name="Lee Lead")
    site = make_site("audit-site")
    db.session.add(Membership(user=lead, site=site, role=SiteRole.LEAD))
    db.session.commit()
    make_entry("to-publish", site=site, status="draft", published=None)
    audit.record_now("sign_in_failed", actor=None, subject="user:someone@example.nhs.uk", now=NOW,
                     client="203.0.113.9", reason="wrong password")
    workflow.publish_entry(lead, "to-publish", now=NOW + timedelta(minutes=5))
    client = app.test_client(user=admin)

    page = get_page(client, "/admin/audit")

    assert page.find("h1").get_text() == "Audit log"
    rows = _rows(page)
    assert rows[0][:4] == ["1 Nov 2026, 09:05:00", "Lee Lead lee@example.nhs.uk", "Entry published", "entry:to-publish"]
    assert "version: 2" in rows[0][4] and "title: Entry to-publish" in rows[0][4]
    assert rows[1] == ["1 Nov 2026, 09:00:00", "Unknown", "Sign-in failed", "user:someone@example.nhs.uk",
                       "reason: wrong password", "203.0.113.9"]
    assert "2 events" in main_text(page)

    filtered = get_page(client, "/admin/audit?action=sign_in_failed")
    assert [row[2] for row in _rows(filtered)] == ["Sign-in failed"]
    assert filtered.find(id="action").find("option", selected=True)["value"] == "sign_in_failed"
    assert {option["value"] for option in filtered.select("#action option")} == {"", *audit.ACTIONS}


def test_the_audit_log_pages_by_fifty_and_keeps_the_filter(app, admin):
    for minute in range(51):
        audit.record("sign_in_failed", actor=None, subject=f"user:n{minute}@example.nhs.uk",
                     now=NOW + timedelta(minutes=minute))
    audit.record("sign_in", actor=admin, subject="user:ada@example.nhs.uk", now=NOW)
    db.session.commit()
    client = app.test_client(user=admin)
    first = get_page(client, "/admin/audit?action=sign_in_failed")
    assert len(_rows(first)) == 50 and _rows(first)[0][3] == "user:n50@example.nhs.uk"
    next_link = first.select_one("a.nhsuk-pagination__link--next")["href"]
    assert next_link == "/admin/audit?action=sign_in_failed&page=2"
    second = get_page(client, next_link)
    assert [row[3] for row in _rows(second)] == ["user:n0@example.nhs.uk"]
    assert second.select_one("a.nhsuk-pagination__link--next") is None
    assert second.select_one("a.nhsuk-pagination__link--prev")["href"] == "/admin/audit?action=sign_in_failed&page=1"
    assert len(_rows(get_page(client, "/admin/audit?page=2"))) == 2  # 52 events in all


@pytest.mark.parametrize("query, message", [
    ("page=abc", "The page number must be a whole number"),
    ("page=-1", "The page number must be a whole number"),
    ("page=1.5", "The page number must be a whole number"),
    ("page=99999999999999999999", "The page number must be a whole number"),
    ("page=0", "There is no page 0"),
    ("page=3", "There is no page 3"),
    ("action=drop_tables", "Choose an action from the list."),
    ("action=%3Cscript%3E", "Choose an action from the list."),
])
def test_bad_audit_log_parameters_are_a_clear_400(app, admin, query, message):
    response = app.test_client(user=admin).get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert message in main_text(_page(response))


def test_hostile_values_in_the_audit_log_are_inert(app, admin):
    audit.record_now("sign_in_failed", actor=None, subject="user:<script>alert(1)</script>", now=NOW,
                     client='"><img src=x onerror=alert(2)>', email="<b onmouseover=alert(3)>x</b>",
                     tags=["<svg onload=alert(4)>"], nested={"k": "<iframe>"})
    page = get_page(app.test_client(user=admin), "/admin/audit")
    table = str(page.select_one("main table"))
    assert problems_in(table) == []
    assert "<script>alert(1)</script>" in text_of(page.select_one("main tbody"))  # shown as text


# --- hostile input ------------------------------------------------------------------------------


def test_hostile_site_and_theme_values_are_refused_or_rendered_inert(app, admin):
    client = app.test_client(user=admin)
    script_name = "<script>alert('name')</script>"
    data = {**SITE_FORM, "name": script_name, "region": '"><img src=x onerror=alert(1)>',
            "lead_organisations": "<iframe src=javascript:alert(2)>",
            "profile": "<script>alert(3)</script>\n\n[click](javascript:alert(4)) <img src=x onerror=alert(5)>"}
    assert _post(client, "/admin/sites/new", data).status_code == 302
    public = client.get("/sites/riverside").get_data(as_text=True)
    assert problems_in(str(BeautifulSoup(public, "html.parser").find("main"))) == []
    assert "<script>alert(" not in public and "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in public
    for path in ("/admin/sites", "/admin/sites/riverside/edit", "/admin/audit"):
        assert problems_in(str(get_page(client, path).find("main"))) == [], path

    assert _post(client, "/admin/themes/new", {**THEME_FORM, "name": "<svg onload=alert(6)>"}).status_code == 302
    assert problems_in(str(get_page(client, "/themes/shared-records").find("main"))) == []
    assert problems_in(str(get_page(client, "/admin/themes").find("main"))) == []

    before = _state()
    refused = [
        {**SITE_FORM, "slug": "long", "name": "x" * 100_000},
        {**SITE_FORM, "slug": "long-profile", "profile": "y" * 60_000},
        {**SITE_FORM, "slug": "escape", "name": "Red\x1b[31m"},
        {**SITE_FORM, "slug": "nul", "summary": "a\x00b"},
        {**SITE_FORM, "slug": "a" * 81},
        {**SITE_FORM, "slug": "../etc/passwd"},
        {**SITE_FORM, "slug": "bad-site", "website": "https://ok.example/\x00"},
    ]
    for data in refused:
        response = _post(client, "/admin/sites/new", data)
        assert response.status_code == 400, data["slug"]
        assert problems_in(str(_page(response).find("main"))) == []
    response = _post(client, "/admin/themes/new", {**THEME_FORM, "slug": "t2", "definition": "z" * 5000})
    assert response.status_code == 400
    assert _field_error(_page(response), "definition") == "Definition must be 400 characters or fewer"
    assert _state() == before
