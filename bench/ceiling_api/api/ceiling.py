"""The one-round-trip ceiling: parse the JSON, one `insert ... on conflict do nothing` through a
psycopg pool — on the same HTTP stack (lib.http.JsonHandler) as our webhook routes."""

import json
import os
import threading

from lib.http import JsonHandler, Request, Response

_lock = threading.Lock()
_pool = None


def pool():
    global _pool
    if _pool is not None:  # no lock per request once the pool exists (the ceiling must not be slowed)
        return _pool
    with _lock:
        if _pool is None:
            from psycopg_pool import ConnectionPool

            _pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=0, open=True,
                                   max_size=int(os.environ.get("DB_POOL_MAX", "5")),
                                   kwargs={"autocommit": True, "prepare_threshold": None})
        return _pool


class handler(JsonHandler):  # noqa: N801
    def post(self, req: Request) -> Response:
        payload = json.loads(req.body)
        with pool().connection() as conn:
            cur = conn.execute("insert into public.bench_ceiling (id) values (%s) on conflict do nothing",
                               (payload["data"]["key"]["id"],))
        return Response(200, {"status": "ok", "inserted": cur.rowcount})
