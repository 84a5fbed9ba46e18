"""The embedded defaults of `make dev`: a database, migrations, secrets for local use, simulators."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


def database() -> str:
    """DATABASE_URL when set; otherwise the embedded server under .data/, started if needed."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from lib.dev.pg import Cluster  # noqa: PLC0415

    cluster = Cluster(DATA / "pg", int(os.environ.get("DEV_PG_PORT", "54329")))
    cluster.start()
    return cluster.create_database(DEV_DB_NAME)


def prepare(port: int) -> list[str]:
    """Set up the environment for the local bundle; returns the lines that describe it."""
    from lib import config, migrate  # noqa: PLC0415

    url = database()
    applied = migrate.apply(url)
    seed(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DATA_TRANSPORT", "postgres")
    os.environ.setdefault("SUPABASE_JWT_SECRET", DEV_JWT_SECRET)
    os.environ.setdefault("CRON_SECRET", DEV_CRON_SECRET)
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    lines = [f"database   {without_password(url)} ({len(applied)} migration(s) applied now)"]
    lines += providers()
    config.reset()
    return lines


def providers() -> list[str]:
    """Start the provider simulators for whatever real provider is not configured."""
    from lib.dev import simulators  # noqa: PLC0415

    return simulators.start_missing()


def seed(url: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(Path(ROOT / "supabase" / "seed.sql").read_text())


def serve(host: str, port: int) -> int:
    from lib import log  # noqa: PLC0415
    from lib.dev.server import make_server  # noqa: PLC0415

    lines = prepare(port)
    log.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
    server = make_server(host, port)
    print(f"serving    http://{host}:{server.server_address[1]}  (every api/**.py; Ctrl-C stops)")
    for line in lines:
        print(line)
    print("token      .venv/bin/python -m lib.dev token --user 00000000-0000-4000-8000-000000000001",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
