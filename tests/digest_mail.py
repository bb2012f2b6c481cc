"""A real SMTP server on localhost for digest tests (aiosmtpd), with the failures a real one has.

:class:`Mailbox` keeps every message it accepts (parsed), and can refuse one recipient (550),
answer ``421`` to every message after the first ``fail_after`` accepted (a server going away),
or hold messages (``hold``) until released, so a test can kill a sender in mid-send.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Iterator

from aiosmtpd.controller import Controller


class Mailbox:
    """An aiosmtpd handler: accepted messages in ``messages``, with ``envelopes`` (recipients)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse: set[str] = set()
        self.fail_after: int | None = None
        self.hold = threading.Event()  # set: hold every message until it is cleared
        self.held = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            return "421 4.3.2 Service shutting down"
        if self.hold.is_set():
            with self.lock:
                self.held += 1
            while self.hold.is_set():  # until the test has killed the sender and lets go
                await asyncio.sleep(0.01)
            return "451 4.3.0 Not accepted, try again later"
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        """The To address of each accepted message, in order."""
        return [str(m["To"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Mailbox, int]]:
    """A running server on 127.0.0.1 (on ``port`` or a free one), stopped afterwards."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        mailbox.hold.clear()
        controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies."""
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())
