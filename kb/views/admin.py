"""Administration pages under /admin: the dashboard, sites, themes and the audit log.

(Users and invitations live in :mod:`kb.views.users`, under /admin/users.) Every page here is
for administrators: anonymous visitors are sent to sign in, anyone else gets a 403. The services
check again — hiding a page is not security.

Site and theme forms are validated by the same pydantic models as ``content/`` files; the
services raise ``InvalidSite`` / ``InvalidTheme`` with every problem, and this module puts each
message next to its field, keeping what the user typed (status 400).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from kb.extensions import login_manager
from kb.models import SiteKind
from kb.models.types import utcnow
from kb.services import audit, sites, themes
from kb.services.content_io.schema import Problem
from kb.services.errors import BadRequest, NotAllowed
from kb.services.permissions import can_administer
from kb.views.forms import Form

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _administrators_only():  # noqa: ANN202
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # to the sign-in page, coming back here afterwards
    if not can_administer(current_user):
        raise NotAllowed("Only administrators can use the administration pages.")
    return None


# --- forms --------------------------------------------------------------------------------------
#
# Fields carry no validators of their own: the services validate with the content-file rules,
# so a select posted with a value it never offered gets the same message a file would.


# Slugs are asked for only when creating. WTForms orders fields by when they were declared, so
# declaring these first puts them first on the page and in the error summary.
_SITE_SLUG = StringField("Slug", description="The site's address: /sites/<slug>. Lowercase letters, digits and "
                                             "single hyphens. It cannot be changed later.")
_THEME_SLUG = StringField("Slug", description="The theme's address: /themes/<slug>. Lowercase letters, digits and "
                                              "single hyphens. It cannot be changed later.")


class SiteForm(Form):
    name = StringField("Name", description="As the site is usually known, for example 'Greenwich'.")
    kind = SelectField("Kind of site", choices=[SelectChoice(k.value, k.label) for k in SiteKind], validate_choice=False)
    wave = SelectField(
        "Wave",
        choices=[SelectChoice("", "No wave (not a pioneer)"), SelectChoice("1", "Wave 1 (November 2013)"),
                 SelectChoice("2", "Wave 2 (January 2015)")],
        validate_choice=False,
        description="Pioneers have a wave; associates and comparators do not.",
    )
    region = StringField("Region", description="For example 'London' or 'North West'.")
    lead_organisations = TextAreaField("Lead organisations (optional)", description="One organisation per line.")
    population = StringField("Population (optional)", description="As the sources give it, for example '250,000'.")
    website = StringField("Website (optional)", description="An address starting http:// or https://.")
    summary = TextAreaField("Summary", description="One or two plain sentences, up to 400 characters.")
    profile = TextAreaField("Profile (optional)", description="Markdown. Headings, lists and links are allowed.")
    reviewed = BooleanField("I have checked that everything on this site's page is still right",
                            description="Its page will say it was last reviewed today.")


class NewSiteForm(SiteForm):
    slug = _SITE_SLUG


class ThemeForm(Form):
    name = StringField("Name", description="For example 'Information governance'.")
    group = StringField("Group", description="For example 'Information & data'. Themes are listed by group.")
    definition = StringField("Definition", description="One line, up to 400 characters.")
    reviewed = BooleanField("I have checked that the name and definition are still right",
                            description="The theme's page will say it was last reviewed today.")


class NewThemeForm(ThemeForm):
    slug = _THEME_SLUG


# Where each record key's problems are shown.
SITE_FIELD_OF = {"body": "profile"}
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _optional(value: Any) -> str | None:
    return _text(value).strip() or None


def _reviewed(form: SiteForm | ThemeForm, before: str | None) -> str | None:
    """The record's ``reviewed`` date: today when the person ticked that they checked the page,
    otherwise what it was (a save is not a review)."""
    return utcnow().date().isoformat() if form.reviewed.data is True else before


def _site_record(form: SiteForm, reviewed_before: str | None = None) -> dict[str, Any]:
    """The record the form describes (the shape of a site file), unvalidated."""
    wave = _text(form.wave.data).strip()
    return {
        "name": _text(form.name.data),
        "kind": _text(form.kind.data),
        # Anything but 1 or 2 goes through as typed, for the schema to refuse in its own words.
        "wave": int(wave) if wave in {"1", "2"} else (wave or None),
        "region": _text(form.region.data),
        "lead_organisations": [line.strip() for line in _LINE_BREAKS.split(_text(form.lead_organisations.data))
                               if line.strip()],
        "population": _optional(form.population.data),
        "website": _optional(form.website.data),
        # A textarea wraps; pressing Enter in it is not a reason to refuse a one-line summary.
        "summary": " ".join(_LINE_BREAKS.split(_text(form.summary.data))),
        "reviewed": _reviewed(form, reviewed_before),
        "body": _text(form.profile.data),
    }


def _theme_record(form: ThemeForm, reviewed_before: str | None = None) -> dict[str, Any]:
    return {"name": _text(form.name.data), "group": _text(form.group.data),
            "definition": _text(form.definition.data), "reviewed": _reviewed(form, reviewed_before)}


def _message(label: str, problem: Problem) -> str:
    """A schema message (``field: what is wrong``) in the words of the form."""
    rest = problem.message.split(": ", 1)[-1]
    label = re.sub(r" \(optional\)$", "", label)
    if len(problem.loc) > 1 and isinstance(problem.loc[1], int):
        label = f"{label.rstrip('s')} {problem.loc[1] + 1}"
    if rest == "is required" or rest.startswith("string should have at least 1 character"):
        return f"Enter the {label.lower()}"
    if match := re.match(r"string should have at most (\d+) characters?", rest):
        return f"{label} must be {match[1]} characters or fewer"
    if match := re.match(r"list should have at most (\d+) items?", rest):
        return f"{label}: give {match[1]} or fewer"
    if rest.startswith(("must ", "is ", "cannot ", "only ")):
        return f"{label} {rest}"
    return rest[:1].upper() + rest[1:]


def _show_problems(form: FlaskForm, problems: list[Problem], field_of: dict[str, str] | None = None) -> list[str]:
    """Put each problem next to its field; return the messages that belong to no field."""
    general = []
    for problem in problems:
        key = str(problem.loc[0]) if problem.loc else ""
        field: Field | None = form._fields.get((field_of or {}).get(key, key))
        if field is None or key == "csrf_token":
            general.append(problem.message)
            continue
        field.errors = [*field.errors, _message(field.label.text, problem)]
    return general


def _respond(template: str, form: FlaskForm, **context: Any):  # noqa: ANN202
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


# --- dashboard ----------------------------------------------------------------------------------


@bp.get("/")
def index():
    """Links to every administration page."""
    return render_template("admin/index.html")


# --- sites --------------------------------------------------------------------------------------


@bp.get("/sites")
def site_list():
    """Every site with its wave, region and number of entries."""
    return render_template("admin/sites.html", rows=sites.sites_for_admin(current_user))


@bp.route("/sites/new", methods=["GET", "POST"])
def new_site():
    """The new-site form; on POST, create the site and go back to the list."""
    form, general = NewSiteForm(), []
    if form.validate_on_submit():
        slug = _text(form.slug.data).strip()
        try:
            saved = sites.create_site(current_user, slug, _site_record(form), now=utcnow(), client=request.remote_addr)
        except sites.InvalidSite as invalid:
            general = _show_problems(form, invalid.problems, SITE_FIELD_OF)
        else:
            flash(f"Site ‘{saved.site.name}’ created.", "success")
            return redirect(url_for("admin.site_list"))
    return _respond("admin/site_form.html", form, site=None, general=general)


@bp.route("/sites/<slug>/edit", methods=["GET", "POST"])
def edit_site(slug: str):
    """The site's form; on POST, save it. :raise NotFound: for an unknown site (404)."""
    site, record = sites.site_for_editing(current_user, slug)
    general: list[str] = []
    if request.method == "GET":
        form = SiteForm(data={
            **{key: record.get(key) or "" for key in ("name", "kind", "region", "population", "website", "summary")},
            "wave": str(record.get("wave") or ""),
            "lead_organisations": "\n".join(record["lead_organisations"]),
            "profile": record["body"],
        })
    else:
        form = SiteForm()
        if form.validate_on_submit():
            try:
                saved = sites.save_site(current_user, slug, _site_record(form, record.get("reviewed")), now=utcnow(), client=request.remote_addr)
            except sites.InvalidSite as invalid:
                general = _show_problems(form, invalid.problems, SITE_FIELD_OF)
            else:
                flash(f"Site ‘{saved.site.name}’ saved." if saved.changed else "Nothing had changed.", "success")
                return redirect(url_for("admin.site_list"))
    return _respond("admin/site_form.html", form, site=site, general=general)


# --- themes -------------------------------------------------------------------------------------


@bp.get("/themes")
def theme_list():
    """Every theme in display order with its group and number of entries."""
    return render_template("admin/themes.html", rows=themes.themes_for_admin(current_user))


@bp.route("/themes/new", methods=["GET", "POST"])
def new_theme():
    """The new-theme form; on POST, create the theme and go back to the list."""
    form, general = NewThemeForm(), []
    if form.validate_on_submit():
        slug = _text(form.slug.data).strip()
        try:
            saved = themes.create_theme(current_user, slug, _theme_record(form), now=utcnow(), client=request.remote_addr)
        except themes.InvalidTheme as invalid:
            general = _show_problems(form, invalid.problems)
        else:
            flash(f"Theme ‘{saved.theme.name}’ created.", "success")
            return redirect(url_for("admin.theme_list"))
    return _respond("admin/theme_form.html", form, theme=None, general=general)


@bp.route("/themes/<slug>/edit", methods=["GET", "POST"])
def edit_theme(slug: str):
    """The theme's form; on POST, save it. :raise NotFound: for an unknown theme (404)."""
    theme, record = themes.theme_for_editing(current_user, slug)
    general: list[str] = []
    if request.method == "GET":
        # Not ``reviewed``: the box is ticked afresh by whoever checks the theme this time.
        form = ThemeForm(data={key: value for key, value in record.items() if key != "reviewed"})
    else:
        form = ThemeForm()
        if form.validate_on_submit():
            try:
                saved = themes.save_theme(current_user, slug, _theme_record(form, record.get("reviewed")), now=utcnow(),
                                          client=request.remote_addr)
            except themes.InvalidTheme as invalid:
                general = _show_problems(form, invalid.problems)
            else:
                flash(f"Theme ‘{saved.theme.name}’ saved." if saved.changed else "Nothing had changed.", "success")
                return redirect(url_for("admin.theme_list"))
    return _respond("admin/theme_form.html", form, theme=theme, general=general)


# --- audit log ----------------------------------------------------------------------------------


def _page_number(value: str | None) -> int:
    """``?page=``: absent means 1. :raise BadRequest: for anything but a whole number."""
    if value is None or value == "":
        return 1
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise BadRequest("The page number must be a whole number, such as 2.")
    return int(value)


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, 50 events a page, optionally one action.

    :raise BadRequest: for an unknown action or page (400).
    """
    action = request.args.get("action") or None
    log = audit.list_events(current_user, action=action, page=_page_number(request.args.get("page")))
    return render_template("admin/audit.html", log=log, actions=audit.ACTIONS)
