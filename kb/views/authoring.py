"""The entry editor (/entries/new, /entries/<slug>/edit), workflow steps, and "Your entries".

Views parse the form, call one service (:mod:`kb.services.authoring`, :mod:`kb.services.workflow`,
:mod:`kb.services.worklist`) and render or redirect. Permissions are the services' business:
another site's draft is a 404, a published entry an editor may not change is a 403.

The editor's buttons share one form: ``action=save`` saves (and is the first button, so Enter
in a box saves); ``preview``, ``refresh`` and ``add-<rows>`` re-render the form with the user's
input (the whole entry as its page will show it, the fields for the chosen type, or one more
blank row) and never save. A save that clashes with someone
else's shows the conflict page (409) with both versions and a form to resolve it.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

from kb.mail import current_sender
from kb.models import (BCF_MEASURES, Entry, EntryType, EvidenceDesign, LinkRel, OutcomeDirection,
                       Polarity, Provenance, Visibility)
from kb.models.types import utcnow
from kb.services import authoring, review, workflow, worklist
from kb.services.errors import BadRequest, Conflict, NotAllowed
from kb.services.versions import Busy
from kb.views import entry_form, entry_preview
from kb.views.entries import ReviewNoteForm, entry_page
from kb.views.entry_form import EntryForm
from kb.views.forms import Form, check_text_fields
from kb.views.templating import render_markdown

bp = Blueprint("authoring", __name__)

NO_SITES = ("You are not an editor or lead of any site, so you cannot create entries. A lead of your "
            "site or an administrator can add you as an editor.")
ROW_ACTIONS = {f"add-{name}": name for name in entry_form.ROW_LABELS}


def _action() -> str:
    action = request.form.get("action", "save")
    return action if action in {"save", "preview", "refresh", *ROW_ACTIONS} else "save"


# --- the editor -----------------------------------------------------------------------------


@bp.route("/entries/new", methods=["GET", "POST"])
@login_required
def new():
    """A form for a new draft; ``?site=`` preselects one of the user's sites.

    :raise NotAllowed: (403) for a user who is an editor or lead of no site.
    """
    sites = worklist.author_sites(current_user)
    if not sites:
        raise NotAllowed(NO_SITES)
    form = EntryForm()
    if request.method == "GET":
        slugs = [site.slug for site in sites]
        wanted = request.args.get("site", "")
        form.site.data = wanted if wanted in slugs else slugs[0] if len(slugs) == 1 else ""
    return _editor(form, sites, entry=None)


@bp.route("/entries/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    """The editor for entry ``slug``, loaded at its current version.

    :raise NotFound: (404) if there is no such entry or the user may not know of it.
    :raise NotAllowed: (403) if the user may see it but not change it.
    """
    if request.method == "GET":
        entry, record = authoring.editable_record(current_user, slug)
        form = EntryForm(data={**entry_form.form_data(record), "base_version": str(entry.version)})
    else:
        # The save checks the right to edit; if it was lost while the form was open (the entry
        # was published meanwhile), the form comes back with the person's words in it.
        entry = authoring.entry_for(current_user, slug)
        form = EntryForm()
    del form.slug  # chosen once, when the entry is created
    sites = worklist.author_sites(current_user)
    if entry.site is not None and entry.site not in sites:
        sites.append(entry.site)
    return _editor(form, sites, entry=entry)


def _editor(form: EntryForm, sites: list[Any], *, entry: Entry | None):
    choices = worklist.editor_choices()
    form.offer(sites, choices.sites, choices.themes)
    if request.method == "GET":
        form.ensure_blank_rows()
        return _page(form, entry, 200)
    action = _action()
    if action != "save":
        if not check_text_fields(form):  # a preview shows nothing the text rule refuses either
            form.ensure_blank_rows()
            return _page(form, entry, 400)
        if action in ROW_ACTIONS:
            form.add_row(ROW_ACTIONS[action])
        form.ensure_blank_rows()
        return _page(form, entry, 200, preview=action == "preview")
    if not form.validate():
        return _page(form, entry, 400)
    conversion = entry_form.to_record(form)
    try:
        if entry is None:
            outcome = authoring.create_entry(
                current_user, conversion.record, slug=form.slug.data or None, summary=form.edit_summary.data or "",
                minor=form.minor.data, now=utcnow(), submission_key=form.submission_key.data)
        else:
            outcome = authoring.save_entry(
                current_user, entry.slug, conversion.record, base_version=int(form.base_version.data or 0),
                summary=form.edit_summary.data or "", minor=form.minor.data, now=utcnow(),
                submission_key=form.submission_key.data)
    except authoring.InvalidEntry as err:
        entry_form.place_problems(form, conversion, err.problems)
        return _page(form, entry, 400)
    except authoring.EditConflict as err:
        return _conflict(form, err, sites, choices)
    except BadRequest as err:  # a version the entry never had, a damaged key: keep the input
        form.general_errors.append(err.message)
        return _page(form, entry, 400)
    except Busy as err:  # others' saves of this entry kept winning: nothing saved, the words kept
        form.general_errors.append(err.message)
        return _page(form, entry, 409)
    except NotAllowed as err:  # e.g. published by a lead while an editor had the form open
        form.general_errors.append(f"{err.message} Your changes have not been saved: copy them from "
                                   "the form below if you need them.")
        return _page(form, entry, 403)
    _flash_saved(outcome, entry, form)
    return redirect(url_for("entries.show", slug=outcome.entry.slug))


def _flash_saved(outcome: authoring.SaveOutcome, entry: Entry | None, form: EntryForm) -> None:
    if entry is None:
        flash(f"Your draft “{outcome.entry.title}” was saved. Submit it for review when it is ready.", "success")
    elif outcome.unchanged:
        flash("No changes to save", "info")
    elif outcome.duplicate:
        flash("Your changes were saved.", "success")
    else:
        changes = worklist.changes_between(outcome.entry, int(form.base_version.data), outcome.revision.number)
        if changes.fields:
            who = _names(changes.authors)
            fields = ", ".join(entry_form.FIELD_LABELS.get(name, name).lower() for name in changes.fields)
            flash(f"{who} changed this entry while you were editing; your changes were combined with theirs "
                  f"(fields: {fields}).", "success")
        else:
            flash("Your changes were saved.", "success")


def _names(names: list[str]) -> str:
    if not names:
        return "Someone else"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _page(form: EntryForm, entry: Entry | None, status: int, *, preview: bool = False):
    """The editor page. A new entry's web address is shown as the title would make it (or as
    chosen); ``preview`` adds the whole entry as its page will show it (nothing is saved)."""
    if entry is None and form.title.data:
        form.address = form.slug.data or authoring.slug_for(form.title.data)
    shown = entry_preview.preview_html(form, entry) if preview else None
    return render_template(
        "authoring/edit.html", form=form, entry=entry, preview=preview, preview_html=shown,
        errors=list(form.error_list()), options=_options()), status


def _options() -> dict[str, Any]:
    o = entry_form.options
    return {"types": o(EntryType), "visibility": o(Visibility), "polarity": o(Polarity), "rel": o(LinkRel),
            "design": o(EvidenceDesign), "provenance": o(Provenance), "direction": o(OutcomeDirection),
            "strength": entry_form.STRENGTHS, "measures": list(BCF_MEASURES.items()),
            "other_measure": entry_form.OTHER_MEASURE}


def _conflict(form: EntryForm, err: authoring.EditConflict, sites: list[Any], choices: worklist.EditorChoices):
    """Both versions of each clashing field, and the editor filled with the user's whole record,
    based on the version that is now the latest (so saving it resolves the conflict)."""
    resolve = EntryForm(formdata=None, data={
        **entry_form.form_data(err.mine), "base_version": str(err.version),
        "submission_key": form.submission_key.data, "edit_summary": form.edit_summary.data, "minor": form.minor.data})
    del resolve.slug
    resolve.offer(sites, choices.sites, choices.themes)
    resolve.ensure_blank_rows()
    conflicts = [(entry_form.FIELD_LABELS.get(c.name, c.name), _describe(c.theirs), _describe(c.mine))
                 for c in err.conflicts]
    return render_template(
        "authoring/conflict.html", form=resolve, entry=err.entry, conflicts=conflicts, errors=[],
        options=_options(), preview=False), 409


def _describe(value: Any) -> str:
    """A field's value as text for the conflict page (prose as it is; lists as YAML)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100).strip()


@bp.post("/entries/preview")
@login_required
def preview():
    """The editor's form (any of its fields; at least ``body``) as the entry's page will show it,
    an HTML fragment for the editor's live preview; only the body (sanitised) while no type of
    entry is chosen. Nothing is saved."""
    body = request.form.get("body", "")
    if len(body) > entry_form.MAX_BODY:
        abort(413)
    form = EntryForm(meta={"csrf": False})  # the app's CSRF protection has checked the header already
    if not check_text_fields(form):
        abort(400)
    form.address = request.form.get("slug") or None
    response = Response(entry_preview.preview_html(form, None) or render_markdown(body), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- workflow steps -------------------------------------------------------------------------


@bp.get("/entries/<slug>/check")
@login_required
def check(slug: str):
    """"Check your entry": the draft's fields, each with a link to change it, the note to the
    site's leads and the button that submits it for review.

    :raise NotFound: (404) / NotAllowed (403): see :func:`kb.services.review.submission_check`.
    """
    return _check_page(slug, ReviewNoteForm(), 200)


def _check_page(slug: str, form: ReviewNoteForm, status: int):
    shown = review.submission_check(current_user, slug)
    return render_template("authoring/check.html", entry=shown.entry, rows=shown.rows, note_form=form), status


@bp.post("/entries/<slug>/submit")
@login_required
def submit(slug: str):
    """Send a draft for review (optional ``note`` to the leads); the site's leads are emailed
    (after the response). A note the form refuses gives the check page back with it (400)."""
    form = ReviewNoteForm()
    if not form.validate_on_submit():
        return _check_page(slug, form, 400)
    outcome = workflow.submit_for_review(current_user, slug, now=utcnow(), sender=current_sender(),
                                         note=form.note.data or "")
    flash("Sent for review. The site's leads have been emailed a link to it.", "success")
    if outcome.undelivered:
        flash(f"{len(outcome.undelivered)} email(s) to the site's leads could not be sent: please tell them "
              "yourself that the entry is waiting for review.", "warning")
    return redirect(url_for("entries.show", slug=slug))


class PublishForm(Form):
    """The confirmation of "Publish": the version the lead saw, so that a later change is not
    published unseen."""

    version = HiddenField(validators=[InputRequired(), Regexp(r"^[0-9]{1,9}$")])


class ReturnForm(Form):
    """"Return to draft", with an optional note for the editor who submitted the entry."""

    note = TextAreaField("Note to the editor (optional)", validators=[
        Length(max=1000, message="The note to the editor must be 1000 characters or fewer")])


@bp.route("/entries/<slug>/publish", methods=["GET", "POST"])
@login_required
def publish(slug: str):
    """GET: what publishing will do, with Publish and Cancel. POST: publish the version shown
    (leads of its site); if the entry changed meanwhile, the page again, saying so (409).

    :raise NotFound: (404) / NotAllowed (403): see :func:`kb.services.review.publishable`;
        an entry already published is a 409 with a message.
    """
    form = PublishForm()
    if request.method == "GET":
        return _confirm_page(slug, form, 200)
    if not form.validate_on_submit():  # the page again (or the refusal, for those who may not publish)
        return _confirm_page(slug, form, 400, problem="The confirmation was incomplete: check the entry, "
                             "then choose Publish again.")
    try:
        outcome = workflow.publish_entry(current_user, slug, now=utcnow(), version=int(form.version.data),
                                         sender=current_sender())
    except Conflict as err:
        # Changed since the page was shown: the page again, at the new version, saying so. (If it
        # was published meanwhile, the page itself answers with that 409.)
        return _confirm_page(slug, form, 409, problem=err.message)
    flash("Published. Readers can now find this entry.", "success")
    if outcome.undelivered:
        flash("The email telling the editor could not be sent: please let them know yourself.", "warning")
    return redirect(url_for("entries.show", slug=slug))


def _confirm_page(slug: str, form: PublishForm, status: int, problem: str | None = None):
    shown = review.publication_check(current_user, slug)
    form.version.data = str(shown.version)  # a refused, stale confirmation is offered at the new version
    return render_template("authoring/confirm_publish.html", entry=shown.entry, shown=shown, form=form,
                           problem=problem), status


@bp.post("/entries/<slug>/archive")
@login_required
def archive(slug: str):
    """Archive a published entry (leads of its site)."""
    workflow.archive_entry(current_user, slug, now=utcnow())
    flash("Archived. Readers no longer see this entry; its history is kept.", "success")
    return redirect(url_for("entries.show", slug=slug))


@bp.post("/entries/<slug>/return-to-draft")
@login_required
def return_to_draft(slug: str):
    """Move an entry back to draft (an editor withdrawing it from review, or a lead), with an
    optional note that is emailed to the person who submitted it."""
    form = ReturnForm()
    if not form.validate_on_submit():
        return entry_page(slug, return_form=form, status=400)
    outcome = workflow.return_to_draft(current_user, slug, now=utcnow(), note=form.note.data or "",
                                       sender=current_sender())
    flash("Returned to draft.", "success")
    if outcome.undelivered:
        flash("The email telling the editor could not be sent: please let them know yourself.", "warning")
    return redirect(url_for("entries.show", slug=slug))


# --- your entries ---------------------------------------------------------------------------


@bp.get("/account/entries")
@login_required
def dashboard():
    """"Your entries": each site's drafts, reviews, published and archived entries, and how
    many published ones are due for review."""
    due = worklist.due_for_review(current_user, utcnow().date())
    return render_template("authoring/dashboard.html", work=worklist.worklist(current_user), due=len(due))


@bp.get("/account/entries/review")
@login_required
def review_due():
    """Published entries of the user's sites whose review-by date has come, longest overdue first."""
    return render_template("authoring/review_due.html", items=worklist.due_for_review(current_user, utcnow().date()))
