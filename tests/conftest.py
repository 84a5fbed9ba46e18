"""Shared fixtures: a real PostgreSQL (embedded, started once per run) with the real migrations,
the data layer pointed at it, and the local server running the real handler classes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from lib import config, db, migrate
from lib.dev.pg import Cluster, free_port
from lib.dev.server import serve_in_thread

TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789abcdef"
TEST_CRON_SECRET = "test-cron-secret-0123456789"


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("pg"), free_port())
    cluster.start()
    yield cluster
    cluster.stop("immediate")


@pytest.fixture(scope="session")
def db_url(pg_cluster: Cluster) -> str:
    url = pg_cluster.create_database("app")
    migrate.apply(url)
    return url


def _clean(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate auth.users, private.dead_letters restart identity cascade")


@pytest.fixture
def base_env(monkeypatch, db_url) -> Iterator[None]:
    """The environment of a deployment that uses the local database directly."""
    for key in list(os.environ):
        if key.startswith(("EVOLUTION_", "GREEN_API_", "UPSTASH_", "SUPABASE_", "VERCEL_")) or key in (
                "PUBLIC_BASE_URL", "DEFAULT_PROVIDER", "CRON_SECRET", "DATA_TRANSPORT"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DATA_TRANSPORT", "postgres")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("CRON_SECRET", TEST_CRON_SECRET)
    config.reset()
    yield
    config.reset()


def as_service_role(url: str) -> str:
    """The same database, with every session switched to `service_role` at connection start."""
    return url + ("&" if "?" in url else "?") + "options=-c%20role%3Dservice_role"


@pytest.fixture
def database(base_env, db_url) -> Iterator[db.PostgresTransport]:
    """The data layer on the real test database, as the role the deployed backend has through
    Supabase's Data API (PostgREST runs every call as `service_role`, not as an owner or superuser):
    a privilege the migrations forget fails here. Every table is emptied after the test."""
    transport = db.PostgresTransport(as_service_role(db_url), timeout=5, pool_max=20)
    db.use(transport)
    try:
        yield transport
    finally:
        db.use(None)
        _clean(db_url)


@pytest.fixture
def sql(db_url) -> Iterator[psycopg.Connection]:
    """A superuser connection to the test database for arranging and inspecting rows."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def make_user(conn: psycopg.Connection, email: str | None = None) -> str:
    uid = str(uuid.uuid4())
    conn.execute("insert into auth.users (id, email) values (%s, %s)", (uid, email or f"{uid[:8]}@example.test"))
    return uid


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The local server (lib/dev/server.py) on a free port, for the whole session."""
    server, url = serve_in_thread()
    yield url
    server.shutdown()
    server.server_close()
