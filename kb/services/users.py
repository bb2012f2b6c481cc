"""People: invitations, network roles, site roles, deactivation — and each site's editors.

==========================  =====================================================================
use case                    who may
==========================  =====================================================================
invite / list / details     administrators
set_network_role            administrators, never on themselves
deactivate / reactivate     administrators, never on themselves
set_site_role(s)            administrators (any role, any site); a site's leads, for *editors*
                            of that site only: they add and remove editors, never make or
                            remove leads
site_people / add_to_site   the site's leads and administrators
accept_invitation           whoever holds a valid invitation link
==========================  =====================================================================

An invited account is active but *pending* until its password is set; inviting the same
address again re-sends the invitation with a fresh link (the old one stops working, because
the session token it was fingerprinted with is replaced — see :mod:`kb.services.tokens`).
Every change is recorded in the audit log in the same transaction; mail is sent after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.links import absolute_url
from kb.mail import MailSender, Message, deliver, render_message
from kb.models import Membership, NetworkRole, Site, SiteRole, User
from kb import textcheck
from kb.services import audit, tokens
from kb.services.accounts import (EMAIL_FORMAT, MAX_NAME, check_email, check_name,  # noqa: F401 - MAX_NAME for views
                                  end_sessions, find_by_email, normalise_email, set_password)
from kb.services.errors import BadRequest, NotAllowed, NotFound
from kb.services.permissions import can_administer, can_manage_editors, is_member, require_admin

ADMINS_ONLY = "Only administrators can manage people's accounts."


def status(user: User) -> str:
    """``"deactivated"``, ``"pending"`` (invited, no password yet) or ``"active"``."""
    if not user.active:
        return "deactivated"
    return "active" if user.password_hash else "pending"


def _subject(user: User) -> str:
    return f"user:{user.email}"



def _user(user_id: int) -> User:
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**63 else None
    if user is None:
        raise NotFound("There is no such account.")
    return user


def _site(slug: str) -> Site:
    site = db.session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        raise NotFound("There is no site at this address.")
    return site


def all_sites() -> list[Site]:
    """Every site, by name (the rows of the site roles form)."""
    return list(db.session.scalars(select(Site).order_by(Site.name)))


# --- reading ---------------------------------------------------------------------------------


def list_users(actor: Any) -> list[User]:
    """Every account, by name then address, with memberships loaded. :raise NotAllowed:"""
    require_admin(actor, ADMINS_ONLY)
    return list(db.session.scalars(
        select(User).options(selectinload(User.memberships).selectinload(Membership.site))
        .order_by(User.name, User.email)))


def get_user(actor: Any, user_id: int) -> User:
    """One account, for its admin page. :raise NotAllowed: unless admin. :raise NotFound:"""
    require_admin(actor, ADMINS_ONLY)
    return _user(user_id)


def invite_choices(actor: Any) -> list[Site]:
    """The sites the invite form offers roles at. :raise NotAllowed: unless admin."""
    require_admin(actor, ADMINS_ONLY)
    return all_sites()


# --- invitations -----------------------------------------------------------------------------


@dataclass
class InviteOutcome:
    """The invited account, whether it was a re-send, and any email that could not be sent."""

    user: User
    resent: bool
    undelivered: list[Message] = field(default_factory=list)


def invite(actor: Any, email: str, name: str, *, network_role: NetworkRole, site_roles: dict[str, SiteRole],
           now: datetime, sender: MailSender) -> InviteOutcome:
    """Create a pending account with these roles and email it an invitation link (7 days).

    Inviting an address whose account is still pending updates its name and roles and re-sends
    the invitation; the earlier link stops working.

    :raise NotAllowed: unless ``actor`` is an administrator.
    :raise BadRequest: for an address that is not one mailbox (see
        :func:`kb.services.accounts.check_email`), a missing or too long name or one with
        control characters, an unknown site, an address whose account is already set up or
        deactivated.
    """
    require_admin(actor, ADMINS_ONLY)
    address = check_email(email)
    name = check_name(name)
    if not isinstance(network_role, NetworkRole):
        raise BadRequest("Choose a network role")
    wanted = {slug: role for slug, role in site_roles.items() if role is not None}
    sites = {s.slug: s for s in db.session.scalars(select(Site).where(Site.slug.in_(wanted)))}
    if unknown := sorted(set(wanted) - set(sites)):
        raise BadRequest(f"There is no site {unknown[0]!r}")
    if any(not isinstance(role, SiteRole) for role in wanted.values()):
        raise BadRequest("Choose editor or lead for each site")

    user = find_by_email(address)
    resent = user is not None
    if user is not None and not user.active:
        raise BadRequest(f"The account for {address} is deactivated. Reactivate it on its page first.")
    if user is not None and user.password_hash:
        raise BadRequest(f"{address} already has an account. Change their roles on their page instead.")
    if user is None:
        user = User(email=address, active=True, created_at=now)
        db.session.add(user)
    user.name = name
    user.network_role = network_role
    _replace_memberships(user, {sites[slug]: role for slug, role in wanted.items()})
    end_sessions(user)  # a new account token, so a new fingerprint: earlier links stop working
    db.session.flush()
    audit.record("user_invited", actor=actor, subject=_subject(user), now=now, resent=resent,
                 network_role=network_role.value, sites={slug: role.value for slug, role in sorted(wanted.items())})
    db.session.commit()

    token = tokens.make_token(tokens.INVITATION, user, now=now)
    message = render_message(
        "invitation", user.email, person=user, inviter=actor,
        link=absolute_url("accounts.accept_invitation", token=token),
        expires=tokens.expires_at(tokens.INVITATION, now),
        sites=[(m.site, m.role) for m in user.memberships],
    )
    return InviteOutcome(user, resent, deliver(sender, [message]))


def resend_invitation(actor: Any, user_id: int, *, now: datetime, sender: MailSender) -> InviteOutcome:
    """Send a pending account a fresh invitation with its current name and roles.

    :raise NotAllowed: unless admin. :raise NotFound: :raise BadRequest: if not pending.
    """
    require_admin(actor, ADMINS_ONLY)
    user = _user(user_id)
    return invite(actor, user.email, user.name, network_role=user.network_role,
                  site_roles={m.site.slug: m.role for m in user.memberships}, now=now, sender=sender)


def _replace_memberships(user: User, roles: dict[Site, SiteRole]) -> None:
    # Changed in place: deleting and re-adding a site's row in one flush would break the
    # (user, site) unique constraint, since SQLAlchemy inserts before it deletes.
    by_site = {m.site_id: m for m in user.memberships}
    for site, role in roles.items():
        if site.id in by_site:
            by_site.pop(site.id).role = role
        else:
            user.memberships.append(Membership(site=site, role=role))
    for membership in by_site.values():
        user.memberships.remove(membership)


def invitation_for(token: str, *, now: datetime) -> User:
    """The pending account an invitation link is for.

    :raise BadRequest: if the link is invalid, expired, used or replaced.
    """
    user = tokens.read_token(tokens.INVITATION, token, now=now)
    if user.password_hash:
        raise BadRequest(tokens.USED)
    if not user.active:
        raise BadRequest(tokens.INVALID)
    return user


def accept_invitation(token: str, password: str, *, now: datetime, client: str | None = None) -> User:
    """Set the invited person's password (the view then signs them in); the link stops working.

    :raise BadRequest: see :func:`invitation_for`, or for a password too short or too long.
    """
    user = invitation_for(token, now=now)
    set_password(user, password)
    audit.record("invitation_accepted", actor=user, subject=_subject(user), now=now, client=client)
    db.session.commit()
    return user


# --- roles and deactivation --------------------------------------------------------------------


def set_network_role(actor: Any, user_id: int, role: NetworkRole, *, now: datetime) -> User:
    """Make an account a member or an administrator.

    :raise NotAllowed: unless ``actor`` is an administrator, or if they would demote themselves.
    :raise NotFound: for an unknown account. :raise BadRequest: for an unknown role.
    """
    require_admin(actor, ADMINS_ONLY)
    user = _user(user_id)
    if not isinstance(role, NetworkRole):
        raise BadRequest("Choose a network role")
    if user.id == actor.id and role != user.network_role:
        raise NotAllowed("You cannot change your own network role. Ask another administrator.")
    if role != user.network_role:
        audit.record("network_role_changed", actor=actor, subject=_subject(user), now=now,
                     **{"from": user.network_role.value, "to": role.value})
        user.network_role = role
    db.session.commit()
    return user


def _membership(user: User, site: Site) -> Membership | None:
    return next((m for m in user.memberships if m.site_id == site.id), None)


def _apply_site_role(actor: Any, user: User, site: Site, role: SiteRole | None, *, now: datetime) -> bool:
    """Change ``user``'s role at ``site`` in the session if ``actor`` may; True if it changed."""
    if role is not None and not isinstance(role, SiteRole):
        raise BadRequest("Choose editor, lead or no role")
    membership = _membership(user, site)
    current = membership.role if membership else None
    if role == current:
        return False
    if not can_administer(actor):
        if not can_manage_editors(actor, site):
            raise NotAllowed(f"Only the leads of {site.name} and administrators can change its editors.")
        if SiteRole.LEAD in (current, role):
            raise NotAllowed("Only administrators can make or remove a site's leads.")
    if role is not None and not user.active:
        raise BadRequest(f"The account for {user.email} is deactivated.")
    if membership is None:
        user.memberships.append(Membership(site=site, role=role))
    elif role is None:
        user.memberships.remove(membership)
    else:
        membership.role = role
    audit.record("site_role_changed", actor=actor, subject=_subject(user), now=now, site=site.slug,
                 **{"from": current.value if current else None, "to": role.value if role else None})
    return True


def set_site_role(actor: Any, user_id: int, site_slug: str, role: SiteRole | None, *, now: datetime) -> User:
    """Give ``user_id`` the role ``role`` at a site, or (``None``) remove them from it.

    Administrators may set any role; a lead of the site may only add or remove *editors*.

    :raise NotFound: for an unknown site or account.
    :raise NotAllowed: if ``actor`` may not make this change.
    :raise BadRequest: when adding a deactivated account.
    """
    if not is_member(actor):
        raise NotAllowed("Sign in to manage a site's people.")
    site = _site(site_slug)
    if not (can_administer(actor) or can_manage_editors(actor, site)):
        raise NotAllowed(f"Only the leads of {site.name} and administrators can change its editors.")
    user = _user(user_id)
    _apply_site_role(actor, user, site, role, now=now)
    db.session.commit()
    return user


def set_site_roles(actor: Any, user_id: int, roles: dict[str, SiteRole | None], *, now: datetime) -> User:
    """Set an account's roles at several sites at once (the admin page's form); all or nothing.

    :raise NotAllowed: unless ``actor`` is an administrator. :raise NotFound: unknown account or site.
    """
    require_admin(actor, ADMINS_ONLY)
    user = _user(user_id)
    sites = {s.slug: s for s in db.session.scalars(select(Site).where(Site.slug.in_(roles)))}
    if unknown := sorted(set(roles) - set(sites)):
        raise NotFound(f"There is no site {unknown[0]!r}.")
    try:
        for slug in sorted(roles):
            _apply_site_role(actor, user, sites[slug], roles[slug], now=now)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return user


def deactivate(actor: Any, user_id: int, *, now: datetime) -> User:
    """Stop an account signing in, and end all its sessions (and invitation links) at once.

    :raise NotAllowed: unless ``actor`` is an administrator, or for their own account.
    :raise NotFound: for an unknown account.
    """
    require_admin(actor, ADMINS_ONLY)
    user = _user(user_id)
    if user.id == actor.id:
        raise NotAllowed("You cannot deactivate your own account. Ask another administrator.")
    if user.active:
        user.active = False
        end_sessions(user)
        audit.record("user_deactivated", actor=actor, subject=_subject(user), now=now)
    db.session.commit()
    return user


def reactivate(actor: Any, user_id: int, *, now: datetime) -> User:
    """Let a deactivated account sign in again (a pending one needs a fresh invitation).

    :raise NotAllowed: unless ``actor`` is an administrator. :raise NotFound:
    """
    require_admin(actor, ADMINS_ONLY)
    user = _user(user_id)
    if not user.active:
        user.active = True
        audit.record("user_reactivated", actor=actor, subject=_subject(user), now=now)
    db.session.commit()
    return user


# --- a site's people ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SitePeople:
    """A site, the people with a role there (leads first, then by name), and what the actor may do."""

    site: Site
    people: list[Membership]
    can_manage_leads: bool


def site_people(actor: Any, site_slug: str) -> SitePeople:
    """The people of a site, for its leads and administrators.

    :raise NotFound: for an unknown site. :raise NotAllowed: for anyone else.
    """
    site = _site(site_slug)
    if not can_manage_editors(actor, site):
        raise NotAllowed(f"Only the leads of {site.name} and administrators can manage its people.")
    memberships = db.session.scalars(
        select(Membership).join(User).where(Membership.site_id == site.id)
        .options(selectinload(Membership.user)).order_by(User.name, User.email))
    people = sorted(memberships, key=lambda m: m.role != SiteRole.LEAD)
    return SitePeople(site, people, can_administer(actor))


def add_to_site(actor: Any, site_slug: str, email: str, role: SiteRole = SiteRole.EDITOR, *,
                now: datetime) -> User:
    """Give the active account with this address a role at the site (leads: editors only).

    :raise NotFound: for an unknown site. :raise NotAllowed: see :func:`set_site_role`.
    :raise BadRequest: if no active account has this address, or it already has this role.
    """
    site = _site(site_slug)
    if not can_manage_editors(actor, site):
        raise NotAllowed(f"Only the leads of {site.name} and administrators can change its editors.")
    address = normalise_email(email)
    if textcheck.problem(address):
        raise BadRequest(EMAIL_FORMAT)
    user = find_by_email(address) if address else None
    if user is None or not user.active:
        raise BadRequest(f"There is no active account for {address or 'that address'}. "
                         "Ask an administrator to invite them.")
    membership = _membership(user, site)
    if membership is not None and membership.role == role:
        raise BadRequest(f"{user.name} is already {'a lead' if role == SiteRole.LEAD else 'an editor'} "
                         f"of {site.name}.")
    return set_site_role(actor, user.id, site.slug, role, now=now)
