"""Dates that mean one thing: the date of the work (``published``) is kept apart from when an
entry, site or theme was last reviewed (``reviewed``), which publishing, an administrator's
check and content files set, and which an ordinary save never moves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kb.extensions import db
from kb.models import Entry, Membership, NetworkRole, Site, SiteRole, Theme
from kb.models.types import utcnow
from kb.services import authoring, workflow
from kb.services.content_io import export_content, import_content
from kb.services.content_io.schema import EntryRecord, validate
from kb.services.records import entry_record, site_record, theme_record
from tests.conftest import NOW
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import form_values, get_page, text_of

def _form(client, path: str):  # noqa: ANN001
    """The page's form as a browser sends it (unticked boxes left out, the CSRF token in)."""
    return form_values(client.get(path).get_data(as_text=True), "main form")


@pytest.fixture
def admin_client(app):
    admin = make_user("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)
    return app.test_client(user=admin)


def test_a_reviewed_date_before_the_date_of_the_work_is_refused(app):
    record = {"title": "T", "type": "case_study", "summary": "S", "published": "2015-04-01",
              "reviewed": "2014-01-01", "themes": [{"theme": "t", "polarity": "enabler", "note": "n"}],
              "sources": [{"title": "A source"}]}
    model, problems = validate(EntryRecord, record)
    assert model is not None
    assert [p.message for p in problems] == ["reviewed: is before the published date"]
    assert validate(EntryRecord, {**record, "reviewed": "2015-04-01"})[1] == []


def test_publishing_marks_the_entry_reviewed_and_keeps_the_date_of_the_work(app):
    site = make_site("ownshire")
    lead = make_user("lee@example.nhs.uk")
    db.session.add(Membership(user=lead, site=site, role=SiteRole.LEAD))
    entry = make_entry("joint-teams", site=site, status="in_review", published="2015-04-01")
    db.session.commit()
    workflow.publish_entry(lead, "joint-teams", now=NOW)
    db.session.refresh(entry)
    assert entry.reviewed_on == NOW.date() and entry.published_on == date(2015, 4, 1)
    assert entry_record(entry)["reviewed"] == NOW.date().isoformat()


def test_a_web_save_keeps_the_reviewed_date(app):
    site = make_site("ownshire")
    editor = make_user("ed@example.nhs.uk")
    db.session.add(Membership(user=editor, site=site, role=SiteRole.EDITOR))
    entry = make_entry("joint-teams", site=site, status="draft", reviewed="2026-06-01")
    db.session.commit()
    record = {**entry_record(entry), "title": "Joint emergency teams, renamed"}
    for key in authoring.WORKFLOW_FIELDS:
        record.pop(key, None)  # the form never sends them
    authoring.save_entry(editor, "joint-teams", record, base_version=entry.version, summary="Renamed",
                         minor=False, now=NOW)
    db.session.refresh(entry)
    assert entry.title == "Joint emergency teams, renamed" and entry.reviewed_on == date(2026, 6, 1)


def test_ticking_reviewed_on_a_site_marks_it_reviewed_today_and_leaving_it_keeps_the_date(app, admin_client):
    site = make_site("westby", name="Westby", reviewed="2026-01-15")
    db.session.commit()
    path = "/admin/sites/westby/edit"
    data = _form(admin_client, path)
    assert "reviewed" not in data  # never ticked in advance: each check is someone's act
    data["summary"] = "A changed summary."
    assert admin_client.post(path, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, site.id).reviewed_on == date(2026, 1, 15)

    data = _form(admin_client, path)
    data["reviewed"] = "y"
    assert admin_client.post(path, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, site.id).reviewed_on == utcnow().date()


def test_ticking_reviewed_on_a_theme_marks_it_reviewed_today(app, admin_client):
    theme = make_theme("shared-records", name="Shared records")
    db.session.commit()
    path = "/admin/themes/shared-records/edit"
    data = _form(admin_client, path)
    assert "reviewed" not in data
    data["reviewed"] = "y"
    assert admin_client.post(path, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).reviewed_on == utcnow().date()
    assert theme_record(db.session.get(Theme, theme.id))["reviewed"] == utcnow().date().isoformat()


def test_reviewed_dates_go_out_and_come_back_through_content_files(app, tmp_path):
    site = make_site("westby", name="Westby", reviewed="2026-12-05")
    theme = make_theme("shared-records", reviewed="2026-12-04")
    make_entry("joint-teams", site=site, theme=theme, reviewed="2026-12-03")
    db.session.commit()
    export_content(tmp_path)
    assert "\nreviewed: 2026-12-05\n" in (tmp_path / "sites" / "westby.md").read_text(encoding="utf-8")
    assert "reviewed: 2026-12-03" in (tmp_path / "entries" / "joint-teams.md").read_text(encoding="utf-8")
    # A file that changes the dates is applied like any other change.
    themes_file = tmp_path / "themes.yml"
    assert "  reviewed: 2026-12-04\n" in themes_file.read_text(encoding="utf-8")  # a bare date, as authors write
    themes_file.write_text(themes_file.read_text(encoding="utf-8").replace("2026-12-04", "2026-12-06"), encoding="utf-8")
    report = import_content(tmp_path, now=NOW + timedelta(days=1))
    assert report.errors == [] and report.updated["themes"] == 1 and report.updated["entries"] == 0
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).reviewed_on == date(2026, 12, 6)
    assert site_record(db.session.get(Site, site.id))["reviewed"] == "2026-12-05"
    assert entry_record(db.session.scalar(db.select(Entry).where(Entry.slug == "joint-teams")))["reviewed"] == "2026-12-03"


def _summary_rows(page) -> dict[str, str]:  # noqa: ANN001
    return {row.find("dt").get_text(strip=True): row.find("dd").get_text(" ", strip=True)
            for row in page.select("main dl.nhsuk-summary-list .nhsuk-summary-list__row")}


def test_an_entry_page_names_each_date_for_what_it_is(content_client):
    rows = _summary_rows(get_page(content_client, "/entries/sheffield-pooled-budget"))
    assert rows["Date of the work or source"] == "1 April 2015"
    assert rows["Last reviewed"] == "5 December 2026"
    assert rows["Next review due"] == "1 April 2027"
    assert "Added to the knowledge base" in rows and "Published" not in rows


def test_an_entry_never_reviewed_has_no_last_reviewed_line(content_app, content_client):
    make_entry("unreviewed", title="Unreviewed", published="2016-02-01")
    rows = _summary_rows(get_page(content_client, "/entries/unreviewed"))
    assert rows["Date of the work or source"] == "1 February 2016" and "Last reviewed" not in rows


@pytest.mark.parametrize("path", ["/themes/information-governance", "/sites/sheffield"])
def test_theme_and_site_pages_say_when_they_were_last_reviewed(content_client, path):
    assert text_of(get_page(content_client, path).find(id="page-reviewed")) == "Page last reviewed: 6 December 2026"
