"""Feedback: what a reader writes on /feedback, emailed to the network team.

Nothing is stored in the database: the message goes to the team's mailbox (``KB_FEEDBACK_EMAIL``)
through the mail layer and nowhere else. The person's email address, when they give one, is
checked as one mailbox and becomes the message's ``Reply-To``, so the team can answer with
"Reply". Their text only ever goes into the bodies (plain text as typed, HTML escaped by the
template); the subject is fixed, so nothing typed reaches a header but the checked address, and
the mail layer refuses any header holding a line break all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kb import textcheck
from kb.mail import MailSender, Message, deliver, render_message
from kb.services import accounts
from kb.services.errors import BadRequest

MAX_TEXT = 3000  # characters in each of the two questions
MISSING_DOING = "Enter what you were doing"
MISSING_PROBLEM = "Enter what went wrong or what could be better"


@dataclass(frozen=True)
class Feedback:
    """What one person sent: the two answers and, optionally, an address for a reply."""

    doing: str
    problem: str
    reply_to: str = ""


def check(feedback: Feedback) -> Feedback:
    """``feedback`` with its text trimmed and its address in the form accounts store.

    :raise BadRequest: for a missing or over-long answer, text holding control characters, or an
        address that is not one mailbox (a line break in it included).
    """
    doing, problem = feedback.doing.strip(), feedback.problem.strip()
    for text, missing in ((doing, MISSING_DOING), (problem, MISSING_PROBLEM)):
        if not text:
            raise BadRequest(missing)
        if len(text) > MAX_TEXT:
            raise BadRequest(f"Each answer must be {MAX_TEXT:,} characters or fewer")
        if found := textcheck.problem(text, multiline=True):
            raise BadRequest(f"Your feedback {found}")
    reply_to = feedback.reply_to.strip()
    if reply_to:
        reply_to = accounts.check_email(reply_to)  # raises BadRequest for anything but one mailbox
    return Feedback(doing=doing, problem=problem, reply_to=reply_to)


def send_feedback(feedback: Feedback, *, to: str, now: datetime, sender: MailSender) -> Message:
    """Email ``feedback`` to the team at ``to`` and return the message.

    A failure to send is logged by the mail layer, never raised: the person has done their part.

    :raise BadRequest: as :func:`check`.
    """
    feedback = check(feedback)
    message = render_message("feedback", to=to, feedback=feedback, received=now)
    if feedback.reply_to:
        message = Message(to=message.to, subject=message.subject, text=message.text, html=message.html,
                          headers=(("Reply-To", feedback.reply_to),))
    deliver(sender, [message])
    return message
