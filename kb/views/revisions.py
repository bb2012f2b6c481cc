"""Entry history, comparisons of any two revisions, one revision read-only, and restoring it.

Who may see what is decided by :mod:`kb.services.revisions` and
:func:`kb.services.authoring.restore_revision`; these views parse input, hide the restore button
from people who could not use it, and turn a revision that can no longer be restored (it names a
deleted theme or site) into a message on its page.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb.services import authoring
from kb.services import revisions as service
from kb.services.errors import BadRequest
from kb.services.permissions import can_edit

bp = Blueprint("revisions", __name__, url_prefix="/entries")

try:
    _UK = ZoneInfo("Europe/London")
except ZoneInfoNotFoundError:  # no time zone database installed: show UTC and say so
    _UK = None


def when(moment: datetime | None) -> str:
    """``1 November 2026 at 9:05am`` in UK time (the GOV.UK style); naive times are UTC."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(_UK) if _UK else moment
    hour = local.hour % 12 or 12
    time = f"{hour}{local:%p}".lower() if local.minute == 0 else f"{hour}:{local:%M%p}".lower()
    return f"{local.day} {local:%B %Y} at {time}" + ("" if _UK else " UTC")


def iso(moment: datetime | None) -> str:
    """``moment`` for a ``<time datetime>`` attribute; naive times are UTC."""
    if moment is None:
        return ""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def _number(name: str) -> int | None:
    """The revision number in query parameter ``name`` (None if absent).

    :raise BadRequest: for anything but a whole number.
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise BadRequest(f"“{name}” must be a revision number, such as 1 or 2.")
    return int(raw)


@bp.get("/<slug>/history")
def history(slug: str):
    """Every revision of the entry, newest first, and a form to compare any two.

    :raise NotFound: (404) for an entry the user may not know of; NotAllowed (403) for a
        readable entry the user does not work on.
    """
    entry, revisions = service.history(current_user, slug)
    return render_template("revisions/history.html", entry=entry, revisions=revisions, when=when, iso=iso)


@bp.get("/<slug>/diff")
def diff(slug: str):
    """Revisions ``from`` and ``to`` compared: changed fields, then word-level prose changes.

    ``to`` defaults to the latest revision, ``from`` to the one before ``to``.

    :raise BadRequest: (400) for numbers that are not whole numbers.
    :raise NotFound: (404) for revisions the entry does not have; otherwise as :func:`history`.
    """
    comparison = service.compare(current_user, slug, _number("from"), _number("to"))
    return render_template("revisions/diff.html", comparison=comparison, entry=comparison.entry, when=when,
                           iso=iso)


@bp.get("/<slug>/revisions/<int:number>")
def show(slug: str, number: int):
    """One revision read-only, with a button to restore it for those who may edit the entry.

    :raise NotFound: (404) for a revision the entry does not have; otherwise as :func:`history`.
    """
    shown = service.revision(current_user, slug, number)
    return render_template("revisions/show.html", shown=shown, entry=shown.entry, revision=shown.revision,
                           when=when, iso=iso, can_restore=can_edit(current_user, shown.entry) and not shown.latest)


@bp.post("/<slug>/revisions/<int:number>/restore")
def restore(slug: str, number: int):
    """Make revision ``number``'s content the entry's newest revision, then show the history.

    :raise NotFound: (404) / NotAllowed (403): see :func:`kb.services.authoring.restore_revision`.
    """
    try:
        outcome = authoring.restore_revision(current_user, slug, number, now=datetime.now(timezone.utc))
    except authoring.InvalidEntry as error:
        # The old revision refers to something since deleted (a theme, a site): say what.
        flash(f"Revision {number} cannot be restored as it is: "
              + "; ".join(problem.message for problem in error.problems))
        return redirect(url_for("revisions.show", slug=slug, number=number))
    if outcome.unchanged:
        flash(f"Nothing to restore: revision {number} has the same content as the current version.")
    else:
        flash(f"Revision {number} restored as revision {outcome.revision.number}", "success")
    return redirect(url_for("revisions.history", slug=slug))
