"""Evidence strength where readers choose (issue 14): strength and provenance on every listing,
"Strongest evidence first", the sentence for a theme or search with no evaluated evidence, and
an evidence box whose words never name a design other than the entry's own — on the real content."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, EntryType, EvidenceDesign, Theme, ThemeTag
from tests.factories import make_entry, make_user
from tests.pages import get_page, text_of

LEWIS = "network-lewis-2021-decade-of-national-pilots"
NO_EVIDENCE = "No evaluated evidence on this theme yet"


def _public() -> dict[str, Entry]:
    entries = db.session.scalars(select(Entry).where(Entry.visibility == "public", Entry.status == "published"))
    return {e.slug: e for e in entries}


def _slugs(client, url: str) -> list[str]:
    """Every result slug of a search, following the "Next" links."""
    slugs = []
    while url:
        page = get_page(client, url)
        slugs += [a["href"].rsplit("/", 1)[1] for a in page.select("#results a.nhsuk-card__link")]
        nxt = page.find("a", class_="nhsuk-pagination__link--next")
        url = nxt["href"] if nxt else None
    return slugs


def _strength_order(entry: Entry) -> tuple:
    return (0, -entry.evidence_strength) if entry.type is EntryType.EVIDENCE else (1, 0)


def _themes_by_evidence() -> tuple[list[Theme], list[Theme]]:
    """Themes tagged by some public evidence entry, and themes tagged by public entries but no evidence."""
    public = (Entry.visibility == "public", Entry.status == "published")
    with_evidence = set(db.session.scalars(select(ThemeTag.theme_id).join(Entry, ThemeTag.entry_id == Entry.id)
                                           .where(*public, Entry.type == EntryType.EVIDENCE)))
    used = set(db.session.scalars(select(ThemeTag.theme_id).join(Entry, ThemeTag.entry_id == Entry.id).where(*public)))
    themes = db.session.scalars(select(Theme).order_by(Theme.position)).all()
    return [t for t in themes if t.id in with_evidence], [t for t in themes if t.id in used - with_evidence]


# --- strongest evidence first -------------------------------------------------------------------
def test_strongest_evidence_first_lists_evidence_by_strength_then_newest_then_everything_else(content_client):
    entries = _public()
    listed = _slugs(content_client, "/search?sort=strength")
    expected = sorted(entries.values(), key=lambda e: (*_strength_order(e), -e.published_on.toordinal(), e.title.casefold()))
    assert listed == [e.slug for e in expected]
    strengths = [entries[s].evidence_strength for s in listed if entries[s].type is EntryType.EVIDENCE]
    assert len(set(strengths)) >= 3 and strengths == sorted(strengths, reverse=True)


def test_strongest_evidence_first_with_words_keeps_best_match_within_each_strength(content_client):
    entries = _public()
    by_relevance = _slugs(content_client, "/search?" + urlencode({"q": "admissions"}))
    by_strength = _slugs(content_client, "/search?" + urlencode({"q": "admissions", "sort": "strength"}))
    assert set(by_strength) == set(by_relevance) and len(by_strength) > 5
    assert by_strength == sorted(by_relevance, key=lambda s: _strength_order(entries[s]))  # a stable sort


def test_strength_sort_is_offered_chosen_and_kept_in_links(content_client):
    page = get_page(content_client, "/search?sort=strength")
    option = page.find("select", id="sort").find("option", value="strength")
    assert text_of(option) == "Strongest evidence first" and option.has_attr("selected")
    assert "sort=strength" in page.find("a", class_="nhsuk-pagination__link--next")["href"]
    assert "sort=strength" in page.select_one("#facet-type a")["href"]
    assert content_client.get("/feeds/search.atom?q=care&sort=strength").status_code == 200


def test_an_unknown_sort_is_still_a_clear_400(content_client):
    response = content_client.get("/search?sort=strongest")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "not a sort order" in text and "strength" in text


# --- strength on every listing ---------------------------------------------------------------------
def test_result_cards_show_type_strength_as_a_scale_and_words_and_provenance(content_client):
    entries = _public()
    page = get_page(content_client, "/search?type=evidence&sort=strength")
    cards = page.select("#results li.nhsuk-card")
    assert cards
    for card in cards:
        entry = entries[card.select_one("a.nhsuk-card__link")["href"].rsplit("/", 1)[1]]
        assert text_of(card.select_one(".nhsuk-tag")) == "Evaluation evidence"
        dots = card.select_one(".kb-strength__dots")
        assert dots["aria-hidden"] == "true"
        assert dots.get_text() == "●" * entry.evidence_strength + "○" * (5 - entry.evidence_strength)
        assert f"Strength {entry.evidence_strength} of 5" in text_of(card.select_one(".kb-strength"))
        assert text_of(card.select_one(".kb-provenance")).startswith("·")
    assert "Self-reported figures" in text_of(page.find(id="results"))
    case_studies = get_page(content_client, "/search?type=case_study").select("#results li.nhsuk-card")
    assert case_studies and not any(c.select(".kb-strength") for c in case_studies)


def test_theme_lists_show_type_and_strength_and_keep_the_reason_on_every_tag(content_client):
    [theme, *_], _ = _themes_by_evidence()
    page = get_page(content_client, f"/themes/{theme.slug}")
    for side in page.select("section.kb-side"):
        cards = side.select("li.nhsuk-card")
        for card in cards:
            assert card.select_one(".nhsuk-tag") and text_of(card.select_one(".kb-card-reason"))
    cards = page.select("section.kb-side li.nhsuk-card")
    assert any(c.select(".kb-strength") for c in cards)
    notes = set(db.session.scalars(select(ThemeTag.note).where(ThemeTag.theme_id == theme.id)))
    assert {text_of(c.select_one(".kb-card-reason")) for c in cards} <= notes


def test_site_pages_and_the_home_page_show_strength_on_evidence_cards(content_client):
    site_page = get_page(content_client, "/sites/south-devon-torbay")
    card = next(c for c in site_page.select("li.nhsuk-card") if "wellbeing-coordinator-evaluation" in c.a["href"])
    assert "Evaluation evidence" in text_of(card) and "Strength 2 of 5" in text_of(card) and "Peer-reviewed" in text_of(card)
    home = get_page(content_client, "/")
    for card in home.select("li.nhsuk-card"):
        is_evidence = text_of(card.select_one(".nhsuk-tag")) == "Evaluation evidence"
        assert bool(card.select(".kb-strength")) == is_evidence


# --- no evaluated evidence ------------------------------------------------------------------------
def test_a_theme_without_evidence_says_so_and_one_with_evidence_links_to_it_strongest_first(content_client):
    with_evidence, without = _themes_by_evidence()
    assert with_evidence and without
    page = get_page(content_client, f"/themes/{without[0].slug}")
    assert NO_EVIDENCE in text_of(page.find(id="theme-evidence"))
    theme = with_evidence[0]
    count = db.session.scalar(
        select(func.count(func.distinct(Entry.id))).join(ThemeTag, ThemeTag.entry_id == Entry.id)
        .where(ThemeTag.theme_id == theme.id, Entry.type == EntryType.EVIDENCE, Entry.visibility == "public",
               Entry.status == "published"))
    page = get_page(content_client, f"/themes/{theme.slug}")
    link = page.find(id="theme-evidence").find("a")
    assert NO_EVIDENCE not in text_of(page.find("main")) and text_of(link).startswith(f"{count} evaluation evidence")
    assert "type=evidence" in link["href"] and "sort=strength" in link["href"]


def test_network_only_evidence_is_not_counted_for_anonymous_readers(content_app, content_client):
    _, without = _themes_by_evidence()
    theme = without[0]
    make_entry("quokkafish-case", title="Quokkafish case", theme=theme)
    make_entry("quokkafish-evidence", title="Quokkafish evidence", type="evidence", theme=theme, visibility="network",
               evidence={"design": "before_after", "strength": 2, "provenance": "local_evaluation",
                         "outcomes": [{"measure": "non_elective_admissions", "direction": "decrease", "value": "-5%"}]})
    anonymous = get_page(content_client, f"/themes/{theme.slug}")
    assert NO_EVIDENCE in text_of(anonymous.find(id="theme-evidence"))
    assert get_page(content_client, "/search?q=quokkafish").find(id="no-evidence")

    member = content_app.test_client(user=make_user())
    page = get_page(member, f"/themes/{theme.slug}")
    assert text_of(page.find(id="theme-evidence")).startswith("1 evaluation evidence entry")
    assert not get_page(member, "/search?q=quokkafish").find(id="no-evidence")


def test_a_search_with_evidence_has_no_no_evidence_sentence(content_client):
    assert not get_page(content_client, "/search?q=admissions").find(id="no-evidence")
    assert not get_page(content_client, "/search?type=evidence").find(id="no-evidence")


# --- how strong is this evidence? -----------------------------------------------------------------
def _strength_words(page) -> str:
    """The evidence box without its outcomes table (the reported figures, in their sources' words)."""
    box = page.find(id="evidence-summary")
    box.find("table").decompose()
    return text_of(box)


DESIGN_WORDS = {
    EvidenceDesign.RCT: ["randomised", "random"],
    EvidenceDesign.QUASI_EXPERIMENTAL: ["quasi"],
    EvidenceDesign.CONTROLLED_BEFORE_AFTER: ["controlled before", "control group"],
    EvidenceDesign.BEFORE_AFTER: ["before and after", "before–after", "before-after"],
    EvidenceDesign.TIME_SERIES: ["time series"],
    EvidenceDesign.QUALITATIVE: ["qualitative"],
    EvidenceDesign.ECONOMIC: ["economic"],
    EvidenceDesign.DESCRIPTIVE: ["descriptive"],
}


def test_lewis_2021_evidence_box_names_only_its_own_design(content_client):
    page = get_page(content_client, f"/entries/{LEWIS}")
    words = _strength_words(page).lower()
    assert "qualitative" in words and "strength 2 of 5" in words
    assert page.find(id="evidence-summary").find("a", string="How we rate evidence")["href"] == "/how-we-rate-evidence"
    for design, names in DESIGN_WORDS.items():
        if design is not EvidenceDesign.QUALITATIVE:
            assert not any(name in words for name in names), design


def test_no_evidence_box_names_a_design_other_than_its_own(content_client):
    evidence = [e for e in _public().values() if e.type is EntryType.EVIDENCE]
    assert len(evidence) > 20
    for entry in evidence:
        words = _strength_words(get_page(content_client, f"/entries/{entry.slug}")).lower()
        assert f"strength {entry.evidence_strength} of 5" in words, entry.slug
        words = words.replace(entry.evidence_design.label.lower(), "")  # its own design, named once
        others = [n for design, names in DESIGN_WORDS.items() if design is not entry.evidence_design for n in names]
        assert not [n for n in others if re.search(rf"\b{re.escape(n)}", words)], entry.slug


def test_an_entry_with_its_own_strength_reason_shows_it_before_what_the_level_means(content_app, content_client):
    reason = "One area's figures before and after, with no comparison area; the programme counted them itself."
    make_entry("own-reason", type="evidence", title="Own reason", evidence={
        "design": "before_after", "strength": 2, "strength_reason": reason, "provenance": "self_reported",
        "outcomes": [{"measure": "emergency admissions", "direction": "decrease", "value": "-5%"}]})
    make_entry("no-reason", type="evidence", title="No reason", evidence={
        "design": "before_after", "strength": 2, "provenance": "self_reported",
        "outcomes": [{"measure": "emergency admissions", "direction": "decrease", "value": "-5%"}]})
    page = get_page(content_client, "/entries/own-reason")
    assert text_of(page.find(id="evidence-reason")) == reason
    assert text_of(page.find(id="evidence-level")).startswith("What strength 2 means: ")
    generic = get_page(content_client, "/entries/no-reason")
    assert generic.find(id="evidence-level") is None
    assert text_of(generic.find(id="evidence-reason")) == text_of(page.find(id="evidence-level")).removeprefix(
        "What strength 2 means: ")
