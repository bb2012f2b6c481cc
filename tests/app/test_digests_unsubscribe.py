"""Unsubscribing from digests without signing in: the signed link per subscription and for all
(GET confirms, POST does it, no CSRF token or session needed), the RFC 8058 one-click POST of
the List-Unsubscribe header, bad links; and the administrators' page of runs and failures."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from itsdangerous import URLSafeSerializer
from sqlalchemy import update

from kb import mail
from kb.extensions import db
from kb.models import Frequency, NetworkRole, Subscription
from kb.services import digests, subscriptions
from kb.services.filters import Filters
from tests.digest_mail import free_port, parts, smtp_server
from tests.factories import make_entry, make_site, make_theme, make_user

SUBSCRIBED = datetime(2015, 3, 1, tzinfo=timezone.utc)
NOW = datetime(2015, 6, 1, 7, 0, tzinfo=timezone.utc)
LINK = re.compile(r"http://kb\.test(/unsubscribe/[\w.-]+)")


@pytest.fixture
def subscribed(app):
    site = make_site("testshire", name="Testshire")
    theme = make_theme("leadership", name="Leadership")
    make_entry("new", site=site, theme=theme, title="New entry", published="2015-04-01")
    mo = make_user(password_hash="x", name="Mo Member")
    first = subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    second = subscriptions.follow_theme(mo, "leadership", now=SUBSCRIBED)
    return mo, first, second


def send(app) -> list:
    with smtp_server() as (mailbox, port):
        app.config["KB_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
        mail.init_app(app)
        digests.send_digests(NOW, mail.current_sender())
    return mailbox.messages


def frequencies(*rows: Subscription) -> list[Frequency]:
    db.session.expire_all()
    return [db.session.get(Subscription, row.id).frequency for row in rows]


def test_the_link_of_one_subscription_confirms_then_stops_only_that_one(app, subscribed):
    mo, first, second = subscribed
    [message] = send(app)
    text, html = parts(message)
    line = next(line for line in text.splitlines() if line.startswith("Stop “Testshire” emails:"))
    path = LINK.search(line).group(1)
    assert f'href="http://kb.test{path}"' in html
    client = app.test_client()  # not signed in, no cookies

    page = client.get(path)
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert "Stop emails for “Testshire”?" in soup.find("h1").get_text() and mo.email in soup.get_text()
    assert frequencies(first, second) == [Frequency.WEEKLY, Frequency.WEEKLY]  # a GET changes nothing

    form = soup.find("form", method="post")
    done = app.test_client().post(form["action"])  # no CSRF token, no session
    assert done.status_code == 200 and "You will get no more emails for “Testshire”" in done.get_data(as_text=True)
    assert done.headers["Cache-Control"] == "no-store" and done.headers["Referrer-Policy"] == "no-referrer"
    assert frequencies(first, second) == [Frequency.OFF, Frequency.WEEKLY]
    again = app.test_client().post(path)  # safe to repeat
    assert again.status_code == 200 and frequencies(first, second) == [Frequency.OFF, Frequency.WEEKLY]


def test_rfc_8058_one_click_post_stops_all_digests_and_the_next_run_sends_nothing(app, subscribed):
    mo, first, second = subscribed
    [message] = send(app)
    header = message["List-Unsubscribe"].strip()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlsplit(header.strip("<>"))
    assert url.scheme == "http" and url.netloc == "kb.test"
    # What a mail provider sends: a bare form POST, no cookies, no CSRF token.
    response = app.test_client().post(url.path, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.get_data(as_text=True) == "Unsubscribed.\n"
    assert frequencies(first, second) == [Frequency.OFF, Frequency.OFF]
    # The footer's "all" link is the same address.
    assert f"Stop all digest emails: {header.strip('<>')}" in parts(message)[0]
    make_entry("newer", site=first.site, title="Newer entry", published="2015-06-10")
    with smtp_server() as (mailbox, port):
        app.config["KB_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
        mail.init_app(app)
        report = digests.send_digests(datetime(2015, 6, 20, tzinfo=timezone.utc), mail.current_sender())
    assert mailbox.messages == [] and report.sent == 0


def test_links_that_are_not_ours_are_404s_with_a_message(app, subscribed):
    mo, first, _ = subscribed
    client = app.test_client()
    sha256 = {"digest_method": hashlib.sha256}
    forged = URLSafeSerializer("another-secret", salt="kb.digests.unsubscribe", signer_kwargs=sha256).dumps([mo.id, 0])
    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else", signer_kwargs=sha256).dumps([mo.id, 0])
    for token in (forged, other_salt, "garbage", "W10.abc", "x" * 300):
        for method in (client.get, client.post):
            response = method(f"/unsubscribe/{token}")
            assert response.status_code == 404, token
            assert "This unsubscribe link is not valid" in response.get_data(as_text=True)
    assert frequencies(first) == [Frequency.WEEKLY]


def test_a_deleted_subscriptions_link_says_so(app, subscribed):
    mo, first, _ = subscribed
    [message] = send(app)
    path = LINK.search(next(line for line in parts(message)[0].splitlines() if "Testshire" in line
                            and "Stop" in line)).group(1)
    subscriptions.delete(mo, first.id)
    response = app.test_client().post(path)
    assert response.status_code == 404 and "has been deleted" in response.get_data(as_text=True)


def test_an_old_link_never_stops_a_new_subscription_that_took_the_deleted_ones_id(app, subscribed):
    mo, first, second = subscribed
    [message] = send(app)
    path = LINK.search(next(line for line in parts(message)[0].splitlines() if "Testshire" in line
                            and "Stop" in line)).group(1)
    old_id = first.id
    subscriptions.delete(mo, old_id)
    # SQLite gives the next row a deleted row's id when it was the highest; made so here on both.
    new = subscriptions.save_search(mo, Filters(q="falls"), now=SUBSCRIBED)
    db.session.execute(update(Subscription).where(Subscription.id == new.id).values(id=old_id))
    db.session.commit()
    response = app.test_client().post(path)
    assert response.status_code == 404 and "has been deleted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Subscription, old_id).frequency == Frequency.WEEKLY  # the new one runs on


def test_the_admin_page_lists_runs_and_failures(app, subscribed):
    mo, *_ = subscribed
    app.config["KB_MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens: it fails
    mail.init_app(app)
    digests.send_digests(NOW, mail.current_sender())
    admin = make_user(network_role=NetworkRole.ADMIN, password_hash="x")
    page = app.test_client(user=admin).get("/admin/digests")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    cells = [td.get_text(strip=True) for td in soup.find(id="runs").find_all("td")]
    assert cells[2:] == ["0", "0", "1"]  # sent, skipped, failed
    failure = soup.find(id="failures").get_text()
    assert mo.email in failure and "ConnectionRefusedError" in failure
    index = app.test_client(user=admin).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/digests"' in index
    assert app.test_client(user=mo).get("/admin/digests").status_code == 403
    anonymous = app.test_client().get("/admin/digests")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
