"""An embedded PostgreSQL for `make dev` and the tests, kept in a directory of ours.

The server binaries come from the `pgserver` wheel (PostgreSQL 16, installed from PyPI by
requirements-dev.txt), so nothing has to be installed by hand. PostgreSQL refuses to run as root;
when we are root, the server runs inside a user namespace where our uid maps to an unprivileged
one (`unshare --user --map-user`), so no system user is created and no permissions are changed.
The server listens on 127.0.0.1 only, trust authentication, user `postgres`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


class PgError(RuntimeError):
    pass


def bin_dir() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgError("the pgserver wheel is not installed (pip install -r requirements-dev.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PgError(f"no PostgreSQL binaries under {path}")
    return path


def _wrap(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    unshare = shutil.which("unshare")
    if unshare is None:
        raise PgError("running as root needs `unshare` (util-linux) to start PostgreSQL unprivileged")
    return [unshare, "--user", "--map-user=1000", "--map-group=1000", *cmd]


def _run(cmd: list[str], timeout: float = 60) -> None:
    proc = subprocess.run(_wrap(cmd), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise PgError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """One data directory and the server that serves it."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.bin = bin_dir()

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return True

    def init(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _run([str(self.bin / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C", "--no-sync"], timeout=120)

    def start(self) -> None:
        self.init()
        if self.running():
            return
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k '' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        log = self.data_dir / "postgres.log"
        try:
            _run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-o", opts, "-l", str(log), "-w", "-t", "60",
                  "start"], timeout=90)
        except PgError as exc:  # pg_ctl only says "could not start server": the reason is in the log
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            raise PgError(f"PostgreSQL did not start on port {self.port}: " + " | ".join(tail or [str(exc)])) from None
        deadline = time.monotonic() + 30
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise PgError(f"PostgreSQL did not accept connections on port {self.port}")
            time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            _run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"], timeout=60)

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                tmpl = f" template {template}" if template else ""
                conn.execute(f'create database "{name}"{tmpl}')
        return self.url(name)
