"""Plain-text emails read well: paragraphs apart, prose wrapped at 72 characters, links whole."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from kb.models import Visibility

from kb.mail import render_message

EXPIRES = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)
# A link as long as a real one, with hyphens where a naive wrap would break it.
LINK = "http://kb.test/account/invitation/" + "-".join(["AbCdEf0123456789"] * 6)
PERSON = SimpleNamespace(name="Ann Editor", email="ann@example.nhs.uk")
LEAD = SimpleNamespace(name="Bob Lead")
SITE = SimpleNamespace(name="Sheffield")


ENTRY = SimpleNamespace(title="Joint emergency teams in Greenwich", site=SITE, visibility=Visibility.PUBLIC)
FEEDBACK = SimpleNamespace(doing="Looking for evidence on care navigators for our board paper next week.",
                           problem="The search found nothing for coordinators without the hyphen.",
                           reply_to="ann@example.nhs.uk")


def _context(name: str) -> dict:
    if name in ("entry_published", "entry_returned"):
        return {"person": PERSON, "actor": LEAD, "entry": ENTRY, "link": LINK, "note": "Please add the 2016 figures."}
    if name == "feedback":
        return {"feedback": FEEDBACK, "received": EXPIRES, "link": LINK}
    if name == "invitation":
        return {"person": PERSON, "inviter": LEAD, "link": LINK, "expires": EXPIRES,
                "sites": [(SITE, SimpleNamespace(label="Editor"))]}
    if name == "password_reset":
        return {"person": PERSON, "link": LINK, "expires": EXPIRES, "sign_in": "http://kb.test/sign-in"}
    return {"reviewer": LEAD, "author": PERSON, "link": LINK, "note": "Please check the 2015 figures.\nThanks",
            "entry": SimpleNamespace(title="Joint emergency teams in Greenwich", site=SITE)}


def _paragraphs(text: str) -> list[str]:
    return [block for block in text.split("\n\n") if block.strip()]


@pytest.mark.parametrize("name", ["invitation", "password_reset", "review_requested", "entry_published",
                                  "entry_returned", "feedback"])
def test_plain_text_lines_are_wrapped_and_links_kept_whole_on_their_own_line(app, name):
    with app.test_request_context():
        text = render_message(name, "ann@example.nhs.uk", **_context(name)).text
    if name != "feedback":  # the one email without a link
        assert LINK + "\n" in text and "\n" + LINK in text
    long_lines = [line for line in text.splitlines() if len(line) > 72 and "http" not in line]
    assert long_lines == []
    assert "\n\n\n" not in text  # one blank line between paragraphs, never more


def test_the_invitation_sets_its_roles_apart_from_the_paragraphs_around_them(app):
    with app.test_request_context():
        text = render_message("invitation", "ann@example.nhs.uk", **_context("invitation")).text
    assert "Your roles:\n  - Editor of Sheffield" in _paragraphs(text)
    assert "To set up your account, choose a password at this address:" in _paragraphs(text)


def test_the_review_request_sets_the_note_apart_and_keeps_its_lines(app):
    with app.test_request_context():
        text = render_message("review_requested", "lead@example.nhs.uk", **_context("review_requested")).text
    paragraphs = _paragraphs(text)
    assert paragraphs[paragraphs.index("Their note:") + 1] == "Please check the 2015 figures.\nThanks"
    assert "  Joint emergency teams in Greenwich" in paragraphs
