"""Reader filters: parsing URL parameters, clear refusals, and URLs that round-trip."""

from __future__ import annotations

import pytest

from kb.services.errors import BadRequest
from kb.services.filters import MAX_QUERY_LENGTH, Filters


def test_no_parameters_means_browse_everything():
    filters = Filters.from_args({})
    assert filters.is_empty and filters.page == 1 and filters.effective_sort == "newest"


def test_all_filters_parse():
    filters = Filters.from_args(
        {"q": " care  navigator ", "type": "evidence", "site": "greenwich", "theme": "data-sharing",
         "polarity": "barrier", "year": "2015", "strength": "3", "sort": "title", "page": "2"}
    )
    assert filters == Filters("care  navigator", "evidence", "greenwich", "data-sharing", "barrier", 2015, 3, "title")
    assert filters.page == 2


@pytest.mark.parametrize(
    "args, message",
    [
        ({"page": "abc"}, "The page number must be a whole number from 1 to 10000, not 'abc'."),
        ({"page": "0"}, "page number must be a whole number"),
        ({"page": "-1"}, "page number must be a whole number"),
        ({"year": "twenty"}, "The year must be a whole number"),
        ({"strength": "9"}, "strength of evidence must be a whole number from 1 to 5"),
        ({"type": "blog"}, "'blog' is not a type of entry this site knows"),
        ({"polarity": "neutral"}, "'neutral' is not a enabler or barrier"),
        ({"sort": "random"}, "'random' is not a sort order"),
        ({"site": "../etc/passwd"}, "'../etc/passwd' is not a valid site."),
        ({"theme": "<script>"}, "'<script>' is not a valid theme."),
        ({"q": "x" * (MAX_QUERY_LENGTH + 1)}, "Your search is too long"),
    ],
)
def test_bad_values_are_refused_with_a_message(args, message):
    with pytest.raises(BadRequest) as caught:
        Filters.from_args(args)
    assert message in caught.value.message


def test_control_characters_in_the_query_become_spaces():
    assert Filters.from_args({"q": "a\x00b\x1bc"}).q == "a b c"


def test_to_args_leaves_out_defaults_and_resets_the_page_when_a_filter_changes():
    filters = Filters.from_args({"type": "evidence", "page": "3"})
    assert filters.to_args(page=4) == {"type": "evidence", "page": "4"}
    assert filters.to_args(site="camden") == {"type": "evidence", "site": "camden"}
    assert filters.to_args(type=None) == {}


def test_to_args_round_trips():
    filters = Filters.from_args({"q": "x", "theme": "housing", "polarity": "enabler", "sort": "oldest", "page": "2"})
    assert Filters.from_args(filters.to_args(page=2)) == filters
