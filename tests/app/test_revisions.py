"""Entry history, comparing any two revisions, reading one, and restoring it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb.extensions import db
from kb.models import Entry, Membership, Revision, SiteRole
from kb.services import authoring, workflow
from kb.services.records import entry_record
from tests.factories import NOW, make_entry, make_site, make_theme, make_user
from tests.inertness import load_payloads, problems_in
from tests.pages import get_page, main_text, text_of

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
PAYLOADS = load_payloads(Path(__file__).parent.parent / "data" / "xss_payloads.txt")

BODY = (
    "Ownshire pooled its health and care budgets in 2014.\n\n"
    "Admissions fell by a fifth in the first year.\n\n"
    "The council and the CCG shared the risk."
)


@pytest.fixture
def world(app):
    own, other = make_site("ownshire"), make_site("otherton")
    pooled, rules = make_theme("pooled-budgets"), make_theme("national-rules")
    people = {
        "editor": make_user("eddie@example.nhs.uk", name="Eddie Editor"),
        "lead": make_user("lee@example.nhs.uk", name="Lee Lead"),
        "member": make_user("mo@example.nhs.uk", name="Mo Member"),
        "outsider": make_user("olly@example.nhs.uk", name="Olly Otherton"),
    }
    db.session.add_all([
        Membership(user=people["editor"], site=own, role=SiteRole.EDITOR),
        Membership(user=people["lead"], site=own, role=SiteRole.LEAD),
        Membership(user=people["outsider"], site=other, role=SiteRole.EDITOR),
    ])
    db.session.commit()
    draft = make_entry("pooled-draft", site=own, theme=pooled, status="draft", published=None,
                       title="Secret pooled budget draft", body=BODY)
    # Revision 2 changes the summary, the visibility and the other sites.
    _save(people["editor"], "pooled-draft", summary="Shorter summary",
          changes={"summary": "How a pooled budget cut admissions.", "visibility": "network",
                   "other_sites": ["otherton"]})
    # Revision 3 changes one sentence of the body and a theme tag (a minor edit).
    _save(people["lead"], "pooled-draft", summary="Corrected the figure", minor=True,
          changes={"body": BODY.replace("by a fifth", "by nearly a quarter"),
                   "themes": [{"theme": "national-rules", "polarity": "barrier", "note": "Rules got in the way."}]})
    published = make_entry("published-entry", site=own, theme=rules, title="A published entry",
                           body="Published words.")
    return {"own": own, "other": other, "themes": (pooled, rules), "draft": draft, "published": published, **people}


def _save(user, slug: str, *, summary: str, changes: dict, minor: bool = False) -> None:
    entry = db.session.scalar(db.select(Entry).where(Entry.slug == slug))
    outcome = authoring.save_entry(user, slug, {**entry_record(entry), **changes}, base_version=entry.version,
                                   summary=summary, minor=minor, now=NOW + timedelta(hours=entry.version))
    assert outcome.revision is not None


def _snapshots(slug: str) -> list[dict]:
    db.session.expire_all()
    entry = db.session.scalar(db.select(Entry).where(Entry.slug == slug))
    return [r.snapshot for r in db.session.scalars(
        db.select(Revision).where(Revision.entry_id == entry.id).order_by(Revision.number))]


def _token(client, path: str) -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    return match.group(1) or match.group(2)


def _marked(node, tag: str) -> list[str]:
    """The texts of ``tag`` (ins or del) elements in ``node``, without the screen-reader markers."""
    texts = []
    for element in node.find_all(tag):
        for hidden in element.select(".nhsuk-u-visually-hidden"):
            hidden.extract()
        texts.append(element.get_text())
    return texts


def _rows(page) -> list[list[str]]:
    # Each cell repeats its column's name for small screens (hidden from screen readers): not its value.
    for label in page.select("#revisions .nhsuk-table__heading"):
        label.extract()
    return [[text_of(cell) for cell in row.find_all(["td", "th"])] for row in page.select("#revisions tbody tr")]


# --- history ----------------------------------------------------------------------------------


def test_history_lists_every_revision_with_author_summary_and_minor_tag(app, world):
    page = get_page(app.test_client(user=world["editor"]), "/entries/pooled-draft/history")
    rows = _rows(page)
    assert [row[0] for row in rows] == ["3 : view this revision", "2 : view this revision", "1 : view this revision"]
    assert [row[2] for row in rows] == ["Lee Lead", "Eddie Editor", "Imported"]
    assert [row[3] for row in rows] == ["Corrected the figure Minor", "Shorter summary", "Created in a test"]
    assert rows[0][1] == "1 November 2026 at 11am"  # 9:00 UTC + 2 hours, in UK time (GMT in November)
    links = [a["href"] for a in page.select("#revisions a") if "/diff" in a["href"]]
    assert links == ["/entries/pooled-draft/diff?from=2&to=3", "/entries/pooled-draft/diff?from=1&to=2"]
    assert "First revision" in rows[2][4]
    form = page.select_one("form#compare")
    assert form["method"] == "get" and form["action"] == "/entries/pooled-draft/diff"
    assert form.select_one("select[name=from] option[selected]")["value"] == "2"
    assert form.select_one("select[name=to] option[selected]")["value"] == "3"
    assert [o["value"] for o in form.select("select[name=from] option")] == ["3", "2", "1"]


# --- comparing --------------------------------------------------------------------------------


def test_diff_of_non_adjacent_revisions_shows_exactly_what_changed(app, world):
    page = get_page(app.test_client(user=world["editor"]), "/entries/pooled-draft/diff?from=1&to=3")
    main = page.find("main")
    assert page.find("h1").get_text() == "Changes between revisions 1 and 3"

    # Metadata: what revision 2 and revision 3 changed, with labels, and nothing else.
    rows = main.select("#changed-fields tbody tr")
    assert [row["id"] for row in rows] == ["field-other_sites", "field-visibility", "field-themes"]
    cells = {row["id"]: [text_of(cell) for cell in row.find_all(["th", "td"])] for row in rows}
    assert cells["field-visibility"] == ["Visibility", "[removed: Public ]", "[added: Network members only ]"]
    assert cells["field-other_sites"] == ["Other sites involved", "None", "[added: Otherton ]"]
    assert cells["field-themes"] == [
        "Enablers and barriers",
        "[removed: Pooled Budgets — enabler: It helped. ]",
        "[added: National Rules — barrier: Rules got in the way. ]",
    ]

    # Prose: the summary (revision 2) and the one changed sentence of the body (revision 3).
    assert [h2.get_text() for h2 in main.find_all("h2") if h2.get("id", "").endswith("-changes")] == ["Summary", "Body"]
    assert main.select_one("#diff-title") is None
    summary = main.select_one("#diff-summary")
    assert _marked(summary, "del") == ["Summary of pooled-draft."]
    assert _marked(summary, "ins") == ["How a pooled budget cut admissions."]
    body = main.select_one("#diff-body")
    assert str(body).count("<ins") == 1 and str(body).count("<del") == 1
    assert re.search(r"Admissions fell by <del[^>]*>.*?</del><ins[^>]*>.*?</ins> in the first year\.", str(body))
    assert _marked(body, "del") == ["a fifth"]
    assert _marked(body, "ins") == ["nearly a quarter"]
    assert body.get_text().startswith("Ownshire pooled its health and care budgets in 2014.")
    assert body.get_text().endswith("The council and the CCG shared the risk.")


def test_adjacent_diff_shows_only_that_revisions_changes(app, world):
    main = get_page(app.test_client(user=world["editor"]), "/entries/pooled-draft/diff?from=2&to=3").find("main")
    assert [row["id"] for row in main.select("#changed-fields tbody tr")] == ["field-themes"]
    assert main.select_one("#diff-summary") is None and main.select_one("#diff-body") is not None
    links = {a.select_one(".nhsuk-pagination__title").get_text(): a["href"] for a in main.select(".nhsuk-pagination__link")}
    assert links == {"Previous change": "/entries/pooled-draft/diff?from=1&to=2"}


def test_diff_works_with_the_numbers_in_either_order(app, world):
    client = app.test_client(user=world["lead"])
    forwards = get_page(client, "/entries/pooled-draft/diff?from=1&to=3")
    backwards = get_page(client, "/entries/pooled-draft/diff?from=3&to=1")
    assert main_text(backwards) == main_text(forwards)
    assert "Changes between revisions 1 and 3" in main_text(backwards)


def test_a_revision_compared_with_itself_has_no_changes(app, world):
    main = get_page(app.test_client(user=world["lead"]), "/entries/pooled-draft/diff?from=2&to=2").find("main")
    assert "No changes" in text_of(main.select_one("#no-changes"))
    assert main.find("ins") is None and main.find("del") is None and main.select_one("#changed-fields") is None


def test_diff_without_numbers_compares_the_latest_revision_with_the_one_before(app, world):
    page = get_page(app.test_client(user=world["lead"]), "/entries/pooled-draft/diff")
    assert page.find("h1").get_text() == "Changes between revisions 2 and 3"


@pytest.mark.parametrize("query", ["from=abc&to=2", "from=1.5&to=2", "from=-1&to=2", "from=1&to=2x",
                                   "from=1&to=99999999999999999999999", "from=1&to=%00"])
def test_revision_numbers_that_are_not_numbers_are_a_400(app, world, query):
    response = app.test_client(user=world["lead"]).get(f"/entries/pooled-draft/diff?{query}")
    assert response.status_code == 400
    assert "must be a revision number" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/entries/pooled-draft/diff?from=1&to=9", "/entries/pooled-draft/diff?from=0&to=2",
                                 "/entries/pooled-draft/revisions/9", "/entries/pooled-draft/revisions/0"])
def test_revisions_the_entry_does_not_have_are_a_404_that_says_so(app, world, url):
    response = app.test_client(user=world["lead"]).get(url)
    assert response.status_code == 404
    assert "This entry has no revision" in response.get_data(as_text=True)


# --- reading one revision ---------------------------------------------------------------------


def test_an_old_revision_is_shown_read_only_with_its_own_content(app, world):
    page = get_page(app.test_client(user=world["editor"]), "/entries/pooled-draft/revisions/1")
    main = page.find("main")
    assert page.find("h1").get_text() == "Secret pooled budget draft"
    assert "Revision 1 of 3" in main_text(page)
    assert "Admissions fell by a fifth in the first year." in text_of(main.select_one(".kb-prose"))
    assert "Summary of pooled-draft." in main_text(page)
    metadata = {text_of(row.dt): text_of(row.dd) for row in main.select("#revision-metadata .nhsuk-summary-list__row")}
    assert metadata["Visibility"] == "Public" and metadata["Status"] == "Draft"
    assert metadata["Enablers and barriers"] == "Pooled Budgets — enabler: It helped."
    assert main.select_one("form#restore")["action"] == "/entries/pooled-draft/revisions/1/restore"
    assert main.select_one("form#restore input[name=csrf_token]")["value"]


def test_restore_button_is_only_shown_to_people_who_may_edit(app, world):
    # Editors may not edit published entries, so they see no button there; leads do.
    _save(world["lead"], "published-entry", summary="Edit", changes={"body": "New published words."})
    editor = get_page(app.test_client(user=world["editor"]), "/entries/published-entry/revisions/1")
    lead = get_page(app.test_client(user=world["lead"]), "/entries/published-entry/revisions/1")
    assert editor.select_one("form#restore") is None and "Restore this revision" not in main_text(editor)
    assert lead.select_one("form#restore") is not None
    latest = get_page(app.test_client(user=world["lead"]), "/entries/published-entry/revisions/2")
    assert latest.select_one("form#restore") is None  # the current version: nothing to restore


# --- restoring --------------------------------------------------------------------------------


def test_an_editor_can_restore_a_draft_of_their_site(app, world):
    client = app.test_client(user=world["editor"])
    token = _token(client, "/entries/pooled-draft/revisions/1")
    response = client.post("/entries/pooled-draft/revisions/1/restore", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/entries/pooled-draft/history"
    snapshots = _snapshots("pooled-draft")
    assert len(snapshots) == 4 and snapshots[3] == snapshots[0]
    history = get_page(client, "/entries/pooled-draft/history")
    assert "Revision 1 restored as revision 4" in main_text(history)
    rows = _rows(history)
    assert len(rows) == 4 and rows[0][2] == "Eddie Editor" and rows[0][3] == "Restored revision 1"
    revision = get_page(client, "/entries/pooled-draft/revisions/4")
    assert "Admissions fell by a fifth in the first year." in text_of(revision.select_one(".kb-prose"))


def test_restore_makes_a_new_revision_with_the_old_content_and_keeps_the_status(app, world):
    workflow.publish_entry(world["lead"], "pooled-draft", now=NOW + timedelta(days=1))  # revision 4
    client = app.test_client(user=world["lead"])
    response = client.post("/entries/pooled-draft/revisions/1/restore",
                           data={"csrf_token": _token(client, "/entries/pooled-draft/revisions/1")})
    assert response.status_code == 302
    snapshots = _snapshots("pooled-draft")
    assert len(snapshots) == 5
    restored, old, published = snapshots[4], snapshots[0], snapshots[3]
    # Kept by a restore: status and the dates the workflow sets, and the date of the work, which
    # revision 1 (a draft) did not have yet.
    workflow_fields = (*authoring.WORKFLOW_FIELDS, "published")
    assert {k: v for k, v in restored.items() if k not in workflow_fields} == \
        {k: v for k, v in old.items() if k not in workflow_fields}
    assert restored["status"] == "published" and restored["published"] == published["published"]
    # The published entry shows the old text again, to anyone (revision 1 was public).
    page = get_page(app.test_client(), "/entries/pooled-draft")
    assert "Admissions fell by a fifth in the first year." in main_text(page)
    assert "nearly a quarter" not in main_text(page)
    assert len(_rows(get_page(client, "/entries/pooled-draft/history"))) == 5


def test_restoring_the_current_content_changes_nothing_and_says_so(app, world):
    client = app.test_client(user=world["lead"])
    response = client.post("/entries/pooled-draft/revisions/3/restore",
                           data={"csrf_token": _token(client, "/entries/pooled-draft/revisions/1")})
    assert response.status_code == 302
    assert len(_snapshots("pooled-draft")) == 3
    assert "Nothing to restore" in main_text(get_page(client, "/entries/pooled-draft/history"))


def test_a_revision_that_refers_to_a_deleted_theme_cannot_be_restored_and_says_why(app, world):
    db.session.delete(world["themes"][0])  # pooled-budgets: only revisions 1 and 2 use it now
    db.session.commit()
    client = app.test_client(user=world["lead"])
    response = client.post("/entries/pooled-draft/revisions/1/restore",
                           data={"csrf_token": _token(client, "/entries/pooled-draft/revisions/1")})
    assert response.status_code == 302 and response.headers["Location"] == "/entries/pooled-draft/revisions/1"
    assert len(_snapshots("pooled-draft")) == 3
    message = main_text(get_page(client, "/entries/pooled-draft/revisions/1"))
    assert "Revision 1 cannot be restored as it is: themes.0.theme: there is no theme 'pooled-budgets'" in message


def test_restore_without_a_csrf_token_is_refused(app, world):
    response = app.test_client(user=world["lead"]).post("/entries/pooled-draft/revisions/1/restore")
    assert response.status_code == 400
    assert len(_snapshots("pooled-draft")) == 3


@pytest.mark.parametrize("who, slug, status", [
    ("editor", "published-entry", 403),   # editors may not change published entries
    ("member", "published-entry", 403),
    ("outsider", "published-entry", 403),
    ("anonymous", "published-entry", 403),
    ("member", "pooled-draft", 404),      # another site's draft: its existence is private
    ("outsider", "pooled-draft", 404),
    ("anonymous", "pooled-draft", 404),
])
def test_restore_by_someone_who_may_not_edit_is_refused_and_changes_nothing(app, world, who, slug, status):
    if slug == "published-entry":
        _save(world["lead"], slug, summary="Edit", changes={"body": "New published words."})
    before = _snapshots(slug)
    client = app.test_client(user=world[who]) if who != "anonymous" else app.test_client()
    token = _token(client, "/sign-in" if who == "anonymous" else "/")
    response = client.post(f"/entries/{slug}/revisions/1/restore", data={"csrf_token": token})
    assert response.status_code == status
    assert _snapshots(slug) == before
    assert "Secret" not in response.get_data(as_text=True)


# --- who may see history ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "outsider", "anonymous"])
@pytest.mark.parametrize("url", ["/entries/pooled-draft/history", "/entries/pooled-draft/diff?from=1&to=3",
                                 "/entries/pooled-draft/revisions/1", "/entries/pooled-draft/revisions/3"])
def test_another_sites_draft_history_is_a_404(app, world, who, url):
    client = app.test_client(user=world[who]) if who != "anonymous" else app.test_client()
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Secret" not in html and "pooled budget" not in html and "Eddie" not in html


@pytest.mark.parametrize("who", ["member", "outsider", "anonymous"])
@pytest.mark.parametrize("url", ["/entries/published-entry/history", "/entries/published-entry/diff?from=1&to=1",
                                 "/entries/published-entry/revisions/1"])
def test_a_published_entrys_history_is_a_403_to_people_who_do_not_work_on_it(app, world, who, url):
    # They may know the entry exists (they can read it), so this is a 403, not a 404
    # (permissions.can_know_of); the history itself is for its site's editors and leads.
    client = app.test_client(user=world[who]) if who != "anonymous" else app.test_client()
    response = client.get(url)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Only editors and leads of the entry&#39;s site can see its history." in html
    assert "Created in a test" not in html and "Published words" not in html


def test_editors_leads_and_admins_see_the_history(app, world):
    admin = make_user("ada@example.nhs.uk", name="Ada Admin", network_role="admin")
    for user in (world["editor"], world["lead"], admin):
        page = get_page(app.test_client(user=user), "/entries/published-entry/history")
        assert len(_rows(page)) == 1


# --- hostile content --------------------------------------------------------------------------


@pytest.fixture
def hostile(world):
    body = "\n\n".join(p for p in PAYLOADS if "\x00" not in p)
    _save(world["lead"], "pooled-draft", summary='<img src=x onerror=alert("summary")>',
          changes={"title": '<script>alert("title")</script>', "body": body,
                   "summary": '<img src=x onerror=alert(1)>'})
    return body


def test_hostile_markdown_in_a_revision_is_inert_on_the_revision_page(app, world, hostile):
    response = app.test_client(user=world["editor"]).get("/entries/pooled-draft/revisions/4")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    prose = BeautifulSoup(html, "html.parser").select_one(".kb-prose")
    assert prose.decode_contents().count("<") > 50  # the harmless parts are still shown
    assert problems_in(prose.decode_contents()) == []
    assert '<script>alert("title")' not in html and "&lt;script&gt;alert(" in html
    assert "<img src=x onerror" not in html


def test_hostile_markdown_in_a_diff_is_shown_as_escaped_text(app, world, hostile):
    client = app.test_client(user=world["editor"])
    response = client.get("/entries/pooled-draft/diff?from=3&to=4")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<script>alert("title")' not in html and "<img src=x onerror" not in html
    page = BeautifulSoup(html, "html.parser")
    for name in ("title", "summary", "body"):
        diff = page.select_one(f"#diff-{name}")
        assert {tag.name for tag in diff.find_all(True)} <= {"ins", "del", "span"}
        assert problems_in(diff.decode_contents()) == []
    # What the diff shows as added is exactly the new text, character for character.
    assert "".join(_marked(page.select_one("#diff-title"), "ins")) == '<script>alert("title")</script>'
    inserted = "".join(_marked(page.select_one("#diff-body"), "ins"))
    assert "<script>alert(1)</script>" in inserted and "<img src=x onerror=alert(1)>" in inserted
    history = client.get("/entries/pooled-draft/history").get_data(as_text=True)
    assert '<img src=x onerror=alert("summary")>' not in history
