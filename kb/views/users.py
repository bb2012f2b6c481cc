"""/admin/users/… (administrators) and /sites/<slug>/people (a site's leads): people and roles.

Views parse forms and call one service each; :mod:`kb.services.users` decides who may do what
(403 for a refused change, 404 for an unknown account or site). Every change is a POST with a
CSRF token, followed by a redirect and a confirmation banner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from kb.mail import current_sender
from kb.models import NetworkRole, Site, SiteRole, User
from kb.models.types import utcnow
from kb.services import users
from kb.services.accounts import normalise_email
from kb.services.errors import BadRequest
from kb.views.forms import Form, Mailbox

bp = Blueprint("users", __name__)

NETWORK_ROLES = [SelectChoice(role.value, role.label) for role in NetworkRole]
SITE_ROLES = [SelectChoice("", "No role")] + [SelectChoice(role.value, role.label) for role in SiteRole]


class ActionForm(Form):
    """A button: only the CSRF token (deactivate, reactivate, remove, re-send)."""


class NetworkRoleForm(Form):
    network_role = SelectField("Network role", choices=NETWORK_ROLES, default=NetworkRole.MEMBER.value)


class SiteRolesForm(Form):
    """One select per site, added by :func:`_site_roles_form` (``site_<id>`` fields)."""


class InviteForm(SiteRolesForm):
    email = EmailField("Email address", filters=[normalise_email], validators=[
        DataRequired("Enter the person's email address"), Mailbox()])
    name = StringField("Full name", filters=[lambda v: (v or "").strip()], validators=[
        DataRequired("Enter the person's name"), Length(max=users.MAX_NAME,
                                                        message=f"Name must be {users.MAX_NAME} characters or fewer")])
    network_role = SelectField("Network role", choices=NETWORK_ROLES, default=NetworkRole.MEMBER.value)


class AddPersonForm(Form):
    email = EmailField("Email address of their account", filters=[normalise_email], validators=[
        DataRequired("Enter the email address of the person's account"), Mailbox()])
    # Only administrators see this field; for leads the default (editor) applies.
    role = SelectField("Role", choices=SITE_ROLES[1:], default=SiteRole.EDITOR.value)


def _site_roles_form(base: type[FlaskForm], sites: list[Site], current: dict[int, SiteRole] | None = None,
                     **kwargs: Any) -> FlaskForm:
    """An instance of ``base`` with a role select per site (defaults: ``current`` roles)."""
    current = current or {}
    form_class = type(base.__name__, (base,), {
        f"site_{site.id}": SelectField(site.name, choices=SITE_ROLES,
                                       default=current[site.id].value if site.id in current else "")
        for site in sites
    })
    return form_class(**kwargs)


def _chosen_roles(form: FlaskForm, sites: list[Site]) -> dict[str, SiteRole | None]:
    return {site.slug: SiteRole(form[f"site_{site.id}"].data) if form[f"site_{site.id}"].data else None
            for site in sites}


def _roles_of(user: User) -> dict[int, SiteRole]:
    return {m.site_id: m.role for m in user.memberships}


# --- administrators: /admin/users ---------------------------------------------------------------


@bp.get("/admin/users")
@login_required
def index():
    """Every account with its roles and status. :raise NotAllowed: (403) unless admin."""
    return render_template("users/index.html", people=users.list_users(current_user), status=users.status)


@bp.route("/admin/users/invite", methods=["GET", "POST"])
@login_required
def invite():
    """Invite someone: address, name, network role and a role at any sites."""
    sites = users.invite_choices(current_user)
    form = _site_roles_form(InviteForm, sites)
    if form.validate_on_submit():
        try:
            outcome = users.invite(current_user, form.email.data, form.name.data,
                                   network_role=NetworkRole(form.network_role.data),
                                   site_roles=_chosen_roles(form, sites), now=utcnow(), sender=current_sender())
        except BadRequest as problem:  # the address is taken, or deactivated: say so next to it
            form.email.errors = [problem.message]
        else:
            _flash_invitation(outcome)
            return redirect(url_for("users.show", user_id=outcome.user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("users/invite.html", form=form, sites=sites), status


def _flash_invitation(outcome: users.InviteOutcome) -> None:
    if outcome.undelivered:
        flash(f"The invitation to {outcome.user.email} could not be sent. Try re-sending it later.", "warning")
    else:
        verb = "sent again" if outcome.resent else "sent"
        flash(f"Invitation {verb} to {outcome.user.email}. The link works for 7 days.", "success")


def _show(user: User, status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    sites = users.all_sites()
    forms.setdefault("role_form", NetworkRoleForm(formdata=None, network_role=user.network_role.value))
    forms.setdefault("sites_form", _site_roles_form(SiteRolesForm, sites, _roles_of(user), formdata=None))
    return render_template("users/show.html", user=user, sites=sites, status=users.status(user),
                           action_form=ActionForm(formdata=None), **forms), status


@bp.get("/admin/users/<int:user_id>")
@login_required
def show(user_id: int):
    """One account: details, network role, site roles, deactivate or reactivate."""
    return _show(users.get_user(current_user, user_id))


@bp.post("/admin/users/<int:user_id>/network-role")
@login_required
def network_role(user_id: int):
    """Change an account's network role. :raise NotAllowed: (403) on oneself or unless admin."""
    user = users.get_user(current_user, user_id)
    form = NetworkRoleForm()
    if not form.validate_on_submit():
        return _show(user, 400, role_form=form)
    users.set_network_role(current_user, user_id, NetworkRole(form.network_role.data), now=utcnow())
    flash(f"{user.name} is now: {NetworkRole(form.network_role.data).label}.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/site-roles")
@login_required
def site_roles(user_id: int):
    """Set an account's role at every site at once."""
    user = users.get_user(current_user, user_id)
    sites = users.all_sites()
    form = _site_roles_form(SiteRolesForm, sites, _roles_of(user))
    if not form.validate_on_submit():
        return _show(user, 400, sites_form=form)
    users.set_site_roles(current_user, user_id, _chosen_roles(form, sites), now=utcnow())
    flash(f"Site roles of {user.name} saved.", "success")
    return redirect(url_for("users.show", user_id=user_id))


def _action(user_id: int, run: Callable[[], object], message: str) -> ResponseReturnValue:
    form = ActionForm()
    user = users.get_user(current_user, user_id)
    if not form.validate_on_submit():
        return _show(user, 400, action_form=form)
    run()
    flash(message.format(name=user.name, email=user.email), "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    """Deactivate an account: it cannot sign in, and its sessions end now."""
    return _action(user_id, lambda: users.deactivate(current_user, user_id, now=utcnow()),
                   "{name} can no longer sign in, and has been signed out everywhere.")


@bp.post("/admin/users/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    return _action(user_id, lambda: users.reactivate(current_user, user_id, now=utcnow()),
                   "{name} can sign in again.")


@bp.post("/admin/users/<int:user_id>/resend")
@login_required
def resend(user_id: int):
    """Send a pending account a fresh invitation (the earlier link stops working)."""
    form = ActionForm()
    user = users.get_user(current_user, user_id)
    if not form.validate_on_submit():
        return _show(user, 400, action_form=form)
    _flash_invitation(users.resend_invitation(current_user, user_id, now=utcnow(), sender=current_sender()))
    return redirect(url_for("users.show", user_id=user_id))


# --- a site's leads: /sites/<slug>/people ---------------------------------------------------------


def _people_page(slug: str, form: AddPersonForm | None = None, status: int = 200) -> ResponseReturnValue:
    people = users.site_people(current_user, slug)
    return render_template("users/site_people.html", people=people, site=people.site, form=form or AddPersonForm(formdata=None),
                           action_form=ActionForm(formdata=None)), status


@bp.get("/sites/<slug>/people")
@login_required
def site_people(slug: str):
    """A site's editors and leads. :raise NotAllowed: (403) unless its lead or an admin."""
    return _people_page(slug)


@bp.post("/sites/<slug>/people")
@login_required
def add_person(slug: str):
    """Add an existing account to the site (leads: as an editor; admins: editor or lead)."""
    form = AddPersonForm()
    if form.validate_on_submit():
        try:
            user = users.add_to_site(current_user, slug, form.email.data, SiteRole(form.role.data), now=utcnow())
        except BadRequest as problem:  # no such active account, or already in that role
            form.email.errors = [problem.message]
        else:
            flash(f"{user.name} is now {'a lead' if form.role.data == 'lead' else 'an editor'} of this site.",
                  "success")
            return redirect(url_for("users.site_people", slug=slug))
    return _people_page(slug, form, 400)


@bp.post("/sites/<slug>/people/<int:user_id>/remove")
@login_required
def remove_person(slug: str, user_id: int):
    """Remove someone's role at the site (leads may remove editors only)."""
    form = ActionForm()
    if not form.validate_on_submit():
        return _people_page(slug, status=400)
    user = users.set_site_role(current_user, user_id, slug, None, now=utcnow())
    flash(f"{user.name} no longer has a role at this site.", "success")
    return redirect(url_for("users.site_people", slug=slug))
