"""Shared set-up for the benchmarks: a throwaway PostgreSQL with the migrations, the local server,
the data layer, and a user — everything on 127.0.0.1. Not a test: it prints figures."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import config, db, migrate, providers  # noqa: E402
from lib.dev.pg import Cluster, free_port  # noqa: E402
from lib.dev.server import serve_in_thread  # noqa: E402
from lib.dev.tokens import user_token  # noqa: E402

JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789"


class Env:
    def __enter__(self) -> Env:
        self.tmp = tempfile.TemporaryDirectory(prefix="wa-bench-")
        self.cluster = Cluster(Path(self.tmp.name), free_port())
        self.cluster.start()
        self.url = self.cluster.create_database("bench")
        migrate.apply(self.url)
        os.environ.update({"DATABASE_URL": self.url, "DATA_TRANSPORT": "postgres", "SUPABASE_JWT_SECRET": JWT_SECRET,
                           "WEBHOOK_TOKEN_SECRET": "bench-webhook-token-secret-0123456789",
                           "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})
        self.server, self.base = serve_in_thread()
        os.environ["PUBLIC_BASE_URL"] = self.base
        config.reset()
        providers.reset()
        self.transport = db.PostgresTransport(self.url, timeout=5, pool_max=20)
        db.use(self.transport)
        import psycopg
        self.sql = psycopg.connect(self.url, autocommit=True)
        self.user = str(uuid.uuid4())
        self.sql.execute("insert into auth.users (id) values (%s)", (self.user,))
        self.token = user_token(JWT_SECRET, self.user)
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        db.use(None)
        self.sql.close()
        self.cluster.stop("immediate")
        self.tmp.cleanup()


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100)
    return {"p50": statistics.median(ordered), "p90": q[89], "p99": q[98], "max": ordered[-1]}
