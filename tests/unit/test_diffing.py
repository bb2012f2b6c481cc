"""The word-level diff of prose and the field-by-field comparison of entry records (no app)."""

from __future__ import annotations

import random

import pytest

from kb.services.diffing import DELETE, EQUAL, GAP, INSERT, Segment, has_changes, tokenize, with_context, word_diff
from kb.services.revisions import Line, Names, describe, field_changes


def _sides(segments: list[Segment]) -> tuple[str, str]:
    old = "".join(s.text for s in segments if s.kind in (EQUAL, DELETE))
    new = "".join(s.text for s in segments if s.kind in (EQUAL, INSERT))
    return old, new


def _pairs(segments: list[Segment]) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in segments]


# --- words ------------------------------------------------------------------------------------


def test_tokens_are_words_and_whitespace_and_join_back():
    text = "Pooled  budgets,\n\nreally.\tYes "
    assert tokenize(text) == ["Pooled", "  ", "budgets,", "\n\n", "really.", "\t", "Yes", " "]
    assert "".join(tokenize(text)) == text


def test_a_changed_word_is_one_deletion_and_one_insertion():
    segments = word_diff("Admissions fell by a fifth in 2015.", "Admissions fell by a quarter in 2015.")
    assert _pairs(segments) == [
        (EQUAL, "Admissions fell by a "), (DELETE, "fifth"), (INSERT, "quarter"), (EQUAL, " in 2015."),
    ]


def test_changed_neighbouring_words_read_as_one_change():
    segments = word_diff("one two three four five", "one TWO THREE four five")
    assert _pairs(segments) == [(EQUAL, "one "), (DELETE, "two three"), (INSERT, "TWO THREE"), (EQUAL, " four five")]


def test_short_shared_words_inside_a_rewrite_do_not_split_it():
    segments = word_diff("Admissions fell by a fifth.", "Admissions fell by nearly a quarter.")
    assert _pairs(segments) == [(EQUAL, "Admissions fell by "), (DELETE, "a fifth."), (INSERT, "nearly a quarter.")]
    rewrite = word_diff("The quick brown fox jumps over the lazy dog", "A slow red cat sits under the busy tree")
    assert [s.kind for s in rewrite] == [DELETE, INSERT]


def test_separate_changes_stay_separate():
    segments = word_diff("Admissions fell by a fifth in the first year.",
                         "Admissions fell by a quarter in the second year.")
    assert _pairs(segments) == [
        (EQUAL, "Admissions fell by a "), (DELETE, "fifth"), (INSERT, "quarter"), (EQUAL, " in the "),
        (DELETE, "first"), (INSERT, "second"), (EQUAL, " year."),
    ]


def test_insertions_deletions_and_whitespace_changes():
    assert _pairs(word_diff("", "New text")) == [(INSERT, "New text")]
    assert _pairs(word_diff("Old text", "")) == [(DELETE, "Old text")]
    assert _pairs(word_diff("Same", "Same")) == [(EQUAL, "Same")]
    assert _pairs(word_diff("", "")) == []
    assert _pairs(word_diff("One. Two.", "One.\n\nTwo.")) == [(EQUAL, "One."), (DELETE, " "), (INSERT, "\n\n"), (EQUAL, "Two.")]
    assert _pairs(word_diff("a b", "a b c")) == [(EQUAL, "a b"), (INSERT, " c")]


def test_markup_is_compared_as_plain_text():
    segments = word_diff("Safe text.", "Safe <script>alert(1)</script> text.")
    assert _pairs(segments) == [(EQUAL, "Safe "), (INSERT, "<script>alert(1)</script> "), (EQUAL, "text.")]


def _body(words: int, seed: int) -> str:
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(2000)] + ["the", "of", "and", "care", "health"] * 100
    paragraphs = []
    for _ in range(words // 60):
        sentence = [rng.choice(vocabulary) for _ in range(60)]
        paragraphs.append(" ".join(word + ("." if i % 15 == 14 else "") for i, word in enumerate(sentence)))
    return "\n\n".join(paragraphs)


def test_one_change_in_a_long_body_is_found_exactly():
    old = _body(20_000, seed=1)
    paragraphs = old.split("\n\n")
    paragraphs[200] = paragraphs[200].replace(" ", " CHANGED ", 1)
    new = "\n\n".join([paragraphs[0], "A new sentence here. " + paragraphs[1], *paragraphs[2:]])
    segments = word_diff(old, new)
    assert _sides(segments) == (old, new)
    assert [(s.kind, s.text) for s in segments if s.kind != EQUAL] == [
        (INSERT, "A new sentence here. "), (INSERT, "CHANGED "),
    ]


def test_every_paragraph_edited_in_a_long_body_is_found_paragraph_by_paragraph():
    old = _body(20_000, seed=2)
    paragraphs = old.split("\n\n")
    edited = [p.replace(" ", " EDIT ", 1) for p in paragraphs]
    segments = word_diff(old, "\n\n".join(edited))
    assert _sides(segments) == (old, "\n\n".join(edited))
    assert [s.text for s in segments if s.kind != EQUAL] == ["EDIT "] * len(paragraphs)


@pytest.mark.parametrize("seed", [3, 4])
def test_a_long_body_rewritten_or_reordered_still_diffs_completely(seed):
    old = _body(20_000, seed=seed)
    rewritten = _body(20_000, seed=seed + 10)
    shuffled = old.split("\n\n")
    random.Random(seed).shuffle(shuffled)
    for new in (rewritten, "\n\n".join(shuffled), old[: len(old) // 2] + rewritten[len(rewritten) // 2:]):
        segments = word_diff(old, new)
        assert _sides(segments) == (old, new)
        assert has_changes(segments)


def test_long_unchanged_stretches_are_cut_to_context():
    old = " ".join(f"w{i}" for i in range(500))
    new = old.replace("w250", "CHANGED")
    segments = with_context(word_diff(old, new), words=10)
    kinds = [s.kind for s in segments]
    assert kinds == [GAP, EQUAL, DELETE, INSERT, EQUAL, GAP]
    assert segments[1].text.split() == [f"w{i}" for i in range(240, 250)]
    assert segments[4].text.split() == [f"w{i}" for i in range(251, 261)]
    assert with_context(word_diff(old, old)) == [Segment(EQUAL, old)]


# --- fields -----------------------------------------------------------------------------------

RECORD = {
    "title": "A pooled budget",
    "type": "case_study",
    "site": "sheffield",
    "status": "draft",
    "visibility": "public",
    "summary": "Short.",
    "themes": [{"theme": "pooled-budgets", "polarity": "enabler", "note": "Joint ownership"}],
    "sources": [{"title": "An article", "url": "https://example.org/a", "date": "2015-04-01"}],
    "body": "Text.",
}
NAMES = Names(
    sites={"sheffield": "Sheffield", "leeds": "Leeds"},
    themes={"pooled-budgets": "Pooled budgets", "national-rules": "National rules"},
    entries={"an-intervention": "An intervention"},
)


def _table(changes) -> dict[str, tuple[str, list[str], list[str]]]:
    show = lambda lines: [("*" if line.changed else "") + line.text for line in lines]
    return {c.name: (c.label, show(c.before), show(c.after)) for c in changes}


def test_identical_records_have_no_field_changes():
    assert field_changes(RECORD, dict(RECORD), NAMES) == []


def test_prose_fields_are_not_in_the_field_table():
    assert field_changes(RECORD, {**RECORD, "title": "New", "summary": "New", "body": "New"}, NAMES) == []


def test_changed_enums_show_their_labels():
    new = {**RECORD, "type": "evidence", "status": "in_review", "visibility": "network",
           "evidence": {"design": "before_after", "strength": 2, "provenance": "self_reported",
                        "outcomes": [{"measure": "non_elective_admissions", "direction": "decrease",
                                      "value": "-34%", "period": "2014-15"}]}}
    assert _table(field_changes(RECORD, new, NAMES)) == {
        "type": ("Type", ["*Case study"], ["*Evaluation evidence"]),
        "status": ("Status", ["*Draft"], ["*In review"]),
        "visibility": ("Visibility", ["*Public"], ["*Network members only"]),
        "evidence.design": ("Study design", [], ["*Before–after"]),
        "evidence.strength": ("Strength of evidence", [], ["*2 out of 5"]),
        "evidence.provenance": ("Provenance", [], ["*Self-reported"]),
        "evidence.outcomes": ("Outcomes", [], ["*Non-elective (emergency) admissions: Decrease, -34% (2014-15)"]),
    }


def test_lists_show_readable_lines_and_mark_only_the_lines_that_changed():
    new = {
        **RECORD,
        "site": "leeds",
        "other_sites": ["sheffield"],
        "published": "2015-04-01",
        "themes": [*RECORD["themes"], {"theme": "national-rules", "polarity": "barrier", "note": "BCF templates"}],
        "sources": [{"title": "An article", "url": "https://example.org/a", "date": "2015-04-01"},
                    {"title": "A report", "date": "2016"}],
        "links": [{"rel": "evaluates", "entry": "an-intervention"}, {"rel": "describes", "entry": "gone"}],
    }
    assert _table(field_changes(RECORD, new, NAMES)) == {
        "site": ("Site", ["*Sheffield"], ["*Leeds"]),
        "other_sites": ("Other sites involved", [], ["*Sheffield"]),
        "published": ("Date of the work or source", [], ["*1 April 2015"]),
        "themes": ("Enablers and barriers", ["Pooled budgets — enabler: Joint ownership"],
                   ["Pooled budgets — enabler: Joint ownership", "*National rules — barrier: BCF templates"]),
        "sources": ("Sources", ["An article (2015-04-01) — https://example.org/a"],
                    ["An article (2015-04-01) — https://example.org/a", "*A report (2016)"]),
        "links": ("Links to other entries", [], ["*Evaluates: An intervention", "*Describes: gone"]),
    }


def test_a_theme_tag_whose_polarity_changed_is_one_line_out_one_line_in():
    new = {**RECORD, "themes": [{"theme": "pooled-budgets", "polarity": "barrier", "note": "Joint ownership"}]}
    [change] = field_changes(RECORD, new, NAMES)
    assert change.before == [Line("Pooled budgets — enabler: Joint ownership", changed=True)]
    assert change.after == [Line("Pooled budgets — barrier: Joint ownership", changed=True)]


def test_reordering_a_list_is_a_change_with_no_line_marked():
    two = {**RECORD, "other_sites": ["leeds", "sheffield"]}
    [change] = field_changes(two, {**RECORD, "other_sites": ["sheffield", "leeds"]}, NAMES)
    assert [line.changed for line in change.before + change.after] == [False] * 4


def test_unknown_slugs_values_and_keys_are_shown_as_stored():
    old = {**RECORD, "type": "retired_type"}
    new = {**RECORD, "site": None, "themes": [{"theme": "gone", "polarity": "enabler", "note": "n"}], "colour": "blue"}
    table = _table(field_changes(old, new, NAMES))
    assert table["type"] == ("Type", ["*retired_type"], ["*Case study"])
    assert table["site"] == ("Site", ["*Sheffield"], ["*Network-wide"])
    assert table["themes"][2] == ["*gone — enabler: n"]
    assert table["colour"] == ("Colour", [], ["*blue"])


def test_describe_lists_every_field_of_a_record_for_the_revision_page():
    rows = {name: (label, lines) for name, label, lines in describe(RECORD, NAMES)}
    assert rows["type"] == ("Type", ["Case study"])
    assert rows["themes"] == ("Enablers and barriers", ["Pooled budgets — enabler: Joint ownership"])
    assert rows["published"] == ("Date of the work or source", [])
    assert "evidence.design" not in rows  # not an evidence entry
    assert "body" not in rows and "title" not in rows
