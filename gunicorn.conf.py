"""How ``make run`` (and every test that starts a real server) serves the site: gunicorn.

One place for the server's settings; the Makefile's ``run`` target, ``tests/live_server.py``
and the browser tests all start ``gunicorn -c gunicorn.conf.py``. ``PORT`` picks the port;
gunicorn's own ``GUNICORN_CMD_ARGS`` overrides anything here (e.g. ``--workers 4``).

Sized for the embedded default (SQLite and a Whoosh index on local disk) on 2 cores:

* 2 worker processes, so that both cores serve (one Python process uses one core at a time);
  SQLite and the Whoosh index are both made for several processes: SQLite locks the file,
  index updates wait in a database queue that whichever process holds the index lock writes,
  and every process notices a new commit or a swapped-in index on its next search.
* 8 threads each (gthread), so that slow clients and requests waiting on SQLite's write lock
  do not hold up the rest. All 8 are started before the worker serves and kept for its life, each
  holding one searcher from the start (post_worker_init below).
* ``KB_DB_POOL_SIZE`` defaults to 2 × threads (kb/database.py): every thread can hold a
  connection while a second is being checked for liveness, without waiting on the pool.
* ``KB_CACHE_TYPE`` defaults to ``filesystem``: the workers share one store of public pages.
"""

import os
import re
import sys

from gunicorn import glogging

# CPython 3.11 corrupts its heap under these threads and workers die of SIGSEGV
# (docs/python-versions.md); the Makefile picks a supported Python, and this stops anyone else.
if not (3, 12) <= sys.version_info[:2] <= (3, 13):
    raise SystemExit(f"Pioneer KB serves on CPython 3.12 or 3.13, not {sys.version.split()[0]}: "
                     "3.11 crashes under the server's threads (docs/python-versions.md).")

wsgi_app = "wsgi:app"
bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = 2
threads = 8
os.environ.setdefault("KB_DB_POOL_SIZE", str(2 * threads))
# Stored public pages (kb/caching.py) in instance/page-cache, shared by both workers: a page is
# rendered once for the server rather than once per worker, and a worker's memory does not
# grow with the pages it has stored. Reading one back costs ~0.1 ms more than from memory.
os.environ.setdefault("KB_CACHE_TYPE", "filesystem")

# SIGTERM stops accepting and lets requests in flight finish for up to this many seconds
# before workers are killed (SIGINT, Ctrl-C, is gunicorn's quick shutdown).
graceful_timeout = 30
# A worker silent for this long is restarted (a request the size of a full reindex belongs
# to `flask kb`, never to a page).
timeout = 60
keepalive = 5

# One access log line per request on stdout, carrying the request id (kb/serving.py).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


class AccessLogger(glogging.Logger):
    """gunicorn's logger, with members' private feed keys (``/feeds/m/<key>/…``) and digest
    unsubscribe tokens (``/unsubscribe/<token>``) blanked out of the request line and path, so
    that whoever reads the logs cannot read private feeds or stop someone's emails."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U"):
            if isinstance(atoms.get(name), str):
                atoms[name] = PRIVATE_FEED_KEY.sub(r"\1[key]", atoms[name])
        return atoms


PRIVATE_FEED_KEY = re.compile(r"(/feeds/m/|/unsubscribe/)[^/?#\s]+")
logger_class = AccessLogger


def post_worker_init(worker):
    """Before the new worker serves: start all its threads, each with its searcher open, so
    that its threads and open files do not grow with load later; then warm its search on a
    background thread (kb/search/warming.py).

    Readiness never waits for the warming, and a missing or broken index only means none.
    """
    app = getattr(worker, "wsgi", None)
    backend = getattr(app, "extensions", {}).get("kb.search")
    if backend is not None:
        from kb.search.warming import open_in_every_thread, open_searcher_files, warm_in_background

        pool = getattr(worker, "tpool", None)  # gthread's pool of request threads
        if pool is not None:
            open_in_every_thread(pool, worker.cfg.threads, lambda: open_searcher_files(backend))
        warm_in_background(backend, report=worker.log.info)


def worker_exit(server, worker):
    """Close the worker's searchers and database connections before it goes."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {})
    if "kb.search" in extensions:
        extensions["kb.search"].close()
    if "sqlalchemy" in extensions:
        with app.app_context():
            extensions["sqlalchemy"].engine.dispose()
