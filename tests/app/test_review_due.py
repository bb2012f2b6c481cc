"""Entries due for review (/account/entries/review): published entries whose review-by date has
come, of the sites a person writes for (every entry for administrators), longest overdue first,
linked from "Your entries"."""

from __future__ import annotations

from datetime import date, timedelta

from bs4 import BeautifulSoup

from kb.extensions import db
from kb.models import Membership, NetworkRole, SiteRole
from kb.models.types import utcnow
from tests.factories import make_entry, make_site, make_theme, make_user


def rows(client) -> list[tuple[str, str, str, bool]]:
    """(review by, title, site, has an edit link) for each row of the page."""
    page = BeautifulSoup(client.get("/account/entries/review").get_data(as_text=True), "html.parser")
    return [tuple(cell.get_text(" ", strip=True) for cell in row.select("td")[:3]) + (bool(row.select("td a[href$='/edit']")),)
            for row in page.select("#due tbody tr")]


def test_leads_and_editors_see_their_sites_published_entries_past_review_by_longest_overdue_first(app):
    today = utcnow().date()
    theme = make_theme("leadership")
    leeds, york = make_site("leeds", name="Leeds"), make_site("york", name="York")
    editor, lead = make_user("ed@example.nhs.uk"), make_user("lee@example.nhs.uk")
    db.session.add_all([Membership(user=editor, site=leeds, role=SiteRole.EDITOR),
                        Membership(user=lead, site=leeds, role=SiteRole.LEAD)])
    db.session.commit()
    for slug, site, review_by, status in (
            ("leeds-overdue", leeds, today - timedelta(days=400), "published"),
            ("leeds-due-today", leeds, today, "published"),
            ("leeds-later", leeds, today + timedelta(days=1), "published"),
            ("leeds-no-date", leeds, None, "published"),
            ("leeds-draft-overdue", leeds, today - timedelta(days=9), "draft"),
            ("york-overdue", york, today - timedelta(days=30), "published"),
            ("network-overdue", None, today - timedelta(days=5), "published")):
        entry = make_entry(slug, site=site, theme=theme, title=slug.replace("-", " ").capitalize(), status=status,
                           published="2015-04-01" if status == "published" else None)
        entry.review_by = review_by
    db.session.commit()

    lead_rows = rows(app.test_client(user=lead))
    assert [(title, site, editable) for _, title, site, editable in lead_rows] == [
        ("Leeds overdue", "Leeds", True), ("Leeds due today", "Leeds", True)]
    assert lead_rows[0][0] == (today - timedelta(days=400)).strftime("%-d %B %Y")
    assert [editable for *_, editable in rows(app.test_client(user=editor))] == [False, False]  # asks a lead
    admin = make_user("admin@example.nhs.uk", network_role=NetworkRole.ADMIN)
    assert [title for _, title, _, _ in rows(app.test_client(user=admin))] == [
        "Leeds overdue", "York overdue", "Network overdue", "Leeds due today"]

    dashboard = app.test_client(user=lead).get("/account/entries").get_data(as_text=True)
    link = BeautifulSoup(dashboard, "html.parser").select_one("#due-for-review a")
    assert link["href"] == "/account/entries/review" and link.get_text(strip=True) == "2 published entries are due for review"


def test_people_with_nothing_to_review_are_told_so_and_strangers_must_sign_in(app):
    member = make_user("mo@example.nhs.uk")
    page = app.test_client(user=member).get("/account/entries/review")
    assert page.status_code == 200 and "No entry of yours is due for review." in page.get_data(as_text=True)
    assert "due-for-review" not in app.test_client(user=member).get("/account/entries").get_data(as_text=True)
    anonymous = app.test_client().get("/account/entries/review")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
