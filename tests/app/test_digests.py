"""Digests: one email per member, grouped by subscription, sent through a real SMTP server
(aiosmtpd on localhost, via KB_MAIL_URL=smtp://…) and read back as a mail client would."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb import mail
from kb.extensions import db
from kb.models import DeliveryStatus, DigestDelivery, DigestRun, Entry, Frequency, NetworkRole, Subscription
from kb.services import digest_log, digests
from kb.services import entries as entry_service
from kb.services import subscriptions
from kb.services import users
from kb.services.filters import Filters
from tests.digest_mail import free_port, parts, smtp_server
from tests.factories import make_entry, make_site, make_theme, make_user

SUBSCRIBED = datetime(2015, 3, 1, tzinfo=timezone.utc)
NOW = datetime(2015, 6, 1, 7, 0, tzinfo=timezone.utc)


def use_smtp(app, port: int) -> None:
    """Send through KB_MAIL_URL=smtp://127.0.0.1:port, as a deployment would."""
    app.config["KB_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    mail.init_app(app)


def run(now: datetime = NOW, **options) -> digests.RunReport:
    return digests.send_digests(now, mail.current_sender(), **options)


@pytest.fixture
def world(app):
    site = make_site("testshire", name="Testshire")
    other = make_site("otherton", name="Otherton")
    leadership = make_theme("leadership", name="Leadership")
    data = make_theme("data-sharing", name="Data sharing")
    return site, other, leadership, data


def member(name: str = "Mo Member", **fields):
    return make_user(password_hash="x", name=name, **fields)


def test_one_email_per_member_grouped_by_subscription_with_every_detail(app, world):
    site, other, leadership, data = world
    mo = member()
    make_entry("pooled", site=site, theme=leadership, title="Pooled budget in Testshire", published="2015-04-01",
               summary="A shared budget for frail older people.",
               themes=[{"theme": "leadership", "polarity": "enabler", "note": "Joint board"},
                       {"theme": "data-sharing", "polarity": "barrier", "note": "No shared record"}])
    make_entry("records", site=other, theme=data, title="Shared records in Otherton", published="2015-04-10",
               type="intervention", themes=[{"theme": "data-sharing", "polarity": "barrier", "note": "Consent"}])
    make_entry("old", site=site, theme=leadership, title="Old Testshire entry", published="2014-01-01")
    first = subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    second = subscriptions.follow_theme(mo, "data-sharing", "barrier", now=SUBSCRIBED)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        report = run()

    assert (report.sent, report.skipped, report.failed) == (1, 0, 0)
    [message] = mailbox.messages
    assert mailbox.recipients == [[mo.email]] and message["To"] == mo.email
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "3 new or updated entries – Pioneer Knowledge Base"
    text, html = parts(message)
    # Grouped: each subscription's heading, then its entries; the old entry is in neither.
    testshire = text.index("== Testshire (1) ==")
    theme = text.index("== Data sharing where it was a barrier (2) ==")
    assert testshire < text.index("Pooled budget in Testshire") < theme
    assert text.index("Shared records in Otherton") > theme and "Old Testshire entry" not in text
    assert text.count("Pooled budget in Testshire") == 2  # in both subscriptions it matches
    assert ("* Pooled budget in Testshire\n  Case study · Testshire\n"
            "  Themes: Leadership (enabler), Data sharing (barrier)\n"
            "  A shared budget for frail older people.\n  http://kb.test/entries/pooled\n") in text.replace("\r\n", "\n")
    assert "Intervention · Otherton" in text
    assert "http://kb.test/entries/pooled" in text and "http://kb.test/entries/records" in text
    assert "New or updated since 1 March 2015." in text
    assert "because you subscribed to these on the Pioneer Knowledge Base (weekly)" in text
    assert 'href="http://kb.test/feeds/themes/data-sharing.atom?polarity=barrier"' in html
    assert 'href="http://kb.test/search?site=testshire"' in html
    assert "http://kb.test/account/subscriptions" in text
    # The HTML has the same content with its styles inline (mail clients drop <style>).
    assert '<a href="http://kb.test/entries/pooled"' in html and "<style" not in html
    assert re.search(r'<h2 style="[^"]*border-top: 4px solid #005eb8', html)
    assert re.search(r'<span class="barrier" style="[^"]*color: #d5281b[^"]*">barrier</span>', html)
    # One-click unsubscribe headers (RFC 8058) and a link per subscription.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://kb\.test/unsubscribe/[\w.-]+>", message["List-Unsubscribe"].strip())
    assert len(set(re.findall(r"http://kb\.test/unsubscribe/[\w.-]+", text))) == 3  # two + all
    # Recorded: the run, the delivery, and the periods moved on.
    db.session.expire_all()
    assert db.session.get(Subscription, first.id).last_sent_at is not None
    assert db.session.get(Subscription, second.id).last_sent_at.replace(tzinfo=timezone.utc) == NOW
    [row] = db.session.scalars(select(DigestDelivery)).all()
    assert row.status == DeliveryStatus.SENT and row.attempts == 1
    assert set(row.subscription_ids.split()) == {str(first.id), str(second.id)}
    [logged] = db.session.scalars(select(DigestRun)).all()
    assert (logged.sent, logged.skipped, logged.failed) == (1, 0, 0) and logged.finished_at is not None


def test_a_subscription_with_more_entries_than_an_email_shows_counts_the_rest_and_links_to_them(app, world):
    site, *_ = world
    mo = member()
    for n in range(digests.EMAIL_ITEMS + 3):
        make_entry(f"entry-{n:02d}", site=site, title=f"Testshire entry {n:02d}", published=f"2015-04-{n + 1:02d}")
    subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        assert run().sent == 1
        assert run(NOW + timedelta(days=7)).sent == 0  # the three not shown are not sent later either

    [message] = mailbox.messages
    text, html = parts(message)
    assert message["Subject"] == f"Testshire: {digests.EMAIL_ITEMS + 3} new or updated entries – Pioneer Knowledge Base"
    assert f"== Testshire ({digests.EMAIL_ITEMS + 3}) ==" in text
    # The newest ten are shown, newest first; the three oldest are counted, with the search newest first.
    shown = re.findall(r"Testshire entry (\d\d)", text)
    assert shown == [f"{n:02d}" for n in range(digests.EMAIL_ITEMS + 2, 2, -1)]
    assert "And 3 more new or updated entries, newest first: http://kb.test/search?site=testshire&sort=newest" in text
    assert re.search(r'<a href="http://kb.test/search\?site=testshire&amp;sort=newest"[^>]*>And 3 more new or '
                     r'updated entries: see them all</a>', html)
    assert len(re.findall(r"Testshire entry \d\d", html)) == digests.EMAIL_ITEMS


def test_minor_edits_are_skipped_and_material_updates_say_what_changed(app, world):
    site, *_ = world
    mo = member()
    material = make_entry("material", site=site, title="Materially updated", published="2014-01-01")
    minor = make_entry("minor", site=site, title="Only a typo fixed", published="2014-01-01")
    subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    for entry, summary, is_minor in ((material, "Added the 2015 results", False),
                                     (minor, "Typo", True), (material, "Corrected the cost per head", False)):
        entry.summary += " More."
        entry_service.record_revision(entry, author=None, now=datetime(2015, 5, 1, tzinfo=timezone.utc),
                                      summary=summary, minor=is_minor)
        db.session.commit()
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        run()
    [message] = mailbox.messages
    text, html = parts(message)
    assert "Materially updated (updated)" in text and "Only a typo fixed" not in text
    assert "What changed: Added the 2015 results; Corrected the cost per head" in text
    assert "What changed: Added the 2015 results; Corrected the cost per head" in html


def test_what_the_member_may_read_is_decided_at_sending_time(app, world):
    site, *_ = world
    mo, gone = member("Mo"), member("Gone")
    make_entry("members", site=site, title="Network-only entry", published="2015-04-02", visibility="network")
    make_entry("public", site=site, title="Public entry", published="2015-04-03")
    pulled = make_entry("pulled", site=site, title="Unpublished meanwhile", published="2015-04-04")
    make_entry("draft", site=site, title="A draft", status="draft", published=None)
    for person in (mo, gone):
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    # After subscribing and before the run: one entry is unpublished, one member deactivated.
    pulled.status = type(pulled.status)("draft")
    entry_service.record_revision(pulled, author=None, now=datetime(2015, 5, 1, tzinfo=timezone.utc),
                                  summary="Withdrawn", minor=False)
    db.session.commit()
    admin = make_user(network_role=NetworkRole.ADMIN, password_hash="x")
    users.deactivate(admin, gone.id, now=NOW)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        report = run()
    assert mailbox.to() == [mo.email] and report.sent == 1
    text, html = parts(mailbox.messages[0])
    for body in (text, html):
        assert "Network-only entry" in body and "Public entry" in body
        assert "Unpublished meanwhile" not in body and "A draft" not in body


def test_run_twice_nothing_is_sent_twice(app, world):
    site, *_ = world
    mo = member()
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        assert run().sent == 1
        again = run()  # the same period
        later = run(NOW + timedelta(days=8))  # a week on, with nothing new
        assert (again.sent, again.skipped, later.sent) == (0, 0, 0)
        assert len(mailbox.messages) == 1
        make_entry("newer", site=site, title="Newer entry", published="2015-06-05")
        assert run(NOW + timedelta(days=8)).sent == 1
        assert "Newer entry" in parts(mailbox.messages[1])[0] and "New entry\n" not in parts(mailbox.messages[1])[0]


def test_frequencies_off_daily_and_weekly(app, world):
    site, *_ = world
    daily, weekly, off = member("Daily"), member("Weekly"), member("Off")
    make_entry("new", site=site, title="New entry", published="2015-05-30")
    for person, frequency in ((daily, "daily"), (weekly, "weekly"), (off, "off")):
        subscription = subscriptions.follow_site(person, "testshire", now=datetime(2015, 5, 29, tzinfo=timezone.utc))
        subscriptions.set_frequency(person, subscription.id, frequency)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        run(datetime(2015, 5, 31, tzinfo=timezone.utc))  # two days on: only the daily one is due
        assert mailbox.to() == [daily.email]
        run(datetime(2015, 6, 5, 6, 45, tzinfo=timezone.utc))  # a week on, less a late cron's minutes
        assert mailbox.to() == [daily.email, weekly.email]  # the daily one has nothing new


def test_a_weekly_digest_keeps_its_day_after_a_quiet_week(app, world):
    site, *_ = world
    wes = member("Wes Weekly")
    subscriptions.follow_site(wes, "testshire", now=datetime(2015, 5, 26, 14, 0, tzinfo=timezone.utc))  # a Tuesday
    make_entry("first", site=site, title="First entry", published="2015-05-28")
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        daily_cron = [datetime(2015, 6, day, 7, 0, tzinfo=timezone.utc) for day in range(1, 19)]
        sent_on = []
        for when in daily_cron:
            if when.day == 11:
                make_entry("second", site=site, title="Second entry", published="2015-06-11")  # a Thursday
            if when.day == 14:
                make_entry("third", site=site, title="Third entry", published="2015-06-14")
            if run(when).sent:
                sent_on.append(when.strftime("%a %d"))
    # Wednesday (the first run in its week), nothing the quiet week after, Thursday (the first run
    # with something new), and Wednesday again: not six days' wait to a week after Thursday.
    assert sent_on == ["Wed 03", "Thu 11", "Wed 17"]
    titles = [[t for t in ("First", "Second", "Third") if f"{t} entry" in parts(m)[0]] for m in mailbox.messages]
    assert titles == [["First"], ["Second"], ["Third"]]


def test_smtp_down_then_up(app, world):
    site, *_ = world
    mo = member()
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    subscription = subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    port = free_port()  # nothing listens there yet
    use_smtp(app, port)
    down = run()
    assert (down.sent, down.failed) == (0, 1)
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).last_sent_at is None  # state unchanged
    [row] = db.session.scalars(select(DigestDelivery)).all()
    assert row.status == DeliveryStatus.FAILED and "ConnectionRefusedError" in row.error
    with smtp_server(port) as (mailbox, _):
        up = run(NOW + timedelta(hours=1))
    assert (up.sent, up.failed) == (1, 0) and mailbox.to() == [mo.email]
    assert "New entry" in parts(mailbox.messages[0])[0]


def test_one_members_digest_failing_to_compose_stops_no_one_else(app, world, monkeypatch, caplog):
    """A bug or bad data in one member's digest (here: composing it raises, as a template error
    would) is logged and counted as failed; the members after them still get theirs, the run is
    finished, and the next run tries the failed member again."""
    site, *_ = world
    first, broken, last = member("Ann First"), member("Bo Broken"), member("Cy Last")
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    for person in (first, broken, last):
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    compose = digests.compose

    def failing_for_broken(user, *args, **kwargs):
        if user.id == broken.id:
            raise RuntimeError("the digest template failed")
        return compose(user, *args, **kwargs)

    monkeypatch.setattr(digests, "compose", failing_for_broken)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        report = run()
        assert (report.sent, report.skipped, report.failed) == (2, 0, 1)
        assert sorted(mailbox.to()) == sorted([first.email, last.email])
        assert "digest for member %d could not be sent" % broken.id in caplog.text
        finished = db.session.get(DigestRun, report.run_id)
        assert finished.finished_at is not None and (finished.sent, finished.failed) == (2, 1)
        monkeypatch.setattr(digests, "compose", compose)  # the fault mended: the next run sends it
        again = run(NOW + timedelta(hours=1))
    assert (again.sent, again.failed) == (1, 0) and mailbox.to()[-1] == broken.email


def test_a_failure_is_listed_until_the_member_gets_a_digest(app, world):
    site, *_ = world
    mo = member()
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    port = free_port()
    use_smtp(app, port)
    run()
    assert [row.user_id for row in digest_log.failures()] == [mo.id]
    # A new subscription makes the next digest another period (another row) holding both.
    subscriptions.follow_theme(mo, "leadership", now=SUBSCRIBED)
    with smtp_server(port) as (mailbox, _):
        assert run(NOW + timedelta(hours=1)).sent == 1
    assert "== Testshire (1) ==" in parts(mailbox.messages[0])[0] and digest_log.failures() == []


def followers_of_testshire(world, count: int) -> list:
    """``count`` members following Testshire, which has one new entry in the period."""
    site, *_ = world
    people = [member(f"Member {n}") for n in range(count)]
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    for person in people:
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    return people


def test_a_refused_recipient_and_a_server_going_away_are_retried_and_nothing_is_sent_twice(app, world):
    people = followers_of_testshire(world, 5)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        mailbox.refuse = {people[1].email}  # 550 for one recipient
        mailbox.fail_after = 3  # then 421 for everything after the third accepted message
        first = run()
        assert (first.sent, first.failed) == (3, 2)
        assert mailbox.to() == [people[0].email, people[2].email, people[3].email]
        failed = db.session.scalars(select(DigestDelivery).where(DigestDelivery.status == DeliveryStatus.FAILED)).all()
        errors = {row.user_id: row.error for row in failed}
        assert "550" in errors[people[1].id] and "421" in errors[people[4].id]
        mailbox.refuse, mailbox.fail_after = set(), None
        second = run()  # the same period: only the two that failed
        assert (second.sent, second.skipped, second.failed) == (2, 0, 0)  # the rest are not due
    assert sorted(mailbox.to()) == sorted(p.email for p in people)  # each exactly once
    attempts = dict(db.session.execute(select(DigestDelivery.user_id, DigestDelivery.attempts)).all())
    assert attempts[people[1].id] == 2 and attempts[people[0].id] == 1


def test_a_run_sends_over_one_connection_and_opens_another_when_the_server_hangs_up(app, world):
    site, *_ = world
    followers_of_testshire(world, 4)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        assert run().sent == 4
        assert len(mailbox.peers) == 4 and len(set(mailbox.peers)) == 1  # one connection for the run
        # A server that closes the connection after each message (as one does with an idle one):
        # each next message finds it closed and is sent on a new connection, none lost.
        mailbox.hang_up = True
        later = NOW + timedelta(days=7)
        make_entry("newer", site=site, title="Newer entry", published="2015-06-03")
        assert (run(later + timedelta(days=7)).sent, run(later + timedelta(days=7)).sent) == (4, 0)
    assert len(mailbox.messages) == 8 and len(set(mailbox.peers[4:])) == 4
    assert all("Newer entry" in parts(message)[0] for message in mailbox.messages[4:])


def test_nothing_in_a_title_name_or_note_can_inject_a_header(app, world):
    site, *_ = world
    mo = member("Mo\r\nBcc: evil@example.org")
    make_entry("hostile", site=site, title="<b>Title</b>\r\nBcc: evil@example.org", published="2015-04-01",
               summary="Summary\nX-Injected: yes",
               themes=[{"theme": "leadership", "polarity": "enabler", "note": "Note\r\nBcc: evil@example.org"}])
    subscription = subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    subscription.name = "Name\r\nBcc: evil@example.org\r\n\r\nbody"  # past the service's checks
    db.session.commit()
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        run()
    [message] = mailbox.messages
    assert mailbox.recipients == [[mo.email]]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and message["Subject"].startswith("Name Bcc: evil@example.org body: 1 new")
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "&lt;b&gt;Title&lt;/b&gt;" in html and "<b>Title</b>" not in html  # markup stays text
    assert "<b>Title</b>" in text  # plain text is not HTML-escaped


def test_dry_run_sends_and_records_nothing(app, world):
    site, *_ = world
    mo = member()
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    subscription = subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        report = run(dry_run=True)
    assert mailbox.messages == [] and report.lines == [f"{mo.email}: 1 entries: Testshire (1)"]
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).last_sent_at is None
    assert db.session.scalar(select(func.count()).select_from(DigestDelivery)) == 0
    assert db.session.scalar(select(func.count()).select_from(DigestRun)) == 0


def test_the_outbox_sender_writes_the_digest(app, world, tmp_path):
    site, *_ = world
    mo = member()
    make_entry("new", site=site, title="New entry", published="2015-04-01")
    subscriptions.follow_site(mo, "testshire", now=SUBSCRIBED)
    app.config["KB_MAIL_URL"] = "outbox"
    mail.init_app(app)
    assert run().sent == 1
    [path] = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    content = path.read_text()
    assert f"To: {mo.email}" in content and "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in content


def test_members_with_the_same_subscription_share_one_search_but_visibility_is_checked_per_email(app, world,
                                                                                               monkeypatch):
    site, *_ = world
    people = [member(f"Member {n}") for n in range(3)]
    make_entry("stays", site=site, title="Stays published", published="2015-04-01")
    pulled = make_entry("pulled", site=site, title="Unpublished during the run", published="2015-04-02").id
    for person in people:
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    searches = []
    real_preview = subscriptions.preview
    monkeypatch.setattr(subscriptions, "preview", lambda *a, **k: searches.append(a) or real_preview(*a, **k))

    def unpublish_after_the_first(members):
        for n, user_id in enumerate(members):
            if n == 1:  # the first member's email has gone: now the entry is withdrawn
                entry = db.session.get(Entry, pulled)
                entry.status = type(entry.status)("draft")
                db.session.commit()
            yield user_id

    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        report = run(progress=unpublish_after_the_first)
    assert report.sent == 3 and len(searches) == 1  # one search for the three members
    bodies = [parts(message)[0] for message in mailbox.messages]
    assert all("Stays published" in body for body in bodies)
    assert ["Unpublished during the run" in body for body in bodies] == [True, False, False]


def test_a_run_leaves_the_data_version_alone_so_cached_pages_survive_it(app, world):
    from kb.services import dataversion

    followers_of_testshire(world, 3)
    before = dataversion.current()
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        assert run().sent == 3 and len(mailbox.messages) == 3
    assert db.session.scalar(select(func.count()).select_from(DigestDelivery)) == 3  # the log was written
    assert dataversion.current() == before
