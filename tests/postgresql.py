"""A throwaway PostgreSQL server for the test session, from Debian's ``postgresql`` binaries.

The server lives in a temporary folder (in memory where there is room), listens only on a unix
socket in that folder (no TCP port to clash with anything), runs with durability switched off (its
data is thrown away) and is stopped and deleted by :meth:`PostgresServer.stop`. PostgreSQL refuses to run as root, so when
the tests run as root the server runs as the ``postgres`` system user that Debian's package
creates; otherwise it runs as whoever runs the tests.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

# Settings for a server whose data does not matter: nothing is flushed to disk, nothing is
# reachable from outside, and every connection may come in as the superuser without a password.
# Its time zone is far from UTC, at an odd offset, so that anything depending on it shows.
SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{socket}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
timezone = 'Asia/Kathmandu'
"""


def _scratch_folder() -> str | None:
    """``/dev/shm`` if it has room, else the usual temporary folder (``None``).

    In memory, copying a test's database takes a hundredth of a second instead of a tenth or
    more, hundreds of times a session. Containers often give ``/dev/shm`` only 64 MB: too little.
    """
    try:
        stats = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if stats.f_bavail * stats.f_frsize >= 2 * 1024**3 and os.access("/dev/shm", os.W_OK) else None


def find_binaries() -> Path | None:
    """Return the folder of ``initdb``/``pg_ctl``: ``KB_PG_BIN``, or the newest Debian install."""
    if configured := os.environ.get("KB_PG_BIN"):
        return Path(configured)
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return installed[-1].parent if installed else None


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("PostgreSQL will not run as root, and there is no 'postgres' user to run it "
                           "as: install Debian's postgresql, which creates one") from None


class PostgresServer:
    """A running server; :meth:`create_database` and :meth:`drop_database` work on it."""

    USER = "postgres"  # the superuser name, whatever the operating-system user

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="kb-pg-", dir=_scratch_folder()))
        self.data = self.folder / "data"
        self._names = itertools.count(1)
        self._owner = _server_user() if os.geteuid() == 0 else None
        if self._owner:
            os.chown(self.folder, self._owner.pw_uid, self._owner.pw_gid)
        try:
            self._run("initdb", "--pgdata", str(self.data), "--username", self.USER, "--auth", "trust",
                      "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync")
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(SETTINGS.format(socket=self.folder))
            self._run("pg_ctl", "--pgdata", str(self.data), "--log", str(self.folder / "server.log"),
                      "--wait", "--timeout", "60", "start")
            self._admin = psycopg.connect(self._conninfo("postgres"), autocommit=True)
        except BaseException:
            self._stop_server()
            raise

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self._owner:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr or done.stdout}"
                + (log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else "")
            )

    def _conninfo(self, database: str) -> str:
        return f"host={self.folder} user={self.USER} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{self.USER}@/{database}?host={self.folder}"

    def create_database(self, template: str | None = None) -> str:
        """Create a new, uniquely named database (a copy of ``template`` if given); return its name.

        A copy is a file-level clone made by the server: much faster than migrating again. The
        template must have no open connections while it is copied.
        """
        name = f"kb_{next(self._names)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if self._admin.info.server_version >= 150000:
                # Copy the files (PostgreSQL 15 otherwise copies block by block through the
                # write-ahead log, several times slower for a small database).
                statement += sql.SQL(" STRATEGY FILE_COPY")
        self._admin.execute(statement)
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection a test left open to it."""
        self._admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        self._admin.close()
        self._stop_server()

    def _stop_server(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "immediate", "--wait", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
