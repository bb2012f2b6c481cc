"""/account/subscriptions: a member's saved searches and followed sites and themes; the buttons
that make them on the search, site and theme pages; and an OPML file of their feeds.

Every form is a POST with a CSRF token and works without JavaScript. The services check who may
do what (:mod:`kb.services.subscriptions`): another member's subscription is a 404.

OPML (``/account/subscriptions.opml``): with a private feed key the file lists the member's
private feed addresses (network-only entries included); without one it lists the public feed
addresses, says so in its title, and the subscriptions page says how to make a key.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from kb.links import absolute_url
from kb.models import Frequency
from kb.models.types import utcnow
from kb.services import feed_tokens
from kb.services import subscriptions as service
from kb.services.errors import BadRequest
from kb.services.feeds import SITE_NAME, xml_text
from kb.services.filters import Filters
from kb.views.forms import Form

bp = Blueprint("subscriptions", __name__)
PREFIX = "/account/subscriptions"


class ButtonForm(Form):
    """A button (CSRF-protected): save, follow, delete."""


class RenameForm(Form):
    """A subscription's new name."""

    name = StringField("Name")


class FrequencyForm(Form):
    """How often a subscription is sent."""

    frequency = SelectField("How often", choices=[SelectChoice(f.value, f.label) for f in Frequency])


def _done(subscription: Any, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("subscriptions.index"))


def _subscribe(make: Any) -> Any:
    """Check the form, call ``make(now)``; a duplicate goes to the list saying so."""
    form = ButtonForm()
    if not form.validate_on_submit():
        raise BadRequest("This form has expired or was not sent from this site. "
                         "Go back, reload the page and try again.")
    try:
        subscription = make(utcnow())
    except service.AlreadySubscribed as already:
        flash(already.message + " It has not been added twice.", "info")
        return redirect(url_for("subscriptions.index"))
    return _done(subscription, f"Subscribed: “{subscription.name}”. "
                 f"You will get it by email {subscription.frequency.label.lower()}.")


@bp.post(PREFIX + "/search")
@login_required
def save_search():
    """Save the search or browse whose ``/search`` parameters the form carries."""
    filters = Filters.from_args(request.form)
    return _subscribe(lambda now: service.save_search(current_user, filters, now=now))


@bp.post(PREFIX + "/site/<slug>")
@login_required
def follow_site(slug: str):
    """Follow a site. :raise BadRequest: (400) unknown site."""
    return _subscribe(lambda now: service.follow_site(current_user, slug, now=now))


@bp.post(PREFIX + "/theme/<slug>")
@login_required
def follow_theme(slug: str):
    """Follow a theme, or one side of it (form field ``polarity``). :raise BadRequest: (400) unknown theme."""
    return _subscribe(lambda now: service.follow_theme(current_user, slug, request.form.get("polarity"), now=now))


# --- managing them ---------------------------------------------------------------------------


def _feed_urls(subscription: Any, token: str | None) -> tuple[str, str]:
    kind, values = service.feed_target(subscription)
    private = {"token": token} if token else {}
    return (absolute_url(f"feeds.{kind}", fmt="atom", **private, **values),
            absolute_url(f"feeds.{kind}", fmt="rss", **private, **values))


def _index_page(problem: str | None = None, problem_id: int | None = None, status: int = 200) -> tuple[str, int]:
    token = feed_tokens.current_token(current_user)
    items = [(s, _feed_urls(s, token), service.search_args(s)) for s in service.list_subscriptions(current_user)]
    return render_template("subscriptions/index.html", items=items, token=token, problem=problem,
                           problem_id=problem_id, frequencies=list(Frequency), form=ButtonForm(),
                           limit=service.MAX_SUBSCRIPTIONS, max_name=service.MAX_NAME_LENGTH), status


@bp.get(PREFIX)
@login_required
def index():
    """Every subscription of the signed-in member, each with rename, frequency and delete forms."""
    return _index_page()


@bp.get(PREFIX + "/<int:subscription_id>")
@login_required
def show(subscription_id: int):
    """What the next digest of one subscription would hold. :raise NotFound: (404) not the member's."""
    subscription = service.get_subscription(current_user, subscription_id)
    preview = service.preview(subscription, utcnow())
    return render_template("subscriptions/show.html", subscription=subscription, preview=preview,
                           search_args=service.search_args(subscription))


def _change(subscription_id: int, form: Form, action: Any, message: str) -> Any:
    service.get_subscription(current_user, subscription_id)  # 404 before anything else for others' ids
    if not form.validate_on_submit():
        problems = [error for errors in form.errors.values() for error in errors]
        text = "This form has expired. Please try again." if "csrf_token" in form.errors else "; ".join(problems)
        return _index_page(text, subscription_id, 400)
    try:
        subscription = action()
    except BadRequest as problem:
        return _index_page(problem.message, subscription_id, 400)
    return _done(subscription, message.format(name=getattr(subscription, "name", subscription)))


@bp.post(PREFIX + "/<int:subscription_id>/rename")
@login_required
def rename(subscription_id: int):
    """Rename a subscription. :raise NotFound: (404) not the member's. 400: a bad name, said on the page."""
    form = RenameForm()
    return _change(subscription_id, form, lambda: service.rename(current_user, subscription_id, form.name.data),
                   "Renamed to “{name}”.")


@bp.post(PREFIX + "/<int:subscription_id>/frequency")
@login_required
def frequency(subscription_id: int):
    """Change how often a subscription is sent. :raise NotFound: (404) not the member's."""
    form = FrequencyForm()
    return _change(subscription_id, form,
                   lambda: service.set_frequency(current_user, subscription_id, form.frequency.data),
                   "“{name}” will now be sent as you chose.")


@bp.post(PREFIX + "/<int:subscription_id>/delete")
@login_required
def delete(subscription_id: int):
    """Delete a subscription (no emails for it any more). :raise NotFound: (404) not the member's."""
    return _change(subscription_id, ButtonForm(), lambda: service.delete(current_user, subscription_id),
                   "Deleted “{name}”. You will get no more emails for it.")


# --- OPML ------------------------------------------------------------------------------------


@bp.get(PREFIX + ".opml")
@login_required
def opml():
    """An OPML 2.0 file of the member's subscriptions' feeds (private ones if they have a key)."""
    token = feed_tokens.current_token(current_user)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    kind = "members' feeds" if token else "public feeds: make a private feed key for network-only entries"
    ET.SubElement(head, "title").text = xml_text(f"{SITE_NAME}: subscriptions of {current_user.name} ({kind})")
    ET.SubElement(head, "dateCreated").text = utcnow().strftime("%a, %d %b %Y %H:%M:%S GMT")
    ET.SubElement(head, "ownerName").text = xml_text(current_user.name)
    body = ET.SubElement(root, "body")
    for subscription in service.list_subscriptions(current_user):
        atom, _rss = _feed_urls(subscription, token)
        name = xml_text(subscription.name)
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=atom,
                      htmlUrl=absolute_url("search.index", **service.search_args(subscription)))
    document = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(document, mimetype="text/x-opml+xml")
    response.headers["Content-Disposition"] = 'attachment; filename="subscriptions.opml"'
    # (Cache-Control: no-store comes with every signed-in page, kb.security.)
    response.headers["Referrer-Policy"] = "no-referrer"  # private addresses hold a secret
    return response


# --- on listing pages ------------------------------------------------------------------------


def subscription_for(kind: str, **values: Any) -> Any:
    """The signed-in member's subscription for what a listing page shows (``kind`` as in
    :data:`kb.views.feeds.KINDS`), or ``None`` (not subscribed, or not a member)."""
    if not current_user.is_authenticated:
        return None
    values = {k: v for k, v in values.items() if v not in (None, "")}
    try:
        filters = Filters.from_args({k: str(v) for k, v in values.items() if k != "slug"}
                                    | ({kind: values["slug"]} if kind in ("site", "theme") else {}))
    except BadRequest:
        return None
    return service.find(current_user, filters)


def subscribe_url(kind: str, **values: Any) -> str:
    """Where a listing page's "email" link goes: its own subscribe box (``#subscribe``); for all
    entries or a type, the search page's (those pages have no box of their own)."""
    values = {k: v for k, v in values.items() if v not in (None, "")}
    if kind in ("entries", "type"):
        return url_for("search.index", **values, _anchor="subscribe")
    return "#subscribe"


bp.add_app_template_global(subscription_for)
bp.add_app_template_global(subscribe_url)
