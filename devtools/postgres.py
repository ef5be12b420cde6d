"""A throwaway PostgreSQL server on loopback: the database the s3log_redshift tests and demo load into.

Redshift cannot run here; PostgreSQL 15 can, from the binaries on PATH (``initdb``, ``pg_ctl``; or the
folder in ``PG_BIN``). The server lives in a temporary directory, listens on 127.0.0.1 only, trusts
local connections (there is nothing in it worth a password) and is deleted on exit. Durability is
switched off (fsync, full-page writes, synchronous commit): it is a test database.

``initdb`` refuses to run as root, so when this process is root the server runs as the unprivileged
``postgres`` account (or ``PG_OS_USER``), which then owns the temporary directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

DATABASE_USER = "logpipes"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    folder = os.environ.get("PG_BIN")
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).exists():
        raise FileNotFoundError(f"{name} not found on PATH (or in PG_BIN): PostgreSQL 15 binaries are needed")
    return found


class PostgresServer:
    """``with PostgresServer() as pg:`` gives ``pg.dsn`` for psycopg; the server is gone afterwards."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.host = "127.0.0.1"
        self.database = "postgres"
        self.user = DATABASE_USER
        self._root: Path | None = None
        self._os_user: str | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def data_dir(self) -> Path:
        if self._root is None:
            raise RuntimeError("the server is not started")
        return self._root / "data"

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, user=self._os_user, cwd=self._root
        )
        if result.returncode != 0:
            log = self._root / "server.log" if self._root else None
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command[:2])} failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}\n{tail}"
            )

    def start(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self._root = Path(tempfile.mkdtemp(prefix="logpipes-postgres-"))
        if os.geteuid() == 0:
            self._os_user = os.environ.get("PG_OS_USER", "postgres")
            shutil.chown(self._root, user=self._os_user)
        try:
            self._run(
                initdb,
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            )
            options = " ".join(
                (
                    f"-c listen_addresses={self.host}",
                    f"-p {self.port}",
                    f"-k {self._root}",
                    "-c fsync=off",
                    "-c full_page_writes=off",
                    "-c synchronous_commit=off",
                )
            )
            self._run(
                pg_ctl,
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self._root / "server.log"),
                "--options",
                options,
                "--wait",
                "--timeout",
                "60",
                "start",
            )
        except BaseException:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            raise

    def stop(self) -> None:
        if self._root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    _binary("pg_ctl"), "--pgdata", str(self.data_dir), "--mode", "immediate", "--wait", "stop"
                )
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
