"""A real server and a real browser for browser tests.

The server is gunicorn, started as ``make run`` starts it, on a free port, over a copy of the
migrated database with content/ imported. The browser is Debian's Chromium at /usr/bin/chromium driven by
Playwright (Playwright's own browser download is not used).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from kb.config import PROJECT_ROOT
from tests.live_server import running_server

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# People the journeys sign in as (all with PASSWORD): Sheffield's editor and lead, and a
# network administrator (made after them, so the first two accounts are the editor's and lead's).
PASSWORD = "browser test password"
ACCOUNTS = {"editor": "editor@sheffield.example.nhs.uk", "lead": "lead@sheffield.example.nhs.uk",
            "admin": "admin@network.example.nhs.uk"}


def _add_accounts(folder: Path, database_url: str) -> None:
    from kb import create_app
    from kb.extensions import db
    from kb.models import (DeliveryStatus, DigestDelivery, DigestRun, Membership, NetworkRole, Site, SiteRole,
                           User)
    from kb.search import backend
    from kb.services.accounts import set_password

    app = create_app({"KB_INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "browser-tests"})
    with app.app_context():
        sheffield = db.session.scalar(db.select(Site).where(Site.slug == "sheffield"))
        people = {}
        for role, email in ACCOUNTS.items():
            user = people[role] = User(email=email, name=f"Sheffield {role}" if role != "admin" else "Network admin")
            set_password(user, PASSWORD)
            if role == "admin":
                user.network_role = NetworkRole.ADMIN
                db.session.add(user)
            else:
                db.session.add(Membership(user=user, site=sheffield, role=SiteRole(role)))
        # A digest run with one failure, for the administrators' digest page.
        when = datetime(2026, 12, 7, 7, 0, tzinfo=timezone.utc)
        run = DigestRun(period_end=when, started_at=when, finished_at=when, sent=1, skipped=0, failed=1)
        db.session.add(run)
        db.session.flush()
        db.session.add(DigestDelivery(
            user=people["editor"], run_id=run.id, period_key="browser-test", status=DeliveryStatus.FAILED,
            claim_token="0" * 32, attempts=2, period_end=when, claimed_at=when, updated_at=when,
            error="SMTPRecipientsRefused: {'editor@sheffield.example.nhs.uk': (550, b'No such mailbox here')}"))
        db.session.commit()
        db.engine.dispose()
        backend().close()


@dataclass(frozen=True)
class LiveSite:
    """The browser tests' server: its base URL and its instance folder (the outbox is there)."""

    base: str
    instance: Path

    def emails(self, to: str) -> list[EmailMessage]:
        """The emails the server has written to its outbox for ``to``, oldest first."""
        outbox = self.instance / "outbox"
        messages = [message_from_bytes(path.read_bytes(), policy=policy.default)
                    for path in sorted(outbox.glob("*.eml"))] if outbox.exists() else []
        return [message for message in messages if message["To"] == to]

    def email(self, to: str, subject: str, timeout: float = 30) -> EmailMessage:
        """The one email to ``to`` with ``subject``, waited for: the server sends mail after the
        response (kb.mail.current_sender), so it may land a moment after the page that caused it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [message for message in self.emails(to) if message["Subject"] == subject]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, f"{len(found)} emails to {to} about {subject!r} after {timeout} s"
                return found[0]
            threading.Event().wait(0.05)  # poll, as Playwright's waiting assertions do


@pytest.fixture(scope="session")
def live_site(sqlite_templates, tmp_path_factory):
    """The running server over the real content (on SQLite: browser tests run once).

    Started exactly as ``make run`` serves (tests/live_server.py, gunicorn.conf.py); mail goes
    to the instance's outbox (``.eml`` files), which :meth:`LiveSite.emails` reads.
    """
    database = sqlite_templates["content"].copy(tmp_path_factory.mktemp("server"))
    _add_accounts(database.instance, database.url)
    # The journeys sign the same people in many times in one session: the sign-in limits (tested
    # in tests/app/test_sign_in.py) would refuse them, so this server allows more.
    with running_server(database.instance, database.url, KB_SECRET_KEY="browser-tests",
                        KB_SIGN_IN_LIMIT_ACCOUNT="200 per 15 minutes",
                        KB_SIGN_IN_LIMIT_CLIENT="400 per 15 minutes") as base:
        yield LiveSite(base, database.instance)


@pytest.fixture(scope="session")
def server(live_site):
    """Base URL of the running server (see :func:`live_site`)."""
    return live_site.base


@pytest.fixture(scope="session")
def browser():
    assert CHROMIUM.exists(), f"Chromium is needed for browser tests: install Debian's chromium ({CHROMIUM})"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def serious_accessibility_violations(page) -> list[str]:  # noqa: ANN001
    """Run axe-core on the page for WCAG 2.2 A and AA; return serious and critical violations."""
    # Evaluated through the DevTools protocol: the site's Content-Security-Policy rightly refuses
    # the inline <script> that add_script_tag() would insert.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}
        })"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
