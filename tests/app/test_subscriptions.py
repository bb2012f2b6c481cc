"""Subscriptions: saving searches and following sites and themes from their pages, managing them
on /account/subscriptions (owner only, CSRF-protected), and the preview of the next digest."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, Frequency, NetworkRole, Subscription, User
from kb.services import entries as entry_service
from kb.services import subscriptions as service
from kb.services import users
from kb.services.errors import BadRequest, NotAllowed, NotFound
from kb.services.filters import Filters
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page, main_text

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
T0 = datetime(2015, 1, 1, tzinfo=timezone.utc)
SEARCH = "/search?q=frailty&type=evidence&site=testshire&theme=leadership&polarity=barrier&year=2015&strength=3"


def csrf(text: str) -> str:
    match = CSRF.search(text)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def world(app):
    site = make_site("testshire", name="Testshire")
    theme = make_theme("leadership", name="Leadership")
    make_site("otherton")
    return site, theme


@pytest.fixture
def member(app):
    return make_user(password_hash="x", name="Mo Member")


def count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Subscription).where(Subscription.user_id == user.id))


def subscription_of(user: User) -> Subscription:
    db.session.expire_all()
    return db.session.scalars(select(Subscription).where(Subscription.user_id == user.id)).one()


def form_fields(page, form) -> dict[str, str]:  # noqa: ANN001
    return {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}


# --- saving and following from the pages --------------------------------------------------------


def test_saving_a_search_keeps_its_filters_exactly(app, world, member):
    client = app.test_client(user=member)
    page = get_page(client, SEARCH)
    form = page.find(id="subscribe").find("form")
    assert form["method"] == "post" and "Save this search" in form.get_text()
    saved = client.post(form["action"], data=form_fields(page, form), follow_redirects=True)
    assert saved.status_code == 200 and "Subscribed:" in saved.get_data(as_text=True)

    subscription = subscription_of(member)
    assert service.filters_of(subscription) == Filters.from_args(dict(
        q="frailty", type="evidence", site="testshire", theme="leadership", polarity="barrier", year="2015",
        strength="3"))
    assert subscription.frequency == Frequency.WEEKLY and subscription.last_sent_at is None
    listing = get_page(client, "/account/subscriptions")
    card = listing.find(id=f"subscription-{subscription.id}")
    search_links = [a["href"] for a in card.find_all("a") if a["href"].startswith("/search?")]
    assert search_links == [SEARCH]  # back to the very same search
    # The search page now says it is saved instead of offering the button again.
    again = get_page(client, SEARCH).find(id="subscribe")
    assert again.find("form") is None and subscription.name in again.get_text()


def test_sort_and_page_are_not_part_of_a_saved_search(app, world, member):
    client = app.test_client(user=member)
    token = csrf(client.get("/search").get_data(as_text=True))
    client.post("/account/subscriptions/search", data={"csrf_token": token, "q": "care", "sort": "title", "page": "3"})
    assert service.search_args(subscription_of(member)) == {"q": "care"}


def test_saving_the_same_search_twice_makes_one_and_says_so(app, world, member):
    client = app.test_client(user=member)
    token = csrf(client.get("/search").get_data(as_text=True))
    data = {"csrf_token": token, "q": "frailty", "site": "testshire"}
    client.post("/account/subscriptions/search", data=data)
    again = client.post("/account/subscriptions/search", data=data, follow_redirects=True)
    assert "You already have this subscription" in again.get_data(as_text=True)
    assert count(member) == 1
    # Following a site is the same filters as browsing it: no second copy either.
    client.post("/account/subscriptions/site/testshire", data={"csrf_token": token})
    client.post("/account/subscriptions/search", data={"csrf_token": token, "site": "testshire"}, follow_redirects=True)
    assert count(member) == 2


def test_following_a_site_and_each_side_of_a_theme(app, world, member):
    client = app.test_client(user=member)
    site_page = get_page(client, "/sites/testshire")
    form = site_page.find(id="subscribe").find("form")
    assert "Follow Testshire" in form.get_text()
    client.post(form["action"], data=form_fields(site_page, form))
    theme_page = get_page(client, "/themes/leadership")
    forms = theme_page.find_all("form", class_="kb-follow-form")
    assert len(forms) == 3  # the whole theme, what helped, what got in the way
    for form in forms:
        client.post(form["action"], data=form_fields(theme_page, form))
    rows = db.session.scalars(select(Subscription).where(Subscription.user_id == member.id)
                              .order_by(Subscription.id)).all()
    assert [(r.kind.value, r.name) for r in rows] == [
        ("site", "Testshire"), ("theme", "Leadership"), ("theme", "Leadership where it was an enabler"),
        ("theme", "Leadership where it was a barrier")]
    assert [service.feed_target(r) for r in rows] == [
        ("site", {"slug": "testshire"}), ("theme", {"slug": "leadership"}),
        ("theme", {"slug": "leadership", "polarity": "enabler"}),
        ("theme", {"slug": "leadership", "polarity": "barrier"})]


def test_the_email_link_points_at_the_pages_subscribe_box(app, world, member):
    for client in (app.test_client(), app.test_client(user=member)):
        for url in ("/sites/testshire", "/themes/leadership", "/search?q=care"):
            page = get_page(client, url)
            email = page.find(class_="kb-get-updates").find(lambda tag: tag.name == "a" and tag.get_text().startswith("email"))
            assert email["href"] == "#subscribe" and page.find(id="subscribe") is not None
        home = get_page(client, "/")
        email = home.find(class_="kb-get-updates").find(lambda tag: tag.name == "a" and tag.get_text().startswith("email"))
        assert email["href"] == "/search#subscribe"


def test_signed_out_readers_are_asked_to_sign_in_and_get_no_form(app, world):
    client = app.test_client()
    for url in ("/sites/testshire", "/themes/leadership", "/search?q=care"):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert "csrf_token" not in text and "kb-follow-form" not in text
        page = get_page(client, url)
        link = page.find(id="subscribe").find("a")
        assert link.get_text().startswith("Sign in to get email updates")
        assert urlsplit(link["href"]).path == "/sign-in"
    response = client.post("/account/subscriptions/site/testshire")
    assert response.status_code in (302, 400)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_every_form_needs_a_csrf_token(app, world, member):
    client = app.test_client(user=member)
    for url, data in [("/account/subscriptions/search", {"q": "x"}), ("/account/subscriptions/site/testshire", {}),
                      ("/account/subscriptions/theme/leadership", {})]:
        assert client.post(url, data=data).status_code == 400
    assert count(member) == 0
    subscription = service.follow_site(member, "testshire", now=T0)
    for action, data in [("rename", {"name": "New"}), ("frequency", {"frequency": "daily"}), ("delete", {})]:
        response = client.post(f"/account/subscriptions/{subscription.id}/{action}", data=data)
        assert response.status_code == 400 and "CSRF token is missing" in response.get_data(as_text=True)
    row = subscription_of(member)
    assert (row.name, row.frequency) == ("Testshire", Frequency.WEEKLY)


# --- managing them ------------------------------------------------------------------------------


def test_rename_change_frequency_and_delete(app, world, member):
    subscription = service.follow_site(member, "testshire", now=T0)
    client = app.test_client(user=member)
    base = f"/account/subscriptions/{subscription.id}"
    token = csrf(client.get("/account/subscriptions").get_data(as_text=True))
    renamed = client.post(f"{base}/rename", data={"csrf_token": token, "name": "  Testshire   news "},
                          follow_redirects=True)
    assert "Renamed to “Testshire news”" in renamed.get_data(as_text=True)
    changed = client.post(f"{base}/frequency", data={"csrf_token": token, "frequency": "daily"}, follow_redirects=True)
    assert changed.status_code == 200
    row = subscription_of(member)
    assert (row.name, row.frequency) == ("Testshire news", Frequency.DAILY)
    card = get_page(client, "/account/subscriptions").find(id=f"subscription-{row.id}")
    assert "Testshire news" in card.get_text() and "Daily" in card.get_text() and "Not yet" in card.get_text()
    deleted = client.post(f"{base}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "Deleted “Testshire news”" in deleted.get_data(as_text=True) and count(member) == 0
    assert "You have no subscriptions yet" in deleted.get_data(as_text=True)


@pytest.mark.parametrize("name, message", [
    ("", "Enter a name"), ("x" * 121, "at most 120 characters"), ("bad\x07name", "removed"),
])
def test_a_bad_name_is_refused_with_a_message(app, world, member, name, message):
    subscription = service.follow_site(member, "testshire", now=T0)
    client = app.test_client(user=member)
    token = csrf(client.get("/account/subscriptions").get_data(as_text=True))
    response = client.post(f"/account/subscriptions/{subscription.id}/rename", data={"csrf_token": token, "name": name})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert subscription_of(member).name == "Testshire"


def test_a_bad_frequency_is_refused(app, world, member):
    subscription = service.follow_site(member, "testshire", now=T0)
    client = app.test_client(user=member)
    token = csrf(client.get("/account/subscriptions").get_data(as_text=True))
    response = client.post(f"/account/subscriptions/{subscription.id}/frequency",
                           data={"csrf_token": token, "frequency": "hourly"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    with pytest.raises(BadRequest, match="daily, weekly, off"):
        service.set_frequency(member, subscription.id, "hourly")


def test_another_member_gets_404_for_every_action(app, world, member):
    subscription = service.save_search(member, Filters(q="frailty"), now=T0)
    other = make_user(password_hash="x")
    client = app.test_client(user=other)
    token = csrf(client.get("/account/subscriptions").get_data(as_text=True))
    base = f"/account/subscriptions/{subscription.id}"
    assert client.get(base).status_code == 404
    for action, data in [("rename", {"name": "Mine now"}), ("frequency", {"frequency": "off"}), ("delete", {})]:
        response = client.post(f"{base}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404, action
    assert client.get("/account/subscriptions/999999").status_code == 404
    row = subscription_of(member)
    assert (row.name, row.frequency) == ("Search: “frailty”", Frequency.WEEKLY)
    assert "frailty" not in client.get("/account/subscriptions").get_data(as_text=True)
    assert "frailty" not in client.get("/account/subscriptions.opml").get_data(as_text=True)
    with pytest.raises(NotFound):
        service.rename(other, subscription.id, "x")


def test_only_active_members_subscribe(app, world):
    from flask_login import AnonymousUserMixin
    for user in (AnonymousUserMixin(), make_user(active=False)):
        with pytest.raises(NotAllowed):
            service.follow_site(user, "testshire", now=T0)
        with pytest.raises(NotAllowed):
            service.list_subscriptions(user)


def test_unknown_sites_themes_and_polarities_are_400s(app, world, member):
    client = app.test_client(user=member)
    token = csrf(client.get("/search").get_data(as_text=True))
    for url, data, message in [
        ("/account/subscriptions/site/nowhere", {}, "There is no site “nowhere”"),
        ("/account/subscriptions/theme/nothing", {}, "There is no theme “nothing”"),
        ("/account/subscriptions/theme/leadership", {"polarity": "neutral"}, "enabler or barrier"),
        ("/account/subscriptions/search", {"site": "nowhere"}, "There is no site “nowhere”"),
        ("/account/subscriptions/search", {"year": "1066"}, "year must be a whole number"),
    ]:
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 400 and message in response.get_data(as_text=True), url
    assert count(member) == 0


def test_a_member_has_at_most_the_cap(app, world, member, monkeypatch):
    monkeypatch.setattr(service, "MAX_SUBSCRIPTIONS", 3)
    for word in ("a", "b", "c"):
        service.save_search(member, Filters(q=word), now=T0)
    with pytest.raises(BadRequest, match="3 subscriptions, the most"):
        service.save_search(member, Filters(q="d"), now=T0)
    assert count(member) == 3


def test_a_sites_new_slug_carries_over_to_its_subscriptions(app, world, member):
    subscription = service.save_search(member, Filters(q="care", site="testshire"), now=T0)
    site = world[0]
    site.slug = "testshire-renamed"
    db.session.commit()
    assert subscription.id and service.search_args(subscription_of(member)) == {"q": "care", "site": "testshire-renamed"}


# --- the preview ------------------------------------------------------------------------------


def _revise(entry: Entry, when: datetime, summary: str, minor: bool) -> None:
    entry.summary = entry.summary + " More."
    entry_service.record_revision(entry, author=None, now=when, summary=summary, minor=minor)
    db.session.commit()


def test_the_preview_holds_only_new_and_materially_updated_entries_the_member_may_read(app, world, member):
    site, theme = world
    since = datetime(2015, 3, 1, tzinfo=timezone.utc)
    make_entry("old", site=site, theme=theme, title="Old entry", published="2014-06-01")
    make_entry("new", site=site, theme=theme, title="New entry", published="2015-04-01")
    make_entry("members", site=site, theme=theme, title="Members' entry", published="2015-04-02", visibility="network")
    make_entry("draft", site=site, theme=theme, title="Draft entry", status="draft", published=None)
    make_entry("elsewhere", site=db.session.scalar(select(type(site)).where(type(site).slug == "otherton")),
               theme=theme, title="Elsewhere entry", published="2015-04-03")
    material = make_entry("material", site=site, theme=theme, title="Materially updated", published="2014-01-01")
    minor = make_entry("minor", site=site, theme=theme, title="Minor edit only", published="2014-01-01")
    later = make_entry("later", site=site, theme=theme, title="After now", published="2015-09-01")
    _revise(material, datetime(2015, 5, 1, tzinfo=timezone.utc), "Added the 2015 results", minor=False)
    _revise(minor, datetime(2015, 5, 1, tzinfo=timezone.utc), "Typo", minor=True)
    assert later.id
    subscription = service.follow_site(member, "testshire", now=since)
    now = datetime(2015, 6, 1, tzinfo=timezone.utc)
    preview = service.preview(subscription, now)
    assert [(i.entry.title, i.new, i.changes) for i in preview.items] == [  # newest published first
        ("Members' entry", True, ()),
        ("New entry", True, ()),
        ("Materially updated", False, ("Added the 2015 results",)),
    ]
    # After a digest is sent, the period starts there.
    subscription.last_sent_at = datetime(2015, 4, 15, tzinfo=timezone.utc)
    db.session.commit()
    assert [i.entry.title for i in service.preview(subscription, now).items] == ["Materially updated"]

    # A deactivated owner reads as a non-member: no network-only entries.
    subscription.last_sent_at = None
    db.session.commit()
    admin = make_user(network_role=NetworkRole.ADMIN, password_hash="x")
    users.deactivate(admin, member.id, now=now)
    db.session.expire_all()
    titles = {i.entry.title for i in service.preview(db.session.get(Subscription, subscription.id), now).items}
    assert "Members' entry" not in titles and "New entry" in titles


def test_the_preview_page_shows_the_next_email(app, world, member):
    site, theme = world
    make_entry("new", site=site, theme=theme, title="New entry", published="2015-04-01")
    make_entry("old", site=site, theme=theme, title="Old entry", published="2014-04-01")
    subscription = service.follow_site(member, "testshire", now=datetime(2015, 3, 1, tzinfo=timezone.utc))
    page = get_page(app.test_client(user=member), f"/account/subscriptions/{subscription.id}")
    text = main_text(page)
    assert "Testshire" in page.find("h1").get_text() and "New entry" in text and "Old entry" not in text
    assert "New or updated since 1 March 2015 (when you subscribed)" in text


def test_a_new_subscription_previews_nothing_yet(app, world, member):
    site, theme = world
    make_entry("new", site=site, theme=theme, title="New entry", published="2015-04-01")
    subscription = service.follow_site(member, "testshire", now=datetime.now(timezone.utc))
    page = get_page(app.test_client(user=member), f"/account/subscriptions/{subscription.id}")
    assert page.find(id="preview-empty") is not None and "New entry" not in main_text(page)


def test_the_account_page_links_to_subscriptions(app, member):
    page = get_page(app.test_client(user=member), "/account/")
    assert page.find("a", href="/account/subscriptions") is not None


def test_the_subscriptions_page_needs_signing_in(client):
    for url in ("/account/subscriptions", "/account/subscriptions/1", "/account/subscriptions.opml"):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_preview_period_ends_at_now(app, world, member):
    site, theme = world
    make_entry("new", site=site, theme=theme, title="New entry", published="2015-04-01")
    subscription = service.follow_site(member, "testshire", now=datetime(2015, 3, 1, tzinfo=timezone.utc))
    assert service.preview(subscription, datetime(2015, 3, 31, tzinfo=timezone.utc)).items == ()
    assert len(service.preview(subscription, datetime(2015, 4, 1, 1, tzinfo=timezone.utc)).items) == 1


def test_a_long_search_gets_a_shortened_name_and_hostile_names_are_escaped(app, world, member):
    subscription = service.save_search(member, Filters(q="w" * 500), now=T0)
    assert len(subscription.name) == service.MAX_NAME_LENGTH and subscription.q == "w" * 500
    service.rename(member, subscription.id, '<script>alert("x")</script> & co')
    text = app.test_client(user=member).get("/account/subscriptions").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in text
