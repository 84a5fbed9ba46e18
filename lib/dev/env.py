"""The embedded defaults of `make dev`: a database, migrations, secrets for local use, simulators."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lib.dev.pg import free_port
from lib.dev.server import ROOT

DATA = ROOT / ".data"
DEV_JWT_SECRET = "local-dev-jwt-secret-not-for-production-0123456789"
DEV_CRON_SECRET = "local-dev-cron-secret"
DEV_DB_NAME = "wa_inbox"


def jwt_secret() -> str:
    return os.environ.get("SUPABASE_JWT_SECRET") or DEV_JWT_SECRET


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class DevError(RuntimeError):
    """An expected condition that stops `make dev` (a port is taken, the database is unreachable):
    printed as one message, never as a traceback."""


DEFAULT_PG_PORT = 54329


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens there. SO_REUSEADDR, as servers bind (PostgreSQL, ours): connections of a server
    that just stopped linger in TIME_WAIT on its port without making it unusable."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(variable: str, default: int, what: str, host: str = "127.0.0.1") -> int:
    """The port in `variable`, or `default`. A taken port that was asked for explicitly stops us with
    a message naming it; a taken default is replaced by a free port, and we say so."""
    raw = os.environ.get(variable)
    if raw:
        try:
            port = int(raw)
        except ValueError:
            raise DevError(f"{variable}={raw!r} is not a port number") from None
        if port and not port_free(port, host):
            raise DevError(f"port {port} ({variable}, {what}) is already in use by another process, perhaps "
                           f"another checkout's `make dev`: stop it, or choose a free port, e.g. "
                           f"`{variable}={free_port(host)} make dev`")
        return port
    if port_free(default, host):
        return default
    port = free_port(host)
    print(f"note       port {default} ({what}) is in use, perhaps by another checkout's `make dev`; using {port} "
          f"(set {variable} to choose)", flush=True)
    return port


def database(data_dir: Path, stack: contextlib.ExitStack) -> str:
    """DATABASE_URL when set; otherwise the embedded server under `data_dir`, started now and stopped
    when `stack` closes (also on Ctrl-C and SIGTERM), so it never outlives `make dev`."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from lib.dev.pg import Cluster  # noqa: PLC0415

    cluster = Cluster(data_dir / "pg", DEFAULT_PG_PORT)
    if cluster.running():  # left behind by a `make dev` that was killed: ours, so stop it and start afresh
        cluster.stop()
    cluster.port = choose_port("DEV_PG_PORT", DEFAULT_PG_PORT, "the embedded PostgreSQL")
    stack.callback(_stop, cluster)
    cluster.start()
    return cluster.create_database(DEV_DB_NAME)


def prepare(port: int, data_dir: Path, stack: contextlib.ExitStack) -> list[str]:
    """Set up the environment for the local bundle; returns the lines that describe it."""
    import psycopg  # noqa: PLC0415

    from lib import config, migrate  # noqa: PLC0415

    url = database(data_dir, stack)
    try:
        applied = migrate.apply(url)
    except psycopg.OperationalError as exc:
        raise DevError(f"cannot reach the database {without_password(url)}: {str(exc).strip()}") from None
    seed(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DATA_TRANSPORT", "postgres")
    os.environ.setdefault("SUPABASE_JWT_SECRET", DEV_JWT_SECRET)
    os.environ.setdefault("CRON_SECRET", DEV_CRON_SECRET)
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    lines = [f"database   {without_password(url)} ({len(applied)} migration(s) applied now)"]
    lines += providers(stack)
    config.reset()
    return lines


def providers(stack: contextlib.ExitStack | None = None) -> list[str]:
    """Start the provider simulators for whatever real provider is not configured, and the S3 server
    (moto, its own process) unless STORAGE_S3_ENDPOINT is set; `stack` stops that process."""
    from lib.dev import simulators, storage  # noqa: PLC0415

    lines = simulators.start_missing()
    lines += storage.start_missing()
    if stack is not None:
        for server in storage.running.values():
            stack.callback(server.stop)
    return lines


def seed(url: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(Path(ROOT / "supabase" / "seed.sql").read_text())


def _stop(cluster) -> None:
    from lib.dev.pg import PgError  # noqa: PLC0415

    try:
        cluster.stop()
    except PgError as exc:
        print(f"make dev: could not stop PostgreSQL in {cluster.pgdata}: {exc}", file=sys.stderr, flush=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def serve(host: str, port: int | None = None, data_dir: Path = DATA) -> int:
    """Run every api/**.py locally until Ctrl-C or SIGTERM; then stop everything started here."""
    from lib import log  # noqa: PLC0415
    from lib.dev.pg import PgError  # noqa: PLC0415
    from lib.dev.server import make_server  # noqa: PLC0415

    for sig in STOP_SIGNALS[1:]:
        signal.signal(sig, _interrupt)  # like Ctrl-C: unwind, so the stack below stops PostgreSQL
    interrupted = False
    with contextlib.ExitStack() as stack:
        try:
            if port is None:
                port = choose_port("PORT", 3000, "the local API server", host)
            elif not port_free(port, host):
                raise DevError(f"port {port} (the local API server) is already in use: choose another, e.g. "
                               f"`PORT={free_port(host)} make dev`")
            lines = prepare(port, Path(data_dir), stack)
            log.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
            server = make_server(host, port)
            stack.callback(server.server_close)
            print(f"serving    http://{host}:{server.server_address[1]}  (every api/**.py; Ctrl-C stops)")
            for line in lines:
                print(line)
            print("token      .venv/bin/python -m lib.dev token --user 00000000-0000-4000-8000-000000000001",
                  flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            interrupted = True
            print("stopping   (and the PostgreSQL started here)", flush=True)
        except (DevError, PgError) as exc:
            print(f"make dev: {exc}", file=sys.stderr, flush=True)
            return 1
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            print(f"make dev: a port is already in use ({exc}); the simulators' ports are DEV_EVOLUTION_PORT and "
                  "DEV_GREEN_API_PORT (unset: any free port)", file=sys.stderr, flush=True)
            return 1
        finally:
            for sig in STOP_SIGNALS:  # a second Ctrl-C must not interrupt the clean-up
                signal.signal(sig, signal.SIG_IGN)
    if interrupted:
        print("stopped", flush=True)
    return 0
