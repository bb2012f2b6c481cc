"""``flask kb send-digests`` as cron runs it, in real processes against a real SMTP server: a run
killed in mid-send and then completed sends nothing twice, two runs at once send each digest
once, ``--dry-run`` sends and records nothing, and a bad ``--now`` is a clear usage error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from kb.config import PROJECT_ROOT
from kb.extensions import db
from kb.models import DeliveryStatus, DigestDelivery, Subscription
from kb.services import subscriptions
from tests.digest_mail import free_port, smtp_server
from tests.factories import make_entry, make_site, make_theme, make_user

SUBSCRIBED = datetime(2015, 3, 1, tzinfo=timezone.utc)
NOW = "2015-06-01T07:00:00+00:00"


@pytest.fixture
def members(app):
    site = make_site("testshire", name="Testshire")
    make_entry("new", site=site, theme=make_theme("leadership"), title="New entry", published="2015-04-01")
    people = [make_user(password_hash="x", name=f"Member {n}") for n in range(6)]
    for person in people:
        subscriptions.follow_site(person, "testshire", now=SUBSCRIBED)
    return [p.email for p in people]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "kb", "kb", "send-digests", *args]


def environment(app, port: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "KB_INSTANCE_PATH": str(app.instance_path),
            "KB_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "KB_SECRET_KEY": "test-secret",
            "KB_BASE_URL": "http://kb.test", "KB_MAIL_URL": f"smtp://127.0.0.1:{port}",
            "PYTHONPATH": str(PROJECT_ROOT), **extra}


def start(app, port: int, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(command(*args), env=environment(app, port, **extra), cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def run(app, port: int, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command("--now", NOW, *args), env=environment(app, port, **extra),
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def wait_for(condition, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"send-digests ended early: {process.communicate()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)  # polling a condition with a deadline


def statuses() -> list[DeliveryStatus]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(DigestDelivery.status)))


def test_a_run_killed_in_mid_send_then_completed_sends_each_digest_once(app, members):
    with smtp_server() as (mailbox, port):
        mailbox.hold_after = 3  # the fourth message is held while the sender is killed
        process = start(app, port, "--now", NOW)
        try:
            wait_for(lambda: mailbox.held == 1, process)
            os.killpg(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=60)
            process.stdout.close()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL
        mailbox.release.set()  # the held message was never accepted
        mailbox.hold_after = None
        assert len(mailbox.messages) == 3
        assert statuses() == [DeliveryStatus.CLAIMED] + [DeliveryStatus.SENT] * 3  # claimed: the one in flight

        # The next run sends the rest, but leaves the abandoned claim alone while its lease runs…
        rest = run(app, port)
        assert rest.returncode == 0, rest.stderr
        assert rest.stdout.strip().splitlines()[-1] == "Sent 2, skipped 1, failed 0."
        # …and a run after the lease (KB_DIGEST_CLAIM_SECONDS) has passed takes it over.
        last = run(app, port, KB_DIGEST_CLAIM_SECONDS="0")
        assert last.returncode == 0, last.stderr
        assert last.stdout.strip().splitlines()[-1] == "Sent 1, skipped 0, failed 0."
        again = run(app, port, KB_DIGEST_CLAIM_SECONDS="0")
        assert again.stdout.strip().splitlines()[-1] == "Sent 0, skipped 0, failed 0."
    assert sorted(mailbox.to()) == sorted(members)  # everyone once, no one twice
    assert statuses() == [DeliveryStatus.SENT] * 6


def test_two_runs_at_once_send_each_digest_once(app, members):
    with smtp_server() as (mailbox, port):
        mailbox.gate = gate = threading.Event()
        first, second = start(app, port, "--now", NOW), start(app, port, "--now", NOW)
        try:
            # Both processes are in mid-send at the same moment before any message is accepted.
            wait_for(lambda: mailbox.held == 2, first)
            gate.set()
            outputs = [process.communicate(timeout=120) for process in (first, second)]
        finally:
            for process in (first, second):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.communicate()
        assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert sorted(mailbox.to()) == sorted(members)  # six digests, each once
    sent = [int(out.strip().splitlines()[-1].split()[1].rstrip(",")) for out, _ in outputs]
    assert sum(sent) == 6 and min(sent) >= 1  # both did part of the work


def test_dry_run_lists_and_sends_nothing(app, members):
    with smtp_server() as (mailbox, port):
        result = run(app, port, "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(f"{email}: 1 entries: Testshire (1)" for email in members)
    assert lines[-1] == "Dry run: would send 6, skip 0; nothing was sent or recorded."
    assert mailbox.messages == [] and statuses() == []
    db.session.expire_all()
    assert all(s.last_sent_at is None for s in db.session.scalars(select(Subscription)))


def test_a_bad_now_is_a_usage_error(app, members):
    result = subprocess.run(command("--now", "next tuesday"), env=environment(app, 1), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "'next tuesday' is not an ISO 8601 time" in result.stderr


def test_smtp_failures_make_the_exit_status_1(app, members):
    result = run(app, free_port())  # nothing listens there
    assert result.returncode == 1 and result.stdout.strip().splitlines()[-1] == "Sent 0, skipped 0, failed 6."
    assert "Sending digests" not in result.stderr  # stderr is a pipe here: no progress bar


def test_a_terminal_gets_a_progress_bar_and_a_pipe_does_not(app, members):
    primary, secondary = os.openpty()  # stderr as a terminal, as when someone runs it by hand
    with smtp_server() as (mailbox, port):
        process = subprocess.Popen(command("--now", NOW), env=environment(app, port), cwd=PROJECT_ROOT,
                                   stdout=subprocess.PIPE, stderr=secondary, text=True)
        os.close(secondary)
        out, _ = process.communicate(timeout=120)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
    terminal = b"".join(chunks).decode()
    assert process.returncode == 0 and out.strip() == "Sent 6, skipped 0, failed 0."
    assert "Sending digests" in terminal and "6/6" in terminal
    assert len(mailbox.messages) == 6
