"""The content schema: what a valid entry, site and theme look like, and the messages for the rest."""

from __future__ import annotations

import pytest

from kb.services.content_io.schema import EntryRecord, SiteRecord, ThemeRecord, validate

VALID_ENTRY = {
    "title": "A title",
    "type": "case_study",
    "site": "sheffield",
    "published": "2015-04-01",
    "summary": "A summary.",
    "themes": [{"theme": "pooled-budgets", "polarity": "enabler", "note": "Because."}],
    "sources": [{"title": "A source", "url": "https://example.org", "date": "2015-04"}],
}
EVIDENCE = {
    "design": "before_after",
    "strength": 2,
    "provenance": "self_reported",
    "outcomes": [{"measure": "non_elective_admissions", "direction": "decrease", "value": "-34%"}],
}


def messages(model, data):
    return [p.message for p in validate(model, data)[1]]


def test_a_valid_entry_has_no_problems_and_gets_defaults():
    record, problems = validate(EntryRecord, VALID_ENTRY)
    assert problems == []
    assert (record.status, record.visibility) == ("published", "public")


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"type": "blog"}, "type: must be 'case_study', 'intervention' or 'evidence'"),
        ({"title": ""}, "title: string should have at least 1 character"),
        ({"title": "x" * 201}, "title: string should have at most 200 characters"),
        ({"summary": "two\nlines"}, "summary: must be one line of text without control characters"),
        ({"site": "Not A Slug"}, "site: must be a slug (lowercase letters, digits and single hyphens)"),
        ({"published": "1 April 2015"}, "published: must be a date written YYYY-MM-DD"),
        ({"published": "2015-02-30"}, "published: input should be a valid date or datetime, day value is outside expected range"),
        ({"themes": []}, "themes: list should have at least 1 item after validation, not 0"),
        ({"themes": [{"theme": "x", "polarity": "maybe", "note": "n"}]}, "themes.0.polarity: must be 'enabler' or 'barrier'"),
        ({"themes": [{"theme": "x", "polarity": "enabler"}]}, "themes.0.note: is required"),
        ({"sources": [{"title": "t", "url": "javascript:alert(1)"}]}, "sources.0.url: must be an http:// or https:// address with no spaces"),
        ({"sources": [{"title": "t", "date": "April 2015"}]}, "sources.0.date: must be a date written YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"colour": "blue"}, "colour: is not a known field"),
        ({"evidence": EVIDENCE}, "evidence: is only allowed on evidence entries"),
        ({"type": "evidence"}, "evidence: is required for evidence entries"),
        ({"published": None}, "published: a published or archived entry needs a published date"),
        ({"updated": "2014-01-01"}, "updated: is before the published date"),
        ({"other_sites": ["sheffield"]}, "other_sites: repeats the main site 'sheffield'"),
    ],
)
def test_entry_problems_are_described_plainly(change, expected):
    data = {key: value for key, value in {**VALID_ENTRY, **change}.items() if value is not None}
    assert expected in messages(EntryRecord, data)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"strength": 6}, "evidence.strength: input should be less than or equal to 5"),
        ({"strength": "3"}, "evidence.strength: input should be a valid integer"),
        ({"design": "anecdote"}, "evidence.design: must be"),
        ({"outcomes": []}, "evidence.outcomes: list should have at least 1 item after validation, not 0"),
        ({"outcomes": [{"measure": "x", "direction": "down", "value": "1"}]}, "evidence.outcomes.0.direction: must be"),
    ],
)
def test_evidence_problems_are_described_plainly(change, expected):
    data = {**VALID_ENTRY, "type": "evidence", "evidence": {**EVIDENCE, **change}}
    assert any(m.startswith(expected) for m in messages(EntryRecord, data))


def test_yaml_numbers_and_dates_in_text_fields_are_kept_as_written():
    data = {**VALID_ENTRY, "type": "evidence", "sources": [{"title": "t", "date": 2015}],
            "evidence": {**EVIDENCE, "outcomes": [{"measure": "m", "direction": "decrease", "value": 12, "period": 2015}]}}
    record, problems = validate(EntryRecord, data)
    assert problems == []
    assert record.sources[0].date == "2015"
    assert (record.evidence.outcomes[0].value, record.evidence.outcomes[0].period) == ("12", "2015")


def test_repeated_theme_tags_and_links_are_refused_but_both_polarities_allowed():
    themes = [
        {"theme": "a", "polarity": "enabler", "note": "n"},
        {"theme": "a", "polarity": "barrier", "note": "n"},
        {"theme": "a", "polarity": "enabler", "note": "again"},
    ]
    links = [{"rel": "describes", "entry": "b"}, {"rel": "describes", "entry": "b"}]
    assert messages(EntryRecord, {**VALID_ENTRY, "themes": themes, "links": links}) == [
        "themes.2: a is already tagged as enabler",
        "links.1: repeats an earlier link",
    ]


def test_front_matter_must_be_a_mapping():
    assert messages(EntryRecord, ["a", "list"]) == ["front matter must be a set of 'key: value' lines"]


def test_sites_need_a_wave_only_when_they_are_pioneers():
    base = {"name": "X", "kind": "pioneer", "region": "London", "summary": "S"}
    assert messages(SiteRecord, base) == ["wave: pioneers need a wave (1 or 2)"]
    assert messages(SiteRecord, {**base, "wave": 3}) == ["wave: must be 1 or 2"]
    assert messages(SiteRecord, {**base, "kind": "comparator", "wave": 1}) == ["wave: only pioneers have a wave"]
    assert messages(SiteRecord, {**base, "wave": 2, "website": "ftp://x"}) == ["website: must be an http:// or https:// address with no spaces"]


def test_theme_needs_every_field():
    assert sorted(messages(ThemeRecord, {"slug": "x"})) == ["definition: is required", "group: is required", "name: is required"]
