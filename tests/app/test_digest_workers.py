"""A large digest run shared among worker processes (kb/services/digest_workers.py): each digest
sent once, from more than one process, and a worker that cannot work fails its members for the
next run to send, rather than the run waiting for ever."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from kb import mail
from kb.extensions import db
from kb.models import DeliveryStatus, DigestDelivery
from kb.services import digest_workers, digests, subscriptions
from tests.digest_mail import smtp_server
from tests.factories import make_entry, make_site, make_user

SUBSCRIBED = datetime(2015, 3, 1, tzinfo=timezone.utc)
NOW = datetime(2015, 6, 1, 7, 0, tzinfo=timezone.utc)
MEMBERS = 24


@pytest.fixture
def followers(app, monkeypatch):
    """MEMBERS members following Testshire, which has a new entry; a run of them is shared out
    among two workers, four members at a time."""
    monkeypatch.setattr(digest_workers, "SHARE_FROM", 10)
    monkeypatch.setattr(digest_workers, "CHUNK", 4)
    app.config["KB_DIGEST_WORKERS"] = 2
    testshire = make_site("testshire", name="Testshire")
    make_entry("elsewhere", site=make_site("otherton", name="Otherton"), title="Not followed", published="2015-04-01")
    make_entry("testshire-new", site=testshire, title="New in Testshire", published="2015-04-01")
    people = [make_user(f"member{n}@example.nhs.uk", password_hash="x", name=f"Member {n}") for n in range(MEMBERS)]
    for person in people:
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    return [person.email for person in people]


def use_smtp(app, port: int) -> None:
    app.config["KB_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    mail.init_app(app)


def sending_processes(mailbox) -> set[int]:
    # make_msgid puts the sending process's id in each Message-ID: <time.pid.random@domain>.
    return {int(str(message["Message-ID"]).strip("<>").split(".")[1]) for message in mailbox.messages}


def run_in_a_thread(app) -> tuple[threading.Thread, dict]:
    """``send_digests`` running in a thread of its own (with its own app context); its report
    lands in the dict."""
    result: dict = {}

    def run() -> None:
        with app.app_context():
            result["report"] = digests.send_digests(NOW, mail.current_sender())

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_large_run_is_shared_among_processes_and_sends_each_digest_once(app, followers):
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        mailbox.gate = gate = threading.Event()
        thread, result = run_in_a_thread(app)
        try:
            # Two messages held at once: two workers in mid-send (each sends one at a time).
            deadline = time.monotonic() + 120
            while mailbox.held < 2 and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)  # polling a condition with a deadline
            assert mailbox.held == 2
        finally:
            gate.set()
            thread.join(timeout=120)
        report = result["report"]
        assert (report.sent, report.skipped, report.failed) == (MEMBERS, 0, 0)
        assert sorted(mailbox.to()) == sorted(followers)  # each member once
        senders = sending_processes(mailbox)
        assert len(senders) == 2 and os.getpid() not in senders
        assert all("New in Testshire" in m.get_body(("plain",)).get_content() for m in mailbox.messages)
        assert all("Not followed" not in m.get_body(("plain",)).get_content() for m in mailbox.messages)

        again = digests.send_digests(NOW, mail.current_sender())  # the same period: every member's is done
        assert (again.sent, again.failed, len(mailbox.messages)) == (0, 0, MEMBERS)
    statuses = db.session.scalars(select(DigestDelivery.status)).all()
    assert statuses == [DeliveryStatus.SENT] * MEMBERS


def test_workers_that_cannot_start_fail_their_members_and_the_next_run_sends_them(app, followers, caplog):
    with smtp_server() as (mailbox, port):
        use_smtp(app, port)
        # This process keeps its SMTP sender; a worker, reading the configuration, finds no sender.
        app.config["KB_MAIL_URL"] = "carrier-pigeon://loft"
        report = digests.send_digests(NOW, mail.current_sender())
        assert (report.sent, report.failed, mailbox.messages) == (0, MEMBERS, [])
        assert "a digest worker failed" in caplog.text
        assert db.session.scalar(select(func.count()).select_from(DigestDelivery)) == 0  # nothing claimed

        use_smtp(app, port)
        report = digests.send_digests(NOW, mail.current_sender())
        assert (report.sent, report.failed) == (MEMBERS, 0)
        assert sorted(mailbox.to()) == sorted(followers)
