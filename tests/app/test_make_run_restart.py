"""A real restart through the README's command path: ``make run`` never undoes a change made on
the web, and serves the site even when a content file is broken.

``make run`` runs in its own process group (so that stopping it stops the server it started),
over a temporary instance folder and a temporary copy of ``content/`` (``KB_INSTANCE_PATH``,
``KB_CONTENT_DIR``), on a free port. Web changes are made over HTTP by a signed-in admin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests
from bs4 import BeautifulSoup

from kb.config import PROJECT_ROOT
from tests.conftest import CONTENT_DIR
from tests.live_server import form_fields, free_port, sign_in, stop_group, wait_until_serving

ARCHIVED = "sheffield-pooled-budget"
NETWORK = "barnsley-one-umbrella-not-one-organisation"
DRAFT = "camden-days-at-home-evidence"
EDITED = "airedale-wharfedale-craven-telehealth-care-homes"
WEB_SUMMARY = "A summary rewritten on the web before the restart."
ADMIN, PASSWORD = "ada@example.nhs.uk", "a long restart test password"
# First start: a fresh virtual environment is already there (make test made it), but the
# database, the import and the search index are built from nothing.
STARTUP_SECONDS = 300


def _environment(instance: Path, content: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           # A parent make's jobserver and flags are not this make's business; the database is
           # the SQLite file in the instance folder, as in the README.
           if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "KB_DATABASE_URL", "KB_INDEX_DIR")}
    env.update(KB_INSTANCE_PATH=str(instance), KB_CONTENT_DIR=str(content), PORT=str(port),
               KB_SECRET_KEY="make-run-restart-test", KB_MAIL_URL="outbox")
    return env


@contextmanager
def make_run(instance: Path, content: Path, log: Path) -> Iterator[str]:
    """``make run`` until /healthz answers; yield the base URL; stop it (and its server) on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=PROJECT_ROOT,
                                   env=_environment(instance, content, port), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_serving(base, process, STARTUP_SECONDS, lambda: log.read_text(errors="replace"))
            yield base
        finally:
            stop_group(process)


def _post_form(session: requests.Session, base: str, page: str, selector: str, **changes: str) -> None:
    """Submit the form ``selector`` of ``page`` as a browser would, with ``changes``; expect a redirect."""
    html = session.get(f"{base}{page}", timeout=60).text
    fields = form_fields(html, selector)
    fields.update({name: [value] for name, value in changes.items()})
    action = BeautifulSoup(html, "html.parser").select_one(selector).get("action") or page
    answer = session.post(f"{base}{action}", data=fields, allow_redirects=False, timeout=60)
    assert answer.status_code in (302, 303), (page, selector, answer.status_code, answer.text[:2000])


def _status(base: str, slug: str, session: requests.Session | None = None) -> int:
    return (session or requests).get(f"{base}/entries/{slug}", timeout=60, allow_redirects=False).status_code


def test_a_restart_with_make_run_keeps_every_web_change_and_serves_despite_a_broken_file(tmp_path):
    instance, content = tmp_path / "instance", tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)

    with make_run(instance, content, tmp_path / "first.log") as base:
        assert [_status(base, slug) for slug in (ARCHIVED, NETWORK, DRAFT, EDITED)] == [200] * 4
        created = subprocess.run(
            [str(PROJECT_ROOT / ".venv" / "bin" / "flask"), "--app", "kb", "kb", "create-admin", ADMIN,
             "--name", "Ada", "--password", PASSWORD],
            cwd=PROJECT_ROOT, env=_environment(instance, content, 0), capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr
        admin = sign_in(base, ADMIN, PASSWORD)
        _post_form(admin, base, f"/entries/{ARCHIVED}", 'form[action$="/archive"]')
        _post_form(admin, base, f"/entries/{DRAFT}", 'form[action$="/return-to-draft"]')
        _post_form(admin, base, f"/entries/{NETWORK}/edit", "form.kb-editor", visibility="network",
                   action="save", edit_summary="Members only")
        _post_form(admin, base, f"/entries/{EDITED}/edit", "form.kb-editor", summary=WEB_SUMMARY,
                   action="save", edit_summary="Clearer summary")
        assert [_status(base, slug) for slug in (ARCHIVED, NETWORK, DRAFT)] == [404] * 3
        assert WEB_SUMMARY in requests.get(f"{base}/entries/{EDITED}", timeout=60).text

    # Meanwhile two files are added to content/: one with a typo in a date, one valid.
    original = (content / "entries" / f"{EDITED}.md").read_text(encoding="utf-8")
    broken, typos = re.subn(r"(?m)^published: .*$", "published: 2015-02-30", original)
    assert typos == 1
    (content / "entries" / "broken-date.md").write_text(broken, encoding="utf-8")
    (content / "entries" / "added-while-down.md").write_text(
        re.sub(r"(?m)^title: .*$", "title: Added while the site was down", original), encoding="utf-8")

    with make_run(instance, content, tmp_path / "second.log") as base:
        assert [_status(base, slug) for slug in (ARCHIVED, NETWORK, DRAFT)] == [404] * 3
        page = requests.get(f"{base}/entries/{EDITED}", timeout=60).text
        assert WEB_SUMMARY in page
        admin = sign_in(base, ADMIN, PASSWORD)
        assert _status(base, NETWORK, admin) == 200  # still there, for members only
        assert "Added while the site was down" in requests.get(f"{base}/entries/added-while-down", timeout=60).text
        assert _status(base, "broken-date") == 404

    log = (tmp_path / "second.log").read_text(errors="replace")
    assert f"{content / 'entries' / 'broken-date.md'}:" in log
    assert "is not a valid date (day is out of range for month)" in log
    assert "entries: 1 created, 0 updated" in log and "4 kept as changed on the web" in log
    assert "Traceback" not in log
