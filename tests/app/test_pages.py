"""Every reading page shows what readers need, from the real content."""

from __future__ import annotations

from sqlalchemy import select

from kb.extensions import db
from kb.models import Entry, EntryType, Polarity, Theme, ThemeTag
from tests.pages import entry_links, get_page, main_text, text_of


def test_home_explains_the_network_and_lists_latest_entries_themes_and_sites(content_client):
    page = get_page(content_client, "/")
    text = main_text(page)
    assert "25 local areas in England became Integrated Care Pioneers" in text
    assert "leadership, relationships, information governance and data sharing" in text
    latest = db.session.scalars(
        select(Entry.slug).where(Entry.visibility == "public").order_by(Entry.published_on.desc(), Entry.title).limit(6)
    ).all()
    assert entry_links(page)[:6] == latest
    data_sharing = page.find("a", href="/themes/data-sharing").parent
    enablers = db.session.query(ThemeTag).join(Entry).join(Theme).filter(
        Theme.slug == "data-sharing", ThemeTag.polarity == Polarity.ENABLER, Entry.visibility == "public"
    ).count()
    assert f"{enablers} enabler" in text_of(data_sharing)
    assert "Wave 1 pioneers" in text and "Wave 2 pioneers" in text
    assert len(page.find("main").select('a[href^="/sites/"]')) == 28


def test_home_counts_only_public_entries_for_anonymous_readers(content_client):
    page = get_page(content_client, "/")
    public_evidence = db.session.query(Entry).filter_by(type=EntryType.EVIDENCE, visibility="public").count()
    card = page.find("a", href="/search?type=evidence").find_parent(class_="nhsuk-card")
    assert f"{public_evidence} entries" in text_of(card)


def test_entry_page_shows_type_site_tags_evidence_summary_sources_and_links(content_client):
    page = get_page(content_client, "/entries/cornwall-isles-of-scilly-living-well-reported-outcomes")
    entry = db.session.scalar(select(Entry).where(Entry.slug == "cornwall-isles-of-scilly-living-well-reported-outcomes"))
    text = main_text(page)
    assert page.find("h1").get_text() == entry.title
    assert "Evaluation evidence" in text and "Cornwall" in text
    tags = page.select(".kb-tag-list li")
    assert len(tags) == len(entry.theme_tags)
    for item, tag in zip(tags, entry.theme_tags):
        assert text_of(item).replace(" :", ":") == f"{tag.polarity.label} {tag.theme.name}: {tag.note}"
    box = text_of(page.find(id="evidence-summary"))
    assert entry.evidence_design.label in box
    assert f"Strength {entry.evidence_strength} of 5" in box
    assert entry.evidence_provenance.label in box
    for outcome in entry.outcomes:
        assert outcome.value in box
    sources = page.find(id="sources").find_next("ol").find_all("li")
    assert len(sources) == len(entry.sources)
    for li, source in zip(sources, entry.sources):
        assert text_of(li).startswith(source.title)
        if source.url:
            assert li.find("a")["href"] == source.url
    assert "cornwall-isles-of-scilly-living-well" in entry_links(page)


def test_self_reported_evidence_is_marked_as_such(content_client):
    text = text_of(get_page(content_client, "/entries/greenwich-jet-admissions-avoided-claim").find(id="evidence-summary"))
    assert "Self-reported" in text and "not checked independently" in text


def test_linked_entries_show_from_both_sides(content_client):
    target = get_page(content_client, "/entries/cornwall-isles-of-scilly-living-well")
    aside = text_of(target.find("aside"))
    assert "Evaluated by" in aside and "reported" in aside.lower()


def test_case_studies_have_no_evidence_box(content_client):
    page = get_page(content_client, "/entries/sheffield-pooled-budget")
    assert page.find(id="evidence-summary") is None
    assert page.find("table") is not None  # the Markdown table in the body


def test_sites_index_groups_all_25_pioneers_by_wave(content_client):
    page = get_page(content_client, "/sites/")
    headings = [h.get_text() for h in page.find("main").find_all("h2")]
    assert headings == ["Wave 1 pioneers", "Wave 2 pioneers", "Other places in the network"]
    lists = page.find("main").find_all("ul")
    assert [len(ul.find_all("li", recursive=False)) for ul in lists] == [14, 11, 3]


def test_site_page_shows_profile_entries_and_theme_profile(content_client):
    page = get_page(content_client, "/sites/sheffield")
    assert page.find("h1").get_text() == "Sheffield"
    assert "Wave 2 pioneer" in main_text(page)
    assert "sheffield-pooled-budget" in entry_links(page)
    assert "sheffield-lessons-commissioning-together" not in entry_links(page)  # network-only
    rows = page.find(id="theme-profile").find_next("table").select("tbody tr")
    by_theme = {text_of(r.th): (int(text_of(r.find_all("td")[0])), int(text_of(r.find_all("td")[1]))) for r in rows}
    assert by_theme["Better Care Fund"][0] >= 1 and by_theme["Better Care Fund"][1] >= 1


def test_themes_index_groups_every_theme_with_its_definition(content_client):
    page = get_page(content_client, "/themes/")
    themes = db.session.scalars(select(Theme)).all()
    assert len(page.find("main").select('a[href^="/themes/"]')) == len(themes)
    groups = [h.get_text() for h in page.find("main").find_all("h2")]
    assert groups[0] == "Leadership & relationships" and len(groups) == len({t.group for t in themes})
    assert themes[0].definition in main_text(page)


def test_theme_page_puts_enablers_beside_barriers_with_their_sites(content_client):
    page = get_page(content_client, "/themes/better-care-fund")
    enablers = page.find("section", class_="kb-side--enabler")
    barriers = page.find("section", class_="kb-side--barrier")
    assert "What helped" in text_of(enablers) and "What got in the way" in text_of(barriers)
    assert "Sheffield" in text_of(enablers) and "Sheffield" in text_of(barriers)
    tag = db.session.scalars(
        select(ThemeTag).join(Theme).join(Entry).where(Theme.slug == "better-care-fund", ThemeTag.polarity == Polarity.BARRIER, Entry.visibility == "public")
    ).first()
    assert tag.note in text_of(barriers)
    assert tag.note not in text_of(enablers)


def test_unknown_pages_are_a_friendly_404(content_client):
    for url in ["/entries/no-such-entry", "/sites/atlantis", "/themes/astrology", "/nothing-here", "/entries/%00", "/sites/" + "a" * 5000]:
        page = get_page(content_client, url, status=404)
        assert page.find("h1").get_text() == "Page not found"
        assert page.find("a", href="/search") is not None


def test_healthz_reports_ready(content_client):
    response = content_client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_unready_without_a_schema(blank_database_url, tmp_path):
    from kb import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "KB_INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": blank_database_url})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


def test_nhsuk_frontend_assets_are_served_and_paths_cannot_escape(content_client):
    css = content_client.get("/nhsuk/nhsuk-frontend.min.css")
    assert css.status_code == 200 and b".nhsuk-header" in css.data
    css.close()
    assert content_client.get("/nhsuk/../../package.json").status_code == 404
    assert content_client.get("/assets/%2e%2e/%2e%2e/package.json").status_code == 404


def test_entries_index_sends_readers_to_the_browse_page(content_client):
    response = content_client.get("/entries/")
    assert response.status_code == 302 and response.headers["Location"] == "/search"
