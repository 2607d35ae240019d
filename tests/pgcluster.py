"""A throwaway PostgreSQL cluster for the test session.

The server binaries come from Debian's ``postgresql`` package (``scripts/setup.sh`` installs
it); nothing of Debian's own cluster is used. ``initdb`` refuses to run as root, so when the
tests run as root (as they do here and on CI) the server runs as the ``postgres`` user in a
temporary folder owned by it. Trust authentication, listening on 127.0.0.1 at a free port.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

DB_USER = "tingyin"
DB_NAME = "tingyin"


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) on this machine."""


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl; the newest Debian version wins."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(out)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        bindir = Path(candidate)
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresNotFound(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin, "
        "`pg_config --bindir` or PATH; install them with scripts/setup.sh "
        "(Debian package: postgresql)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(cmd: Sequence[str | Path], timeout: float = 120) -> None:
    result = subprocess.run(
        [str(part) for part in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"command failed ({result.returncode}): {' '.join(str(p) for p in cmd)}\n"
            f"{result.stdout}{result.stderr}"
        )


@dataclass
class PgCluster:
    """One running cluster; use :meth:`start` and :meth:`stop` (or ``with``)."""

    bindir: Path
    base: Path
    port: int = 0
    _as_postgres: list[str] = field(default_factory=list)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        return self.base / "postgres.log"

    def url(self, dbname: str = DB_NAME) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database in this cluster."""
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = DB_NAME) -> str:
        """libpq connection string, for psycopg directly."""
        return f"host=127.0.0.1 port={self.port} user={DB_USER} dbname={dbname}"

    @classmethod
    def start(cls, bindir: Path | None = None) -> PgCluster:
        """initdb a temporary folder, start the server on a free port, create ``tingyin``."""
        bindir = bindir or find_bindir()
        # Directly under the system temp dir: pytest's own tmp dirs are private to root and
        # the postgres user could not reach them.
        base = Path(tempfile.mkdtemp(prefix="tingyin-pg-"))
        cluster = cls(bindir=bindir, base=base)
        try:
            if os.geteuid() == 0:
                shutil.chown(base, user="postgres", group="postgres")
                cluster._as_postgres = ["runuser", "-u", "postgres", "--"]
            cluster._initdb()
            cluster._start_server()
            cluster.create_database(DB_NAME)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _initdb(self) -> None:
        _run(
            [
                *self._as_postgres,
                self.bindir / "initdb",
                "-D",
                self.datadir,
                "-A",
                "trust",
                "-U",
                DB_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _start_server(self) -> None:
        # A free port can be taken by someone else before the server binds it: retry.
        last_error: RuntimeError | None = None
        for _ in range(5):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                _run(
                    [
                        *self._as_postgres,
                        self.bindir / "pg_ctl",
                        "-D",
                        self.datadir,
                        "-l",
                        self.logfile,
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                )
                return
            except RuntimeError as exc:
                log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
                last_error = RuntimeError(f"{exc}\n--- {self.logfile} ---\n{log}")
                if "could not bind" not in log and "already in use" not in log:
                    break
                time.sleep(0.2)
        self.port = 0
        assert last_error is not None
        raise last_error

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.conninfo("postgres"), autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def new_database(self) -> str:
        """Create an empty database with a fresh name and return the name."""
        name = f"t_{secrets.token_hex(6)}"
        self.create_database(name)
        return name

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the folder; safe to call twice."""
        try:
            if self.port and (self.datadir / "postmaster.pid").exists():
                _run(
                    [
                        *self._as_postgres,
                        self.bindir / "pg_ctl",
                        "-D",
                        self.datadir,
                        "-m",
                        "fast",
                        "-w",
                        "stop",
                    ]
                )
        finally:
            self.port = 0
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
