"""A real SMTP server on localhost for digest tests (aiosmtpd), with the failures a real one has.

:class:`Mailbox` keeps every message it accepts (parsed), and can refuse one recipient (550),
answer ``421`` to every message after the first ``fail_after`` accepted (a server going away),
hold every message after the first ``hold_after`` until ``release`` is set and then refuse it
(``451``), so a test can kill a sender in mid-send, or keep every message at a ``gate`` until the
test opens it and then accept it, so a test can see two senders sending at once. It notes each
message's connection (``peers``), and can hang up after each message (``hang_up``), as a server
does with a connection left idle.
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
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.gate: threading.Event | None = None
        self.held = 0  # messages being held now (at the hold or the gate)
        self.lock = threading.Lock()
        self.peers: list[tuple] = []  # the client's address for each accepted message: its connection
        self.hang_up = False  # close each connection once its message is accepted (an idle timeout)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            return "421 4.3.2 Service shutting down"
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            await self._wait(self.release)  # until the test has killed the sender and lets go
            return "451 4.3.0 Not accepted, try again later"
        if self.gate is not None:
            await self._wait(self.gate)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.recipients.append(list(envelope.rcpt_tos))
            self.peers.append(session.peer)
        if self.hang_up:
            asyncio.get_running_loop().call_soon(server.transport.close)  # after this reply is sent
        return "250 Message accepted for delivery"

    async def _wait(self, event: threading.Event) -> None:
        with self.lock:
            self.held += 1
        while not event.is_set():
            await asyncio.sleep(0.01)
        with self.lock:
            self.held -= 1

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
        mailbox.release.set()
        if mailbox.gate is not None:
            mailbox.gate.set()
        controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies."""
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())
