"""The ceiling for bench/web.py: a bare Flask + Jinja page of 20 items, and nothing else.

No database, no search, no extensions: what the same gunicorn settings (gunicorn.conf.py's
worker class, workers and threads, access log) can serve on this machine when a page costs
only Flask's routing and one Jinja render. bench/web.py serves it beside the app with
``gunicorn --config gunicorn.conf.py bench.ceiling_app:app`` and reports each page's requests/s
as a fraction of this one's, measured in the same run.
"""

from __future__ import annotations

from flask import Flask, render_template
from jinja2 import DictLoader

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<main>
<h1>{{ title }}</h1>
<ul>
{% for item in items %}
  <li><h2><a href="/entries/{{ item.slug }}">{{ item.title }}</a></h2>
      <p>{{ item.summary }}</p>
      <p>{{ item.site }} · {{ item.published }}</p></li>
{% endfor %}
</ul>
</main>
</body>
</html>
"""

ITEMS = [
    {
        "slug": f"entry-{n}",
        "title": f"Care navigators in general practice, example {n}",
        "summary": "How a named navigator for each person cut repeat A&E attendances & kept people at home.",
        "site": "Greenwich",
        "published": f"2015-{n % 12 + 1:02d}-01",
    }
    for n in range(1, 21)
]

app = Flask(__name__)
app.jinja_loader = DictLoader({"page.html": PAGE})


@app.get("/")
def page():
    """The 20-item page, rendered on every request (autoescaped, like the app's templates)."""
    return render_template("page.html", title="Latest entries", items=ITEMS)


@app.get("/healthz")
def healthz():
    """Answered once the worker is up, as the app's /healthz is (bench/web.py waits for it)."""
    return {"status": "ok"}
