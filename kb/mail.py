"""Mail: messages rendered from template trios, and the senders that deliver them.

Every email is a trio ``templates/email/<name>/{subject.txt, body.txt, body.html}`` rendered
with the same context. Which sender delivers is configuration (``KB_MAIL_URL``):

* ``outbox`` (the default): each message is written as an ``.eml`` file to ``instance/outbox``,
  so the site works with no mail server and anyone can read what it would have sent;
* ``smtp://user:password@host:port`` (``smtps://`` for TLS from the start; ``?starttls=1`` to
  upgrade a plain connection) sends for real;
* ``memory://`` keeps messages in a list (for tests that look at what was sent).

Services send *after* they commit (mail cannot be rolled back), through :func:`deliver`, which
logs a failure instead of turning a saved change into an error page.

In a request, :func:`current_sender` gives views a :class:`Postbox` rather than the sender
itself: messages are collected and handed to the sender only once the response has been sent
(when the server closes it), so no answer waits for a mail server, and a password reset for a
real address takes no longer than one for an unknown address. A failure is then only logged.
The ``memory://`` sender is the exception: it only appends to a list, at once, so tests can
read what a request sent as soon as it returns.
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import ssl
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.header import Header
from email.utils import formataddr, format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Iterable, Iterator, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, Response, after_this_request, current_app, g, has_request_context, render_template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """An email ready to send: one recipient, a subject, and plain-text and HTML bodies."""

    to: str
    subject: str
    text: str
    html: str
    # Extra headers, e.g. List-Unsubscribe. A value with a line break is refused when the email is
    # built (:func:`_email`), so none can start a header of its own.
    headers: tuple[tuple[str, str], ...] = ()


def render_message(name: str, to: str, **context: object) -> Message:
    """Render the trio ``templates/email/<name>/`` for ``to``.

    The subject is one line (line breaks a template might produce are folded into spaces).
    """
    subject = render_template(f"email/{name}/subject.txt", **context)
    return Message(
        to=to,
        subject=" ".join(subject.split()),
        text=render_template(f"email/{name}/body.txt", **context),
        html=render_template(f"email/{name}/body.html", **context),
    )


class MailSender(Protocol):
    """Delivers messages. Raises an exception when a message could not be handed over."""

    def send(self, message: Message) -> None: ...


# Control characters other than tab: a line break in a header would start a header of its own.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


MAX_LINE = 998  # bytes in a line of an email, its line end aside (RFC 5322, 2.1.1)


def _email(message: Message, sender: str, linesep: str = "\n", eight_bit: bool = True) -> bytes:
    """``message`` as the bytes of a MIME email: multipart/alternative, plain text then HTML, both
    UTF-8, lines ending in ``linesep`` (``"\r\n"`` on the wire).

    A body goes as it is (``7bit``, or ``8bit`` where ``eight_bit`` says the server takes it:
    SMTP's 8BITMIME) unless a line is too long for an email or it holds a NUL; then in base64.

    The stdlib ``email`` package encodes each header (:class:`email.header.Header` folds long
    ones and encodes non-ASCII as RFC 2047 words; :func:`email.utils.formataddr` keeps addresses
    apart from names). The two-part frame around them is written here: :class:`EmailMessage`
    parses and refolds every header and writes bodies a line at a time in Python, which took
    6 ms of every email, most of a digest run's time. The result is what that class would make,
    as tests check by parsing it with its strictest policy.

    :raise ValueError: for a header value (sender, recipient, subject, extra header) holding a line
        break or another control character.
    """
    headers = [("From", sender), ("To", message.to), ("Subject", message.subject), *message.headers]
    for name, value in headers:
        if _UNSAFE_IN_HEADER.search(value):
            raise ValueError(f"the {name} header may not hold a line break or control character: {value!r}")
    bodies = [message.text.encode("utf-8"), message.html.encode("utf-8")]
    boundary = f"=_{uuid.uuid4().hex}"  # random: no body holds it (base64 never holds "_")
    lines = [
        f"From: {formataddr(parseaddr(sender), charset='utf-8')}",
        f"To: {formataddr(parseaddr(message.to), charset='utf-8')}",
        *(Header(value, "utf-8" if not value.isascii() else None, header_name=name)
          .encode(linesep=linesep).join((f"{name}: ", "")) for name, value in headers[2:]),
        f"Date: {format_datetime(datetime.now(timezone.utc))}",
        f"Message-ID: {make_msgid(domain='pioneer-kb')}",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative;", f' boundary="{boundary}"',
        "",
    ]
    out = [linesep.join(lines).encode("ascii")]
    for subtype, body in zip(("plain", "html"), bodies):
        body_lines = body.splitlines()  # bytes split at \n, \r and \r\n only
        if body.endswith((b"\n", b"\r")):
            body_lines.append(b"")  # the line end before the boundary belongs to the boundary
        if max(map(len, body_lines), default=0) <= MAX_LINE and b"\0" not in body and (eight_bit or body.isascii()):
            encoding = "7bit" if body.isascii() else "8bit"
        else:
            encoding, body_lines = "base64", base64.encodebytes(body).splitlines()
        out += [f"--{boundary}{linesep}Content-Type: text/{subtype}; charset=\"utf-8\"{linesep}"
                f"Content-Transfer-Encoding: {encoding}{linesep}".encode("ascii"), *body_lines]
    out.append(f"--{boundary}--{linesep}".encode("ascii"))
    return linesep.encode("ascii").join(out)


class OutboxSender:
    """Writes each message to ``folder`` as an ``.eml`` file (a name that sorts by time)."""

    def __init__(self, folder: Path, sender: str):
        self.folder = Path(folder)
        self.sender = sender

    def send(self, message: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(_email(message, self.sender))
        temporary.replace(path)  # readers of the outbox never see half a message

    def messages(self) -> list[Path]:
        """The outbox's files, oldest first."""
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []


class SmtpSender:
    """Sends through an SMTP server given as ``smtp[s]://[user:password@]host[:port][?starttls=1]``."""

    def __init__(self, url: str, sender: str, timeout: float = 10.0):
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in {"1", "true", "yes"}
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, message: Message) -> None:
        with self.connect() as smtp:
            self.transmit(smtp, message)

    def transmit(self, smtp: smtplib.SMTP, message: Message) -> None:
        """Hand ``message`` to the server on ``smtp``: the envelope is the From address and the
        one recipient, the content the email flattened once, with the CRLF line ends SMTP wants."""
        smtp.ehlo_or_helo_if_needed()
        eight_bit = smtp.has_extn("8bitmime")
        email = _email(message, self.sender, linesep="\r\n", eight_bit=eight_bit)
        smtp.sendmail(parseaddr(self.sender)[1], [message.to], email, ["BODY=8BITMIME"] if eight_bit else [])

    def connect(self) -> smtplib.SMTP:
        """A new connection, upgraded to TLS and logged in as the URL says."""
        connect = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        smtp = connect(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    @contextmanager
    def batch(self) -> Iterator[MailSender]:
        """A sender for many messages in a row from one thread (a digest run): one connection for
        them all, opened when the first is sent and again after any failure, closed at the end."""
        batch = _SmtpBatch(self)
        try:
            yield batch
        finally:
            batch.close()


class _SmtpBatch:
    """:meth:`SmtpSender.batch`'s sender. A message the server refuses (a 4xx or 5xx for its
    recipient or content) raises as :meth:`SmtpSender.send` would; so does a lost connection, which
    is dropped, so that the next message connects afresh."""

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.smtp: smtplib.SMTP | None = None
        self.fresh = True  # whether the last message went to a connection opened for it

    def send(self, message: Message) -> None:
        try:
            self._send(message)
        except smtplib.SMTPServerDisconnected:
            # Servers close connections left idle (while digests are composed, say): one that is
            # found closed before this message was taken is opened again, once.
            if self.fresh:
                raise
            self._send(message)

    def _send(self, message: Message) -> None:
        self.fresh = self.smtp is None
        if self.smtp is None:
            self.smtp = self.sender.connect()
        try:
            self.sender.transmit(self.smtp, message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # smtplib has reset the transaction (or closed the connection, on a 421)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


@contextmanager
def batched(sender: MailSender) -> Iterator[MailSender]:
    """``sender``'s way of sending many messages in a row (:meth:`SmtpSender.batch`), or the sender
    itself for those that have nothing to gain from one."""
    if isinstance(sender, SmtpSender):
        with sender.batch() as batched:
            yield batched
    else:
        yield sender


class MemorySender:
    """Keeps messages in ``outbox`` (tests read it), at once even in a request (see the module's notes)."""

    after_response = False

    def __init__(self) -> None:
        self.outbox: list[Message] = []

    def send(self, message: Message) -> None:
        self.outbox.append(message)


def sender_from_config(url: str, instance_path: Path, sender: str) -> MailSender:
    """The sender ``KB_MAIL_URL`` names.

    :raise ValueError: for a URL that names no known kind of sender.
    """
    scheme = urlsplit(url).scheme if "://" in url else url
    if scheme == "outbox":
        return OutboxSender(instance_path / "outbox", sender)
    if scheme == "memory":
        return MemorySender()
    if scheme in {"smtp", "smtps"}:
        return SmtpSender(url, sender)
    raise ValueError(f"KB_MAIL_URL must be outbox, memory:// or smtp[s]://…, not {url!r}")


def init_app(app: Flask) -> None:
    """Create the configured sender and keep it on the app (see :func:`current_sender`)."""
    app.extensions["kb.mail"] = sender_from_config(
        app.config["KB_MAIL_URL"], Path(app.instance_path), app.config["KB_MAIL_FROM"]
    )


class Postbox:
    """A sender for one request: keeps each message until :meth:`flush` hands them all to ``sender``."""

    def __init__(self, sender: MailSender) -> None:
        self.sender = sender
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        self.messages.append(message)

    def flush(self) -> list[Message]:
        """Send what was collected (failures are logged); return the messages that failed."""
        messages, self.messages = self.messages, []
        return deliver(self.sender, messages)


def current_sender() -> MailSender:
    """The sender views pass to services: in a request, the request's :class:`Postbox`, which
    sends after the response; elsewhere (CLI commands), the application's sender itself."""
    sender: MailSender = current_app.extensions["kb.mail"]
    if not has_request_context() or not getattr(sender, "after_response", True):
        return sender
    postbox = g.get("kb_postbox")
    if postbox is None:
        postbox = g.kb_postbox = Postbox(sender)

        @after_this_request
        def _send_after_the_response(response: Response) -> Response:
            response.call_on_close(postbox.flush)
            return response

    return postbox


def deliver(sender: MailSender, messages: Iterable[Message]) -> list[Message]:
    """Send each message; return those that could not be sent (each failure is logged)."""
    failed = []
    for message in messages:
        try:
            sender.send(message)
        except Exception:  # noqa: BLE001 - any delivery failure must not lose the saved change
            log.exception("Could not send %r to %s", message.subject, message.to)
            failed.append(message)
    return failed
