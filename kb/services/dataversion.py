"""The data version: one number that moves whenever anything a reader can see may have changed.

Anything computed from the database and kept between requests (counts, lists of ids, whole
pages) can be kept under the data version it was computed at, and is then never stale: a
request that reads a newer version does not find it.

**What moves it.** Every commit of the app's sessions that wrote a row of any table except the
bookkeeping ones in :data:`UNTRACKED` (audit events, the search index queue, sign-in sessions,
members' feed keys, subscriptions and the digest log, none of which any shared page shows):
entries and their tags, sources, outcomes, links and revisions, sites, themes, users and
memberships — a save, a publish, an archive, a change of visibility, an import, a new role.
Rows written through the ORM are noticed at flush; ``UPDATE``/``DELETE``/``INSERT`` statements
run through the session (``session.execute(update(...))``) are noticed too. A write made
outside the app's sessions (another program, raw SQL on a bare connection) does not move it.

**How.** ``data_version`` holds one row. The session hooks note at each flush whether it wrote
tracked rows and, just before a commit that did, run ``UPDATE data_version SET version =
version + 1`` as the transaction's last statement: the new number commits with the change or
not at all, and readers on other processes see both together. The row is locked from that
statement to the commit only, by a transaction that waits on nothing else by then, so writers
queue there briefly but can never deadlock on it (PostgreSQL). A rolled-back transaction moves
nothing; a commit that changed nothing readable moves nothing.

**Reading it costs one primary-key query per request at most**: :func:`current` remembers the
number in ``flask.g`` for the rest of the request, and forgets it when the request's own
session commits. Take it *before* reading what you cache, so that what is cached is never older
than the number it is filed under (SQLite reads one snapshot per transaction; PostgreSQL's
statements see the latest commits, which can only make the cached value newer).

**Memo.** :func:`memo` keeps values computed at the current version in this process, per app
(bounded: only the current version's values, at most :data:`MEMO_LIMIT` of them). Cache plain
values — numbers, tuples of frozen dataclasses, ids, ``Markup`` — never ORM objects, which
belong to one session. The key must say everything the value depends on besides the data, the
reader above all (see :func:`kb.services.entries.listing_scope`).

A database restored from a backup under a running server can bring back a version number it
has already passed: restart the server after restoring.
"""

from __future__ import annotations

import threading
from itertools import chain
from typing import Callable, Hashable, TypeVar

from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, insert, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from kb.extensions import db
from kb.models import DataVersion

T = TypeVar("T")

# Tables whose rows no page shows to readers: writing them does not move the version.
# (A member's feed key shows only on pages for that member, which are never stored; so do a
# member's subscriptions, on /account/subscriptions, and a follow button only for a signed-in member.)
# The digest log shows only on /admin/digests, never stored either; and a digest run writes two
# of its rows per member: were they tracked, one run would empty every cache thousands of times.
UNTRACKED = frozenset({"audit_event", "index_queue", "user_session", "feed_token", "subscription",
                       "digest_delivery", "digest_run"})
CHANGED = "kb.dataversion.changed"  # session.info: this transaction wrote tracked rows
_G_KEY = "kb_data_version"
_MEMO_KEY = "kb.dataversion.memo"
MEMO_LIMIT = 4096
_READ_VERSION = "SELECT version FROM data_version WHERE id = 1"


def current() -> int:
    """The committed data version as this request's transaction sees it (0 before any migration
    wrote the row). One query per request; later calls in the request are free."""
    if has_app_context() and _G_KEY in g:
        return g.get(_G_KEY)
    # The statement as plain SQL on the session's own connection (so in the request's transaction,
    # as any ORM read would be): a stored page costs little else, and compiling a select and
    # its cache key through the ORM was a quarter of serving one.
    version = db.session.connection().exec_driver_sql(_READ_VERSION).scalar() or 0
    if has_app_context():
        setattr(g, _G_KEY, version)
    return version


def bump(session: Session) -> None:
    """Move the version by one in ``session``'s transaction (the hooks call this; call it yourself
    only after changing tracked tables behind the session's back)."""
    connection = session.connection()
    moved = connection.execute(update(DataVersion.__table__).where(DataVersion.__table__.c.id == 1)
                               .values(version=DataVersion.__table__.c.version + 1))
    if moved.rowcount == 0:  # a database made without the migrations (create_all) has no row yet
        connection.execute(insert(DataVersion.__table__).values(id=1, version=1))
    _forget_request_version()


def _forget_request_version() -> None:
    if has_app_context():
        g.pop(_G_KEY, None)


def _tracked(table_names: set[str]) -> bool:
    return bool(table_names - UNTRACKED)


def _note_flush(session: Session, _context: UOWTransaction) -> None:
    if session.info.get(CHANGED):
        return
    names = {getattr(obj, "__tablename__", "") for obj in chain(session.new, session.dirty, session.deleted)}
    if _tracked(names):
        session.info[CHANGED] = True


def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or _tracked({name}):
        state.session.info[CHANGED] = True


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # the outermost commit bumps, once
    session.flush()  # so that this commit's last writes are noted before deciding
    if session.info.get(CHANGED):
        bump(session)


def _after_commit(session: Session) -> None:
    session.info.pop(CHANGED, None)
    _forget_request_version()


def _after_soft_rollback(session: Session, previous_transaction) -> None:  # noqa: ANN001
    # Only a rollback of the whole transaction undoes its changes; after a savepoint's, the
    # outer transaction may still hold changes that must move the version.
    if previous_transaction.parent is None:
        session.info.pop(CHANGED, None)
        _forget_request_version()


_registered = False


def register_session_hooks(session_class: type[Session]) -> None:
    """Keep the version in step with commits of ``session_class`` (once per process)."""
    global _registered
    if _registered:
        return
    event.listen(session_class, "after_flush", _note_flush)
    event.listen(session_class, "do_orm_execute", _note_statement)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
    _registered = True


def init_app(app: Flask) -> None:
    """Register the session hooks on Flask-SQLAlchemy's session class, and give ``app`` its memo
    (one per app, since each app has its own database: tests make many in one process)."""
    register_session_hooks(FlaskSession)
    app.extensions[_MEMO_KEY] = Memo()


# --- memo ---------------------------------------------------------------------------------------


class Memo:
    """Values computed at one data version, for one app (one database): see :func:`memo`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: int | None = None
        self.values: dict[Hashable, object] = {}

    def clear(self) -> None:
        with self.lock:
            self.version = None
            self.values.clear()


def _app_memo() -> Memo:
    return current_app.extensions[_MEMO_KEY]


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, computed once per data version and ``key`` in this process and app.

    ``key`` must name everything the value depends on apart from the data (the reader's scope,
    the page's parameters). The value must be plain data, safe to share between threads.
    """
    version = current()
    store = _app_memo()
    with store.lock:
        if store.version == version and key in store.values:
            return store.values[key]  # type: ignore[return-value]
    value = compute()
    with store.lock:
        if store.version != version:
            # A request with an older snapshot than the memo's may reset it: the next request at
            # the newer version simply computes again. Values are always filed under the version
            # read before they were computed, so none is ever served for a later version.
            store.version = version
            store.values.clear()
        if len(store.values) >= MEMO_LIMIT:
            store.values.clear()
        store.values[key] = value
    return value


def clear_memo() -> None:
    """Forget every value memoised for the current app (benchmarks of a first request)."""
    _app_memo().clear()
