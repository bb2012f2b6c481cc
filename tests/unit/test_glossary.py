"""The glossary: reading content/glossary.yml with errors that name the file and the item, and
expanding every form of a term into all of its forms, in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kb.search.glossary import Glossary, GlossaryError, GlossaryItem, load_items
from kb.search.querytext import join, tokenize
from kb.search.whoosh_query import analyse

CONTENT_GLOSSARY = Path(__file__).parents[2] / "content" / "glossary.yml"
IG = {"term": "IG", "expansion": "information governance", "definition": "Rules for handling personal information."}
DTOC = {"term": "DToC", "expansion": "delayed transfers of care", "also": ["delayed discharge"], "definition": "Waiting to leave."}


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "glossary.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _glossary(*records: dict) -> Glossary:
    return Glossary.build([GlossaryItem.model_validate(r) for r in records], analyse)


def _expand(glossary: Glossary, text: str) -> str:
    return join(glossary.expand(tokenize(text), analyse))


# --- loading ------------------------------------------------------------------------------------


def test_the_real_glossary_loads_and_builds():
    items = load_items(CONTENT_GLOSSARY)
    raw = yaml.safe_load(CONTENT_GLOSSARY.read_text(encoding="utf-8"))
    assert [i.term for i in items] == [r["term"] for r in raw] and len(items) >= 40
    glossary = Glossary.build(items, analyse)
    assert sorted(i.term.lower() for i in glossary.items) == [i.term.lower() for i in glossary.items]


def test_a_missing_or_empty_file_is_an_empty_glossary(tmp_path):
    assert load_items(tmp_path / "nowhere.yml") == []
    assert load_items(_write(tmp_path, "")) == []
    assert _glossary().expand(tokenize("IG"), analyse) == tokenize("IG")


@pytest.mark.parametrize("data, message", [
    ("terms: [", "not valid YAML"),
    ({"term": "IG"}, "expected a list of terms"),
    ("just words", "expected a list of terms"),
    ([IG, {"term": "X", "expansion": "y"}], "item 2: definition: Field required"),
    ([{**IG, "colour": "red"}], "item 1: colour: Extra inputs are not permitted"),
    ([{**IG, "term": "<b>IG</b>"}], "item 1: term: Value error, use letters, digits, spaces, hyphens, apostrophes and & only"),
    ([{**IG, "term": "NOT"}], "item 1: term: Value error"),
    ([{**IG, "expansion": "one two three four five six seven"}], "item 1: expansion: Value error, a form may have at most 6 words"),
    ([{**IG, "also": ["fine", "not:fine"]}], "item 1: also: Value error, use letters"),
    ([{**IG, "definition": "x" * 301}], "item 1: definition: String should have at most 300 characters"),
])
def test_errors_name_the_file_the_item_and_the_problem(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(GlossaryError) as error:
        load_items(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    path = tmp_path / "glossary.yml"
    path.write_bytes(b"- term: caf\xe9\n")
    with pytest.raises(GlossaryError, match="not valid YAML"):
        load_items(path)


def test_forms_have_their_spaces_tidied():
    item = GlossaryItem.model_validate({**IG, "expansion": "  information \t governance "})
    assert item.expansion == "information governance" and item.forms == ("IG", "information governance")


@pytest.mark.parametrize("other", [
    {"term": "InfoGov", "expansion": "Information Governance", "definition": "d"},
    {"term": "Ig", "expansion": "something else", "definition": "d"},
    {"term": "IGOV", "expansion": "xyz", "also": ["information governances"], "definition": "d"},  # same words once analysed
])
def test_two_items_may_not_share_a_form(other):
    with pytest.raises(GlossaryError, match=r"is also a form of"):
        _glossary(IG, other)


def test_a_form_made_only_of_stop_words_is_rejected():
    with pytest.raises(GlossaryError, match="'The' \\(under The\\) has no words search can use"):
        _glossary({"term": "The", "expansion": "the thing", "definition": "d"})


# --- expanding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["IG", "ig", "information governance", "Information Governance", '"information governance"'])
def test_an_acronym_and_its_expansion_both_become_all_forms(text):
    assert _expand(_glossary(IG), text) == '( IG OR "information governance" )'


def test_a_multi_word_form_matches_other_forms_of_its_words_and_the_longest_form_wins():
    glossary = _glossary({"term": "TD", "expansion": "transfer delay", "definition": "d"},
                         {"term": "TDP", "expansion": "transfer delay payments", "definition": "d"})
    assert _expand(glossary, "transfers delays payment now") == '( TDP OR "transfer delay payments" ) now'
    assert _expand(glossary, "transfer delays now") == '( TD OR "transfer delay" ) now'


@pytest.mark.parametrize("text", ["delayed transfers of care", "delayed transfer of care", "DELAYED DISCHARGES"])
def test_a_form_with_stop_words_in_it_is_found_as_typed(text):
    assert _expand(_glossary(DTOC), text) == '( DToC OR "delayed transfers of care" OR "delayed discharge" )'


def test_every_form_of_the_real_glossary_expands_to_all_the_forms_of_its_item():
    glossary = Glossary.build(load_items(CONTENT_GLOSSARY), analyse)
    wrong = {}
    for number, item in enumerate(glossary.items):
        group = join(glossary._group(number))
        wrong |= {form: _expand(glossary, form) for form in item.forms if _expand(glossary, form) != group}
    assert wrong == {}


def test_surrounding_words_operators_and_brackets_are_kept():
    glossary = _glossary(IG, DTOC)
    assert _expand(glossary, "care NOT (IG OR dtoc)") == (
        'care NOT ( ( IG OR "information governance" ) OR ( DToC OR "delayed transfers of care" OR "delayed discharge" ) )'
    )


def test_prefixes_and_phrases_that_are_not_a_form_are_left_alone():
    glossary = _glossary(IG)
    assert _expand(glossary, 'IG* "information governance board" governance') == 'IG* "information governance board" governance'


def test_forms_with_symbols_stay_searchable_as_one_word():
    glossary = _glossary({"term": "A&E", "expansion": "accident and emergency", "also": ["diff-in-diff"], "definition": "d"})
    expected = '( A&E OR "accident and emergency" OR "diff-in-diff" )'
    assert _expand(glossary, "A&E") == _expand(glossary, "a&e") == _expand(glossary, "diff-in-diff") == expected
    assert _expand(glossary, "A E") == "A E"
