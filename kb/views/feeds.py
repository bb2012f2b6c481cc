"""/feeds/…: Atom and RSS feeds, public and private; /account/feeds: a member's private feed key.

Public feeds (``/feeds/search.atom?q=…``) are the same for everyone — rendered for an anonymous
reader whoever asks — so a proxy may keep them for five minutes (``public, max-age=300``).
Private feeds (``/feeds/m/<token>/search.atom?q=…``) are rendered for the member whose token the
address carries, include network-only entries, and are never stored (``private, no-store``);
a token that does not (or no longer) work is a 404. Both answer ``If-None-Match`` and
``If-Modified-Since`` with ``304``. The ``ETag`` is a digest of the document, so any change shows;
``Last-Modified`` is the newest entry's ``updated`` time, which an entry *leaving* a feed
(unpublished, archived) does not move: a client that sends only ``If-Modified-Since`` sees that
with the feed's next new or updated entry.

Feed readers poll: no rate limit applies to feeds, except that a client's failed private feed
requests (404s: unknown, revoked or guessed tokens) are limited (``KB_FEED_TOKEN_LIMIT``).
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kb.extensions import limiter
from kb.links import absolute_url
from kb.models import EntryType
from kb.models.types import utcnow
from kb.services import feed_tokens, feeds
from kb.services.errors import NotFound
from kb.views.forms import Form

bp = Blueprint("feeds", __name__)

FEED_TOKEN_LIMIT = "60 per hour"  # failed private feed requests per client; KB_FEED_TOKEN_LIMIT overrides
PUBLIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, no-store"
GONE = ("This private feed address does not work. It may have been replaced or revoked: "
        "sign in and copy your current address from your account.")
_TYPES = ",".join(t.value for t in EntryType)

# kind: (the route after /feeds or /feeds/m/<token>, the feed source for the URL's values)
KINDS: dict[str, tuple[str, Callable[..., feeds.FeedSource]]] = {
    "entries": ("/entries.<any(atom,rss):fmt>", lambda args: feeds.everything()),
    "site": ("/sites/<slug>.<any(atom,rss):fmt>", lambda args, slug: feeds.for_site(slug)),
    "theme": ("/themes/<slug>.<any(atom,rss):fmt>", lambda args, slug: feeds.for_theme(slug, args)),
    "type": (f"/types/<any({_TYPES}):type>.<any(atom,rss):fmt>", lambda args, type: feeds.for_type(type)),
    "search": ("/search.<any(atom,rss):fmt>", lambda args: feeds.for_search(args)),
}


def _public_request() -> bool:
    return request.view_args is None or "token" not in request.view_args


@limiter.limit(lambda: current_app.config.get("KB_FEED_TOKEN_LIMIT", FEED_TOKEN_LIMIT),
               exempt_when=_public_request, deduct_when=lambda response: response.status_code == 404)
def feed(kind: str, fmt: str, token: str | None = None, **values: str) -> Response:
    """One feed. Query parameters are those of the page it follows (``/search``'s for searches).

    :raise NotFound: (404) unknown site, theme or type; a private token that does not work.
    :raise BadRequest: (400) a parameter ``/search`` would refuse, saying why.
    """
    reader = feed_tokens.reader_for_token(token) if token is not None else None
    if token is not None and reader is None:
        raise NotFound(GONE)
    source = KINDS[kind][1](request.args, **values)
    if token is None:
        document = feeds.public_feed(source, fmt)
    else:
        document = feeds.render_feed(source, reader, fmt, token=token)
    response = Response(document.body, mimetype=document.mimetype)
    response.set_etag(document.etag)
    if document.updated > feeds.EPOCH:
        response.last_modified = document.updated
    response.headers["Cache-Control"] = PUBLIC_CACHE if token is None else PRIVATE_CACHE
    if token is not None:
        response.headers["Referrer-Policy"] = "no-referrer"  # the address is a secret
        response.headers["X-Robots-Tag"] = "noindex"
    return response.make_conditional(request)


for _kind, (_rule, _source) in KINDS.items():
    bp.add_url_rule("/feeds" + _rule, _kind, feed, defaults={"kind": _kind})
    bp.add_url_rule("/feeds/m/<token>" + _rule, _kind, feed, defaults={"kind": _kind})


# --- links on listing pages -------------------------------------------------------------------


def _member_token() -> str | None:
    if "kb_feed_token" not in g:
        g.kb_feed_token = feed_tokens.current_token(current_user) if current_user.is_authenticated else None
    return g.kb_feed_token


def feed_url(kind: str, fmt: str = "atom", private: bool = False, **values: Any) -> str | None:
    """The address of a feed (``kind`` as in :data:`KINDS`); ``private``: the signed-in member's
    own, or ``None`` if they have no private feed key."""
    values = {k: v for k, v in values.items() if v not in (None, "")}
    if private:
        token = _member_token()
        return url_for(f"feeds.{kind}", fmt=fmt, token=token, **values) if token else None
    return url_for(f"feeds.{kind}", fmt=fmt, **values)


bp.add_app_template_global(feed_url)  # a global, so that imported macros (feeds/_links.html) see it


# --- the member's key -------------------------------------------------------------------------


class KeyForm(Form):
    """A button (CSRF-protected) to make or revoke the key."""


@bp.get("/account/feeds")
@login_required
def account():
    """The signed-in member's private feed addresses, and buttons to replace or revoke them."""
    return _account_page(KeyForm())


def _account_page(form: KeyForm, status: int = 200) -> tuple[str, int]:
    token = feed_tokens.current_token(current_user)
    addresses = []
    if token:
        kinds = [("All entries", "entries", {})] + [(f"{t.label} entries", "type", {"type": t.value}) for t in EntryType]
        addresses = [(label, absolute_url(f"feeds.{kind}", fmt="atom", token=token, **values),
                      absolute_url(f"feeds.{kind}", fmt="rss", token=token, **values))
                     for label, kind, values in kinds]
    return render_template("feeds/account.html", form=form, token=token, addresses=addresses,
                           created_at=feed_tokens.token_created_at(current_user)), status


@bp.post("/account/feeds/key")
@login_required
def new_key():
    """Make a private feed key, replacing any earlier one (whose addresses stop working)."""
    form = KeyForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    replaced = feed_tokens.current_token(current_user) is not None
    feed_tokens.issue_token(current_user, now=utcnow())
    flash("You have new private feed addresses. The old ones no longer work: update your feed reader."
          if replaced else "Your private feed addresses are ready.", "success")
    return redirect(url_for("feeds.account"))


@bp.post("/account/feeds/revoke")
@login_required
def revoke_key():
    """Revoke the private feed key: every private feed address stops working at once."""
    form = KeyForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    if feed_tokens.revoke_token(current_user):
        flash("Your private feed addresses no longer work.", "success")
    return redirect(url_for("feeds.account"))
