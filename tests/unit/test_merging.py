"""Three-way merges of entry records: what combines cleanly and what is a conflict."""

from __future__ import annotations

from kb.services.merging import merge_records, merge_text

BASE = "Sheffield pooled £270m.\n\nThe pool covered older people's care.\n\nLeaders met monthly.\n"


def test_edits_to_different_paragraphs_both_survive():
    mine = BASE.replace("£270m", "£270 million")
    theirs = BASE.replace("monthly", "every fortnight")
    merged = merge_text(BASE, mine, theirs)
    assert merged == "Sheffield pooled £270 million.\n\nThe pool covered older people's care.\n\nLeaders met every fortnight.\n"


def test_edits_to_different_words_of_one_paragraph_both_survive():
    base = "The joint team cut admissions by ten per cent in the first year."
    mine = "The joint team cut emergency admissions by ten per cent in the first year."
    theirs = "The joint team cut admissions by ten per cent in its first full year."
    assert merge_text(base, mine, theirs) == "The joint team cut emergency admissions by ten per cent in its first full year."


def test_different_changes_to_the_same_words_are_a_conflict():
    assert merge_text("Leaders met monthly.", "Leaders met weekly.", "Leaders met quarterly.") is None


def test_one_sided_and_identical_changes_need_no_merge():
    assert merge_text(BASE, BASE, "new") == "new"
    assert merge_text(BASE, "mine", BASE) == "mine"
    assert merge_text(BASE, "same", "same") == "same"


def _record(**fields):
    record = {
        "title": "Pooled budget",
        "type": "case_study",
        "site": "sheffield",
        "summary": "A pooled budget.",
        "themes": [{"theme": "pooled-budgets", "polarity": "enabler", "note": "Shared risk"}],
        "sources": [{"title": "Report"}],
        "body": BASE,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def test_records_merge_field_by_field():
    base = _record()
    mine = _record(title="A £270m pooled budget", body=BASE.replace("£270m", "£270 million"))
    theirs = _record(
        themes=[{"theme": "pooled-budgets", "polarity": "barrier", "note": "Rules"}],
        body=BASE.replace("monthly", "weekly"),
        review_by="2027-01-01",
    )
    result = merge_records(base, mine, theirs)
    assert result.clean
    assert result.record["title"] == "A £270m pooled budget"
    assert result.record["themes"] == theirs["themes"]
    assert result.record["review_by"] == "2027-01-01"
    assert "£270 million" in result.record["body"] and "weekly" in result.record["body"]
    assert result.merged_fields == ["body"]


def test_a_field_both_changed_differently_is_a_conflict_keeping_both_values():
    base = _record()
    mine = _record(sources=[{"title": "Report"}, {"title": "Mine"}], body="My own text.\n")
    theirs = _record(sources=[{"title": "Theirs"}], body="Their text.\n")
    result = merge_records(base, mine, theirs)
    assert not result.clean
    conflicts = {c.name: c for c in result.conflicts}
    assert set(conflicts) == {"sources", "body"}
    assert conflicts["body"].mine == "My own text.\n" and conflicts["body"].theirs == "Their text.\n"
    assert conflicts["sources"].mine == mine["sources"] and conflicts["sources"].theirs == theirs["sources"]


def test_a_field_removed_on_one_side_and_untouched_on_the_other_is_removed():
    base = _record(review_by="2026-01-01")
    mine = _record()
    theirs = _record(review_by="2026-01-01", title="New title")
    result = merge_records(base, mine, theirs)
    assert result.clean and "review_by" not in result.record and result.record["title"] == "New title"
