"""In-process cost of public pages with and without the stored-page cache (kb/caching.py).

Serves each page through the Flask test client (no server, no network), as a reader who is not
signed in, ``--repeat`` times per case after a warm-up, and prints the median and 90th
percentile in milliseconds:

* ``rendered``: ``KB_CACHE_TYPE=none`` — every request renders the page (the view, its queries,
  the template), with ETags still computed;
* ``stored``: the default cache — the data version's read, a lookup, and the stored bytes;
* ``304``: the default cache, with the stored page's ETag in ``If-None-Match``.

Usage (on a copy of a database, e.g. the 10,000-entry one; never on one in use)::

    KB_INSTANCE_PATH=/tmp/copy/instance KB_DATABASE_URL=sqlite:////tmp/copy/kb.sqlite3 \\
        .venv/bin/python -m bench.page_cache [--repeat 50]

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sqlalchemy import select

from kb import create_app
from kb.extensions import db
from kb.models import Entry, EntryStatus, Site, Theme, Visibility


def _pages(app) -> list[str]:  # noqa: ANN001
    with app.app_context():
        entry = db.session.scalar(select(Entry.slug).where(Entry.status == EntryStatus.PUBLISHED,
                                                           Entry.visibility == Visibility.PUBLIC).limit(1))
        site = db.session.scalar(select(Site.slug).order_by(Site.slug))
        theme = db.session.scalar(select(Theme.slug).order_by(Theme.position))
    return ["/", f"/sites/{site}", f"/themes/{theme}", f"/entries/{entry}", "/glossary"]


def _time(app, url: str, repeat: int, headers: dict[str, str] | None = None) -> tuple[list[float], int, int]:  # noqa: ANN001
    """Milliseconds per request, the last status and the page's size in bytes."""
    client = app.test_client()
    size = len(client.get(url).get_data())  # warm-up (and, with the cache, the store)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, headers=headers or {})
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
    return times, response.status_code, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rendered = create_app({"KB_CACHE_TYPE": "none"})
    stored = create_app({})
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'page':48} {'bytes':>8} {'rendered p50/p90':>18} {'stored p50/p90':>16} {'304 p50/p90':>14}  speed-up")
    for url in _pages(stored):
        slow, _, size = _time(rendered, url, args.repeat)
        fast, status, _ = _time(stored, url, args.repeat)
        etag = stored.test_client().get(url).headers.get("ETag", "")
        not_modified, code, _ = _time(stored, url, args.repeat, {"If-None-Match": etag})
        assert status == 200 and code == 304, (url, status, code)

        def cell(values: list[float]) -> str:
            return f"{statistics.median(values):7.2f}/{statistics.quantiles(values, n=10)[-1]:<7.2f}"

        print(f"{url[:48]:48} {size:8d} {cell(slow):>18} {cell(fast):>16} {cell(not_modified):>14}"
              f"  {statistics.median(slow) / statistics.median(fast):6.0f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for app in (rendered, stored):
        with app.app_context():
            db.engine.dispose()
        app.extensions["kb.search"].close()


if __name__ == "__main__":
    main()
