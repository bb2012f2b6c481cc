"""Mail: a rendered message reaches a real SMTP server and the outbox, a failed delivery is
reported and logged rather than raised, links in mail ignore the Host header, subjects stay one line."""

from __future__ import annotations

import logging
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask import url_for

from kb.links import absolute_url
from kb.mail import Message, OutboxSender, SmtpSender, deliver, render_message

FROM = "Pioneer Knowledge Base <no-reply@kb.test>"


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # the name aiosmtpd calls
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _review_message(to: str = "lee@example.nhs.uk", title: str = "A £270m pooled budget", note: str = "") -> Message:
    entry = SimpleNamespace(title=title, site=SimpleNamespace(name="Sheffield"))
    return render_message(
        "review_requested", to,
        reviewer=SimpleNamespace(name="Lee Lead"), author=SimpleNamespace(name="Eddie Editor"),
        entry=entry, note=note, link=absolute_url("entries.show", slug="pooled-budget"),
    )


def _parts(email: EmailMessage) -> tuple[str, str]:
    text = email.get_body(preferencelist=("plain",)).get_content()
    html = email.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_smtp_sender_delivers_a_rendered_message_to_a_real_server(app, smtp_server):
    handler, port = smtp_server
    message = _review_message(note="Please check the <figures> & dates")

    SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=5).send(message)

    [envelope] = handler.envelopes
    assert envelope.mail_from == "no-reply@kb.test" and envelope.rcpt_tos == ["lee@example.nhs.uk"]
    email = message_from_bytes(envelope.content, policy=policy.default)
    assert email["To"] == "lee@example.nhs.uk" and email["From"] == FROM
    assert email["Subject"] == "Review requested: A £270m pooled budget"
    assert email.get_content_type() == "multipart/alternative"
    text, html = _parts(email)
    assert "Dear Lee Lead," in text and "A £270m pooled budget" in text
    assert "Please check the <figures> & dates" in text  # plain text is not HTML-escaped
    assert "http://kb.test/entries/pooled-budget" in text
    assert '<a href="http://kb.test/entries/pooled-budget">' in html
    assert "Please check the &lt;figures&gt; &amp; dates" in html  # the HTML part escapes what people typed


def test_outbox_sender_writes_a_parseable_eml_file(app, tmp_path):
    outbox = OutboxSender(tmp_path / "outbox", FROM)
    outbox.send(_review_message())
    outbox.send(_review_message(to="sam@example.nhs.uk"))

    files = outbox.messages()
    assert len(files) == 2 and list((tmp_path / "outbox").glob("*.tmp")) == []
    email = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert email["To"] == "lee@example.nhs.uk" and email["Subject"] == "Review requested: A £270m pooled budget"
    assert email["Message-ID"] and email["Date"]
    text, html = _parts(email)
    assert "Dear Lee Lead," in text and "<p>Dear Lee Lead,</p>" in html
    assert message_from_bytes(files[1].read_bytes(), policy=policy.default)["To"] == "sam@example.nhs.uk"


def test_an_email_is_strictly_well_formed_mime_whatever_the_names_hold(app, tmp_path):
    outbox = OutboxSender(tmp_path / "outbox", "Réseau des pionniers <no-reply@kb.test>")
    text, html = "Dear Zoë,\n" + "A line of plain words that goes on. " * 60 + "\n", "<p>Zoë &amp; co</p>\r\n" * 900
    subject = "Weekly digest: “Leadership” — " + "a long subscription name " * 8
    outbox.send(Message("zoe@example.nhs.uk", subject, text, html, (("List-Unsubscribe", "<https://kb.test/u/x>"),)))

    raw = outbox.messages()[0].read_bytes()
    email = message_from_bytes(raw, policy=policy.default)
    assert [part.defects for part in email.walk()] == [[], [], []]
    assert email.get_content_type() == "multipart/alternative" and email["MIME-Version"] == "1.0"
    assert email["Subject"] == subject and email["To"] == "zoe@example.nhs.uk"
    assert email["From"].addresses[0].display_name == "Réseau des pionniers"
    assert email["From"].addresses[0].addr_spec == "no-reply@kb.test"
    assert email["List-Unsubscribe"] == "<https://kb.test/u/x>"
    assert _parts(email) == (text, html.replace("\r\n", "\n"))  # exactly, but for line ends made one kind
    head = raw.split(b"\n\n", 1)[0]
    assert max(len(line) for line in head.split(b"\n")) <= 78  # long subjects folded
    assert [part["Content-Transfer-Encoding"] for part in email.iter_parts()] == ["base64", "8bit"]
    assert max(len(line) for line in raw.split(b"\n")) <= 998  # the text's 2,000-character line in base64


@pytest.mark.parametrize("field", ["to", "subject", "header"])
def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent(app, smtp_server, field):
    handler, port = smtp_server
    values = {"to": "lee@example.nhs.uk", "subject": "Review", "header": "<https://kb.test/u/x>"}
    values[field] += "\r\nBcc: victim@example.org"
    message = Message(values["to"], values["subject"], "text", "<p>html</p>", (("List-Unsubscribe", values["header"]),))
    with pytest.raises(ValueError, match="line break"):
        SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=5).send(message)
    assert handler.envelopes == []


def test_deliver_returns_and_logs_failures_when_the_server_is_down(app, caplog):
    port = _free_port()  # nothing listens here any more
    sender = SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=2)
    messages = [_review_message(), _review_message(to="sam@example.nhs.uk")]

    with caplog.at_level(logging.ERROR, logger="kb.mail"):
        failed = deliver(sender, messages)

    assert failed == messages
    logged = [record for record in caplog.records if record.name == "kb.mail"]
    assert len(logged) == 2 and all(record.exc_info for record in logged)
    assert "lee@example.nhs.uk" in logged[0].getMessage() and "sam@example.nhs.uk" in logged[1].getMessage()


def test_deliver_sends_what_it_can_and_reports_the_rest(app, smtp_server, caplog):
    handler, port = smtp_server

    class FailsForSam(SmtpSender):
        def send(self, message: Message) -> None:
            if message.to.startswith("sam@"):
                raise ConnectionError("mailbox unavailable")
            super().send(message)

    sender = FailsForSam(f"smtp://127.0.0.1:{port}", FROM, timeout=5)
    messages = [_review_message(to="sam@example.nhs.uk"), _review_message()]
    with caplog.at_level(logging.ERROR, logger="kb.mail"):
        assert deliver(sender, messages) == messages[:1]
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [["lee@example.nhs.uk"]]


def test_absolute_links_use_the_base_url_even_when_the_host_header_is_hostile(app):
    app.config["TRUSTED_HOSTS"] = None  # as if the host check (kb.config) were switched off
    with app.test_request_context("/entries/x", headers={"Host": "evil.example"}, base_url="https://evil.example"):
        assert url_for("entries.show", slug="x", _external=True).startswith("https://evil.example/")  # the trap
        assert absolute_url("entries.show", slug="x") == "http://kb.test/entries/x"
        assert "evil.example" not in _review_message().text


def test_absolute_links_keep_a_base_url_path(app):
    app.config["KB_BASE_URL"] = "https://nhs.example/kb"
    assert absolute_url("sites.show", slug="leeds") == "https://nhs.example/kb/sites/leeds"


def test_a_multi_line_subject_is_folded_into_one_line(app, smtp_server):
    handler, port = smtp_server
    message = _review_message(title="Line one\r\nBcc: victim@example.org\n\n   line three")

    assert message.subject == "Review requested: Line one Bcc: victim@example.org line three"
    SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=5).send(message)
    [envelope] = handler.envelopes
    email = message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == ["lee@example.nhs.uk"]  # no header was injected
    assert email["Bcc"] is None and email["Subject"] == message.subject


# --- mail goes after the response -----------------------------------------------------------------


def _reset_request(app, email: str):
    from bs4 import BeautifulSoup

    client = app.test_client()
    html = client.get("/account/password-reset").get_data(as_text=True)
    token = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    return client.post("/account/password-reset", data={"csrf_token": token, "email": email})


@pytest.fixture
def pat(app):
    from kb.extensions import db
    from kb.services import accounts
    from tests.factories import make_user

    user = make_user("pat@example.nhs.uk", name="Pat")
    accounts.set_password(user, "correct horse battery staple")
    db.session.commit()
    return user


def test_a_reset_email_is_written_only_once_the_response_has_been_sent(app, pat, tmp_path):
    outbox = OutboxSender(tmp_path / "outbox", FROM)
    app.extensions["kb.mail"] = outbox
    response = _reset_request(app, "pat@example.nhs.uk")
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    assert outbox.messages() == []  # the answer did not wait for the mail
    response.close()  # what a server does once the answer has gone
    [written] = outbox.messages()
    email = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert email["To"] == "pat@example.nhs.uk" and "http://kb.test/account/password-reset/" in _parts(email)[0]


def test_a_real_and_an_unknown_address_do_the_same_work_before_the_answer(app, pat, smtp_server):
    handler, port = smtp_server
    app.extensions["kb.mail"] = SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=5)
    answers = []
    for address in ("pat@example.nhs.uk", "nobody@example.nhs.uk"):
        before = len(handler.envelopes)
        response = _reset_request(app, address)
        answers.append((response.status_code, len(handler.envelopes) - before))
        response.close()
    assert answers == [(200, 0), (200, 0)]  # no SMTP conversation before either answer
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [["pat@example.nhs.uk"]]


def test_review_emails_go_after_the_response_too(app, smtp_server):
    from bs4 import BeautifulSoup

    from kb.extensions import db
    from kb.models import Membership, SiteRole
    from tests.factories import make_entry, make_site, make_user

    handler, port = smtp_server
    app.extensions["kb.mail"] = SmtpSender(f"smtp://127.0.0.1:{port}", FROM, timeout=5)
    leeds = make_site("leeds", name="Leeds")
    editor, lead = make_user("ed@example.nhs.uk", name="Ed"), make_user("lee@example.nhs.uk", name="Lee")
    db.session.add_all([Membership(user=editor, site=leeds, role=SiteRole.EDITOR),
                        Membership(user=lead, site=leeds, role=SiteRole.LEAD)])
    db.session.commit()
    entry = make_entry("leeds-draft", site=leeds, status="draft", published=None)
    client = app.test_client(user=editor)
    html = client.get(f"/entries/{entry.slug}").get_data(as_text=True)
    token = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(f"/entries/{entry.slug}/submit", data={"csrf_token": token, "note": "Please look"})
    assert response.status_code == 302 and handler.envelopes == []
    response.close()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["lee@example.nhs.uk"]
    assert "Please look" in _parts(message_from_bytes(envelope.content, policy=policy.default))[0]


def test_a_failure_after_the_response_is_logged_not_raised(app, pat, caplog):
    app.extensions["kb.mail"] = SmtpSender(f"smtp://127.0.0.1:{_free_port()}", FROM, timeout=2)  # nothing listens
    response = _reset_request(app, "pat@example.nhs.uk")
    assert response.status_code == 200
    with caplog.at_level(logging.ERROR, logger="kb.mail"):
        response.close()
    [record] = [r for r in caplog.records if r.name == "kb.mail"]
    assert "pat@example.nhs.uk" in record.getMessage() and record.exc_info


def test_outside_a_request_the_sender_sends_at_once(app, tmp_path):
    from kb.mail import current_sender

    outbox = OutboxSender(tmp_path / "outbox", FROM)
    app.extensions["kb.mail"] = outbox
    assert current_sender() is outbox  # CLI commands and digests: no response to wait for
