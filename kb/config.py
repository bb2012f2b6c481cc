"""Configuration: defaults, overridden by ``KB_*`` environment variables, overridden by test overrides.

Every setting the application reads lives here, so that deployment is a matter of environment
variables and nothing else:

=====================  ============================================================  =====================
variable               meaning                                                        default
=====================  ============================================================  =====================
``KB_SECRET_KEY``      signs sessions and CSRF tokens                                 random, kept in
                                                                                      ``instance/secret_key``
``KB_DATABASE_URL``    SQLAlchemy URL (SQLite or PostgreSQL)                          ``sqlite:///instance/kb.sqlite3``
``KB_DB_POOL_SIZE``    database connections kept per process; ``KB_DB_MAX_OVERFLOW``  ``10``; ``50``; ``30``
                       more under load (PostgreSQL; SQLite grows as needed),
                       ``KB_DB_POOL_TIMEOUT`` seconds to wait for one. About twice
                       the server's threads (kb/database.py)
``KB_DB_BUSY_SECONDS`` how long a SQLite writer waits for the write lock               ``15``
``KB_INSTANCE_PATH``   folder for the SQLite file, search index and mail outbox       ``<project>/instance``
``KB_BASE_URL``        absolute URL the site is served at, for links in mail/feeds   ``http://127.0.0.1:5000``
``KB_TRUSTED_HOSTS``   other host names requests may name in ``Host`` (comma-        ``localhost,127.0.0.1,``
                       separated; ``.example.org`` for its subdomains); the host of   ``::1``
                       ``KB_BASE_URL`` always counts. Others get a 400
``KB_SESSION_DAYS``    days a sign-in lasts at most (signing out ends it sooner)      ``30``
``KB_CONTENT_DIR``     folder ``make run`` imports                                     ``<project>/content``
``KB_NHSUK_DIR``       built ``nhsuk-frontend`` assets (``dist/nhsuk``)               ``<project>/node_modules/…``
``KB_INDEX_DIR``       the Whoosh search index folder                                 ``instance/index``
``KB_GLOSSARY_FILE``   acronyms and synonyms for search and the glossary page        ``<content>/glossary.yml``
``KB_SEARCH_SECONDS``  time budget of one search; slower ones return partial results  ``2.0``
``KB_SEARCH_CACHE_MB`` memory per process for cached postings, positions and bit sets ``1024``
``KB_SEARCH_``         searches one process works on at once; the others wait their   ``2``
``CONCURRENCY``        turn (kb/services/search.py ``_taking_turns``; 0: no limit)
``KB_MAIL_URL``        ``outbox`` (``.eml`` files in ``instance/outbox``), ``memory://`` ``outbox``
                       or ``smtp[s]://user:password@host:port[?starttls=1]``
``KB_MAIL_FROM``       the From address of every email                                ``Pioneer Knowledge Base
                                                                                      <no-reply@localhost>``
``KB_FEEDBACK_EMAIL``  where the feedback form (/feedback) sends what people write      ``Pioneer network team
                                                                                      <feedback@localhost>``
``KB_DIGEST_CLAIM_``    seconds after which a digest claimed by a send-digests run     ``900``
``SECONDS``            that died in mid-send is taken over (kb/services/digests.py)
``KB_DIGEST_WORKERS``  processes a send-digests run of 1,000 members or more is       one per core, and
                       shared among (kb/services/digest_workers.py); 1: in-process    one more
``KB_*_LIMIT*``        rate limits on sign-in, password resets and changes            see :func:`load`
``KB_RATELIMIT_``      where the limits are counted (``redis://…`` with several      ``memory://``
``STORAGE_URI``        worker processes)
``KB_CACHE_TYPE``      stored public pages (kb/caching.py): ``simple`` (each         ``simple``
                       process's memory), ``filesystem`` (gunicorn.conf.py's
                       choice: shared by the workers), ``redis`` or ``none``
``KB_CACHE_MB``        ``simple``: memory per process for stored pages; at most      ``64``; ``2000``
``KB_CACHE_ITEMS``     ``KB_CACHE_ITEMS`` pages (also the ``filesystem`` bound)
``KB_CACHE_ITEM_KB``   larger pages are not stored                                    ``512``
``KB_CACHE_SECONDS``   a stored page is dropped after this long                       ``600``
``KB_CACHE_DIR``       ``filesystem``: the folder                                     ``instance/page-cache``
``KB_CACHE_REDIS_URL`` ``redis``: the server (needs the ``redis`` package)            ``redis://localhost:6379/0``
=====================  ============================================================  =====================
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path_from_env() -> Path:
    """Return the instance folder: ``KB_INSTANCE_PATH`` or ``<project>/instance``."""
    return Path(os.environ.get("KB_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def _secret_key(instance_path: Path) -> str:
    """Return ``KB_SECRET_KEY``, or a random key persisted in the instance folder.

    Persisting it keeps sessions valid across restarts of ``make run`` without asking anyone
    to invent a secret; production deployments set ``KB_SECRET_KEY`` explicitly.
    """
    if key := os.environ.get("KB_SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


DEFAULT_TRUSTED_HOSTS = "localhost,127.0.0.1,::1"  # the machine itself: health checks, make run


def trusted_hosts(base_url: str, others: str) -> list[str]:
    """Flask's ``TRUSTED_HOSTS``: the host of ``base_url`` and the comma-separated ``others``."""
    hosts = [urlsplit(base_url).hostname or ""] + [host.strip() for host in others.split(",")]
    return list(dict.fromkeys(host for host in hosts if host))


def load(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping for an app whose instance folder is ``instance_path``.

    ``overrides`` (used by tests) win over the environment, which wins over the defaults.
    """
    overrides = dict(overrides or {})
    env = os.environ
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": env.get(
            "KB_DATABASE_URL", f"sqlite:///{instance_path / 'kb.sqlite3'}"
        ),
        # Connections per process: about twice the server's threads (see kb/database.py).
        "KB_DB_POOL_SIZE": int(env.get("KB_DB_POOL_SIZE", "10")),
        "KB_DB_MAX_OVERFLOW": int(env.get("KB_DB_MAX_OVERFLOW", "50")),
        "KB_DB_POOL_TIMEOUT": float(env.get("KB_DB_POOL_TIMEOUT", "30")),
        # How long a SQLite writer waits for another's lock before giving up.
        "KB_DB_BUSY_SECONDS": float(env.get("KB_DB_BUSY_SECONDS", "15")),
        "KB_BASE_URL": env.get("KB_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "KB_CONTENT_DIR": Path(env.get("KB_CONTENT_DIR", PROJECT_ROOT / "content")),
        "KB_NHSUK_DIR": Path(
            env.get("KB_NHSUK_DIR", PROJECT_ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk")
        ),
        "KB_PAGE_SIZE": 20,
        "KB_INDEX_DIR": Path(env.get("KB_INDEX_DIR", instance_path / "index")),
        "KB_SEARCH_SECONDS": float(env.get("KB_SEARCH_SECONDS", "2.0")),
        "KB_SEARCH_CONCURRENCY": int(env.get("KB_SEARCH_CONCURRENCY", "2")),
        "KB_SEARCH_CACHE_MB": int(env.get("KB_SEARCH_CACHE_MB", "1024")),
        "KB_MAIL_URL": env.get("KB_MAIL_URL", "outbox"),
        "KB_MAIL_FROM": env.get("KB_MAIL_FROM", "Pioneer Knowledge Base <no-reply@localhost>"),
        # The network team's mailbox: feedback from /feedback is emailed here (kb/services/feedback.py).
        "KB_FEEDBACK_EMAIL": env.get("KB_FEEDBACK_EMAIL", "Pioneer network team <feedback@localhost>"),
        # send-digests: a claim on a member's digest older than this, left by a run that died
        # mid-send, is taken over by the next run (kb/services/digests.py).
        "KB_DIGEST_CLAIM_SECONDS": int(env.get("KB_DIGEST_CLAIM_SECONDS", "900")),
        # A large run's sending processes: one more than the cores, as each waits on the mail
        # server about half the time (kb/services/digest_workers.py).
        "KB_DIGEST_WORKERS": int(env.get("KB_DIGEST_WORKERS", str((os.cpu_count() or 1) + 1))),
        # Sign-in attempts (successful or not), per account and per client address.
        "KB_SIGN_IN_LIMIT_ACCOUNT": env.get("KB_SIGN_IN_LIMIT_ACCOUNT", "5 per 15 minutes"),
        "KB_SIGN_IN_LIMIT_CLIENT": env.get("KB_SIGN_IN_LIMIT_CLIENT", "20 per 15 minutes"),
        # Password reset requests, per client address and per address asked about; password
        # changes per account.
        "KB_PASSWORD_RESET_LIMIT_CLIENT": env.get("KB_PASSWORD_RESET_LIMIT_CLIENT", "10 per hour"),
        "KB_PASSWORD_RESET_LIMIT_ACCOUNT": env.get("KB_PASSWORD_RESET_LIMIT_ACCOUNT", "3 per hour"),
        "KB_PASSWORD_CHANGE_LIMIT": env.get("KB_PASSWORD_CHANGE_LIMIT", "10 per 15 minutes"),
        # Where Flask-Limiter counts: per process by default; use redis://… with several workers.
        "RATELIMIT_STORAGE_URI": env.get("KB_RATELIMIT_STORAGE_URI", "memory://"),
        # Stored public pages for readers not signed in (kb/caching.py).
        "KB_CACHE_TYPE": env.get("KB_CACHE_TYPE", "simple"),
        "KB_CACHE_MB": int(env.get("KB_CACHE_MB", "64")),
        "KB_CACHE_ITEMS": int(env.get("KB_CACHE_ITEMS", "2000")),
        "KB_CACHE_ITEM_KB": int(env.get("KB_CACHE_ITEM_KB", "512")),
        "KB_CACHE_SECONDS": int(env.get("KB_CACHE_SECONDS", "600")),
        "KB_CACHE_DIR": Path(env.get("KB_CACHE_DIR", instance_path / "page-cache")),
        "KB_CACHE_REDIS_URL": env.get("KB_CACHE_REDIS_URL", "redis://localhost:6379/0"),
        # Cookies: never readable from scripts, not sent on cross-site sub-requests.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("KB_BASE_URL", "").startswith("https://"),
        # How long a sign-in lasts at most (kb.services.accounts ends older sessions).
        "KB_SESSION_DAYS": int(env.get("KB_SESSION_DAYS", "30")),
        # Bodies larger than this are refused with 413 before any view runs.
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
    config.update(overrides)
    # Requests naming another host are a 400, so no redirect (or anything else) reflects it.
    config.setdefault("TRUSTED_HOSTS", trusted_hosts(
        config["KB_BASE_URL"], config.get("KB_TRUSTED_HOSTS", env.get("KB_TRUSTED_HOSTS", DEFAULT_TRUSTED_HOSTS))))
    config.setdefault(
        "KB_GLOSSARY_FILE", Path(env.get("KB_GLOSSARY_FILE", Path(config["KB_CONTENT_DIR"]) / "glossary.yml"))
    )
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance_path)
    return config
