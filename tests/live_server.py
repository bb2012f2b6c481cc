"""A real server in a subprocess, started the way ``make run`` starts it, and a form-filling client.

Tests that make promises about concurrency, restarts or crashes drive this server over HTTP
instead of the test client, so that threads, connections and locks are the real ones.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import requests
from bs4 import BeautifulSoup

from kb.config import PROJECT_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command() -> list[str]:
    """The command ``make run`` serves with (the Makefile's ``run`` target); ``PORT`` picks the port."""
    return [sys.executable, "-m", "gunicorn", "--config", str(PROJECT_ROOT / "gunicorn.conf.py")]


@dataclass
class Server:
    """A server started by :func:`serving`: its base URL and the id of its process group."""

    base: str
    group: int

    def processes(self) -> list[int]:
        """Every process of the server's group that is alive now (the server and its workers)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.group:
                        pids.append(int(entry.name))
                except ProcessLookupError:
                    continue
        return sorted(pids)


@contextmanager
def running_server(instance: Path, database_url: str, *, startup_seconds: float = 60,
                   **env: str) -> Iterator[str]:
    """Serve the site over ``database_url`` (index in ``instance/index``); yield its base URL.

    ``env`` adds ``KB_*`` settings. The server is stopped on exit, whatever happened; if it did
    not come up, the error says what it printed.
    """
    with serving(instance, database_url, startup_seconds=startup_seconds, **env) as server:
        yield server.base


@contextmanager
def serving(instance: Path, database_url: str, *, startup_seconds: float = 60, **env: str) -> Iterator[Server]:
    """:func:`running_server`, yielding the :class:`Server` (to look at its processes too)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "KB_INSTANCE_PATH": str(instance),
        "KB_DATABASE_URL": database_url,
        "KB_SECRET_KEY": "live-server-tests",
        "KB_BASE_URL": base,
        "KB_MAIL_URL": "outbox",
        "PORT": str(port),
        **env,
    }
    log = (instance / f"server-{port}.log").open("wb")
    process = subprocess.Popen(server_command(), env=environment, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(base, process, startup_seconds, lambda: server_output(instance, port))
        yield Server(base, process.pid)
    finally:
        stop_group(process)
        log.close()


def wait_until_serving(base: str, process: subprocess.Popen, seconds: float, output: Callable[[], str]) -> None:
    """Return once ``base``/healthz answers 200.

    :raise AssertionError: with the end of ``output()`` if ``process`` ends or ``seconds`` pass first.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{base} did not start serving:\n{output()[-4000:]}")
        time.sleep(0.1)  # polling for start-up with a deadline, not waiting a fixed time


def stop_group(process: subprocess.Popen) -> None:
    """Stop ``process`` and everything in its process group (it was started with a new session).

    The group is the one made for it (``start_new_session``) — for ``make run``: make, its shell
    and the server it started — and nothing else. Waits until the whole group is gone.
    """
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # make may exit before the server it started: wait for the whole group to be gone.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)


def server_output(instance: Path, port: int) -> str:
    """What the server on ``port`` printed so far."""
    return (instance / f"server-{port}.log").read_text(encoding="utf-8", errors="replace")


def form_fields(html: str, selector: str = "form[method=post]") -> dict[str, list[str]]:
    """The values a browser would submit for the first form matching ``selector`` (no button)."""
    form = BeautifulSoup(html, "html.parser").select_one(selector)
    if form is None:
        raise AssertionError(f"no form matching {selector!r} on the page")
    fields: dict[str, list[str]] = {}
    for element in form.find_all(["input", "textarea", "select"]):
        name = element.get("name")
        if not name or element.name == "input" and element.get("type") in ("submit", "button"):
            continue
        if element.name == "textarea":
            value = element.text.removeprefix("\n")  # as browsers do with a textarea's first newline
        elif element.name == "select":
            chosen = element.find("option", selected=True) or element.find("option")
            value = chosen.get("value", chosen.text) if chosen else ""
        elif element.get("type") in ("checkbox", "radio"):
            if not element.has_attr("checked"):
                continue
            value = element.get("value", "on")
        else:
            value = element.get("value", "")
        fields.setdefault(name, []).append(value)
    return fields


def sign_in(base: str, email: str, password: str) -> requests.Session:
    """A session signed in as ``email`` through the sign-in form."""
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=30)
    fields = form_fields(page.text)
    fields.update(email=[email], password=[password])
    answer = session.post(f"{base}/sign-in", data=fields, allow_redirects=False, timeout=30)
    if answer.status_code not in (302, 303):
        raise AssertionError(f"sign-in as {email} answered {answer.status_code}")
    return session
