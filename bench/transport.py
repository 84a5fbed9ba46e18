"""What the PostgREST transport costs per call against direct psycopg, for the same SQL function on
the same local PostgreSQL.

    .venv/bin/python -m bench.transport [calls] [seconds]

`calls` sequential calls per transport and function (default 2,000, after 200 warm-up calls) and
`seconds` of 8 concurrent callers (threads) per transport and function (default 3). Two functions:
`public.app_health()` (a cheap STABLE read) and `public.ingest_webhook(...)` with one normalized
inbound text message, a fresh provider id per call (the webhook's one SQL call). Both transports are
lib.db's own classes: `PostgresTransport` against the database, `PostgrestTransport` against a
stand-in of PostgREST's RPC endpoint. Also prints the first call of each transport in a fresh
process (imports + connection set-up: psycopg connect vs an HTTP keep-alive connect).

The stand-in (`_StandIn`, run in its own process) is NOT PostgREST: the real server cannot run here
(no binary offline, no Debian bookworm package). It is a Python `ThreadingHTTPServer` on 127.0.0.1
that, for `POST /rest/v1/rpc/<fn>`, runs per request the statements PostgREST runs per request, on
a pooled psycopg connection (pool of 8, prepared statements after 5 uses, like PostgREST's default
db-prepared-statements = true):

    BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE      -- READ ONLY for a STABLE/IMMUTABLE function
    select set_config('search_path', '"public", "extensions"', true), set_config('role', 'service_role', true),
           set_config('request.jwt.claims', <claims json>, true), set_config('request.method', 'POST', true),
           set_config('request.path', '/rpc/<fn>', true), set_config('request.headers', <json>, true),
           set_config('request.cookies', '{}', true)
    select coalesce(to_jsonb(public.<fn>(arg => value, ...))::text, 'null')
    COMMIT

Source for those statements: PostgREST's own code, github.com/PostgREST/postgrest at commit
4834678902681402a56c490f29947826e7ed5308 —
- src/library/PostgREST/Query/PreQuery.hs `txVarQuery`: one `select` of set_config(..., true) for
  search_path, the role's settings, role, request.jwt.claims (the claims with "role" inserted),
  request.method, request.path, request.headers, request.cookies, then timezone / hoisted function
  settings / app settings when configured (none here);
- src/library/PostgREST/MainTx.hs `mainTx`: `transactionNoRetry isoLvl txMode`, running the tx-vars
  statement, the optional pre-request function, then the main query;
- src/hasql/Hasql/Transaction/Private/SQL.hs `beginTransaction` ("BEGIN ISOLATION LEVEL READ
  COMMITTED READ WRITE|READ ONLY") and Private/Sessions.hs (COMMIT);
- docs/references/transactions.rst (https://docs.postgrest.org/en/v12/references/transactions.html):
  "START TRANSACTION; <Transaction-scoped settings>; <Main Query>; END;", access mode READ ONLY for
  POST to a STABLE function.
PostgREST's real main query for a scalar RPC selects from the function over `json_to_record(body)`
and aggregates the body in SQL (Query/QueryBuilder.hs `callPlanToQuery`); the stand-in passes the
JSON body's values as parameters instead (psycopg sql composition for names, Jsonb for dicts and
lists) and, like PostgREST, hands the database's JSON text back without re-encoding it.

So the PostgREST figures count the HTTP hop, JSON both ways and PostgREST's transaction wrapper
(four statements instead of one), but not PostgREST's own Haskell processing (JWT verification,
request parsing, its schema cache) nor, on Supabase, the API gateway in front of it. Under
concurrency the stand-in is one Python process, so its throughput is a floor for the HTTP path.
The role `service_role` exists here: lib/dev/supabase_standin.sql (applied by lib.migrate.apply)
creates it and grants it to the connecting user, and the migrations grant it what the backend's
functions touch (the test suite's data layer runs as service_role, so a missing grant fails a test).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench._env import ROOT, Env, percentiles

CALLERS = 8
WARMUP = 200


def _fake_service_key() -> str:
    """A service-role key shaped like Supabase's (an HS256 JWT), so the headers have their real size.
    Nothing verifies its signature: the stand-in only decodes the claims, as PostgREST does after
    verifying."""
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    claims = {"iss": "supabase", "ref": "benchbenchbenchbench", "role": "service_role", "iat": 1764150000,
              "exp": 2079726000}
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.{'s' * 43}"


# --- the PostgREST stand-in (runs in its own process: `python -m bench.transport --standin URL`) ---

class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PostgREST
    disable_nagle_algorithm = True
    pool: Any = None
    volatility: dict[str, str] = {}
    queries: dict[tuple[str, tuple[str, ...]], Any] = {}
    txvars = ("select set_config('search_path', %s, true), set_config('role', %s, true), "
              "set_config('request.jwt.claims', %s, true), set_config('request.method', %s, true), "
              "set_config('request.path', %s, true), set_config('request.headers', %s, true), "
              "set_config('request.cookies', %s, true)")

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        prefix = "/rest/v1/rpc/"
        if not self.path.startswith(prefix):
            self._answer(404, b'{"code":"PGRST125","message":"not found","details":null,"hint":null}')
            return
        fn = self.path[len(prefix):]
        args = json.loads(body or b"{}")
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        payload = token.split(".")[1] if token.count(".") == 2 else ""
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)) or b"{}")
        role = claims.get("role", "anon")
        headers = json.dumps({k.lower(): v for k, v in self.headers.items()})
        key = (fn, tuple(args))
        if key not in self.queries:
            self.queries[key] = sql.SQL("select coalesce(to_jsonb(public.{}({}))::text, 'null')").format(
                sql.Identifier(fn), sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(k)) for k in args))
        params = [Jsonb(v) if isinstance(v, (dict, list)) else v for v in args.values()]
        try:
            with self.pool.connection() as conn:
                if fn not in self.volatility:  # PostgREST's schema cache knows this before the request
                    row = conn.execute("select provolatile from pg_proc where pronamespace = 'public'::regnamespace "
                                       "and proname = %s limit 1", (fn,)).fetchone()
                    self.volatility[fn] = row[0] if row else "v"
                mode = "read write" if self.volatility[fn] == "v" else "read only"
                conn.execute(f"begin isolation level read committed {mode}")
                try:
                    conn.execute(self.txvars, ('"public", "extensions"', role, json.dumps(claims), "POST",
                                               f"/rpc/{fn}", headers, "{}"))
                    out = conn.execute(self.queries[key], params).fetchone()[0]
                    conn.execute("commit")
                except BaseException:
                    conn.execute("rollback")
                    raise
        except psycopg.Error as exc:
            diag = exc.diag
            self._answer(400, json.dumps({"code": exc.sqlstate, "message": diag.message_primary or str(exc),
                                          "details": diag.message_detail, "hint": diag.message_hint}).encode())
            return
        self._answer(200, out.encode())


def _serve_standin(url: str) -> None:
    from psycopg_pool import ConnectionPool

    _StandIn.pool = ConnectionPool(url, min_size=CALLERS, max_size=CALLERS, open=True,
                                   kwargs={"autocommit": True}, name="postgrest-standin")
    _StandIn.pool.wait()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()
    _StandIn.pool.close()


# --- the first call of a transport in a fresh process ---

FIRST = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from lib import db
kind, url = sys.argv[2], sys.argv[3]
t1 = time.perf_counter()
t = db.PostgresTransport(url, 5, 8) if kind == "postgres" else db.PostgrestTransport(url, sys.argv[4], 5)
t2 = time.perf_counter()
t.call("app_health", {})
t3 = time.perf_counter()
t.call("app_health", {})
t4 = time.perf_counter()
t.close()
print(json.dumps({"lib": t1 - t0, "construct": t2 - t1, "first": t3 - t2, "second": t4 - t3}))
"""


def _first_calls(kind: str, url: str, key: str, runs: int = 5) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST, str(ROOT), kind, url, key], capture_output=True,
                             text=True, check=True, env={**os.environ, "LOG_LEVEL": "WARNING"})
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(s[k] for s in samples) * 1000 for k in samples[0]}


# --- the measurements ---

def _sequential(transports: dict[str, Any], fn: str, make_args: Any, n: int) -> dict[str, list[float]]:
    """Calls alternate between the transports, so drift in the machine hits both alike."""
    for t in transports.values():
        for _ in range(WARMUP):
            t.call(fn, make_args(0))
    samples: dict[str, list[float]] = {name: [] for name in transports}
    for _ in range(n):
        for name, t in transports.items():
            args = make_args(0)
            t0 = time.perf_counter()
            t.call(fn, args)
            samples[name].append((time.perf_counter() - t0) * 1000)
    return samples


def _concurrent(t: Any, fn: str, make_args: Any, seconds: float) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(CALLERS)]
    start = threading.Barrier(CALLERS + 1)
    stop = threading.Event()

    def caller(i: int) -> None:
        start.wait()
        while not stop.is_set():
            args = make_args(i)
            t0 = time.perf_counter()
            t.call(fn, args)
            latencies[i].append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
    for th in threads:
        th.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    flat = [x for per in latencies for x in per]
    return len(flat) / elapsed, flat


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--standin":
        _serve_standin(sys.argv[2])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    from lib import db

    key = _fake_service_key()
    with Env() as env:
        number = env.sql.execute("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                                 "values (%s, 'evolution', 'inbox-bench', 'active') returning id::text",
                                 (env.user,)).fetchone()[0]
        env.sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (number,))
        standin = subprocess.Popen([sys.executable, "-m", "bench.transport", "--standin", env.url], cwd=ROOT,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{int(standin.stdout.readline())}"
            direct = db.PostgresTransport(env.url, timeout=5, pool_max=CALLERS)
            rest = db.PostgrestTransport(base, key, timeout=5)
            transports = {"psycopg direct": direct, "PostgREST stand-in": rest}

            def webhook(i: int) -> dict[str, Any]:
                return {"p_provider": "evolution", "p_instance": "inbox-bench", "p_number_id": number,
                        "p_apikey": "tok", "p_event_type": "messages.upsert", "p_events": [{
                            "kind": "message", "provider_message_id": uuid.uuid4().hex,
                            "chat_id": f"55119999900{i:02d}@c.us", "direction": "inbound", "type": "text",
                            "text": "a message of a customer", "timestamp": "2026-11-26T10:00:00+00:00",
                            "is_group": False, "extra": {}}]}

            functions = {"app_health()": ("app_health", lambda i: {}), "ingest_webhook(1 message)":
                         ("ingest_webhook", webhook)}
            # Both transports answer alike (the stand-in really runs the function, as service_role).
            answers = [t.call("ingest_webhook", webhook(0)) for t in (direct, rest)]
            if answers[0].get("inserted") != 1 or answers[0] != answers[1]:
                raise SystemExit(f"the transports answer differently: {answers}")
            results = []
            for label, (fn, make_args) in functions.items():
                seq = _sequential(transports, fn, make_args, n)
                conc = {name: _concurrent(t, fn, make_args, seconds) for name, t in transports.items()}
                results.append((label, seq, conc))
            first = {"psycopg direct": _first_calls("postgres", env.url, key),
                     "PostgREST stand-in": _first_calls("postgrest", base, key)}
            stored = env.sql.execute("select count(*) from public.messages").fetchone()[0]
            direct.close()
            rest.close()
        finally:
            standin.stdin.close()
            standin.wait(timeout=10)

    print("PostgREST transport vs direct psycopg, same SQL functions, same local PostgreSQL "
          f"({os.cpu_count()} CPUs, everything on 127.0.0.1)")
    print("The HTTP server is a Python STAND-IN doing PostgREST's per-request statements (BEGIN; one select of "
          "set_config for")
    print("search_path/role/jwt claims/method/path/headers/cookies; the function call; COMMIT), not PostgREST: "
          "the figures count")
    print("the HTTP hop, JSON both ways and PostgREST's transaction wrapper, but not PostgREST's own (Haskell) "
          "processing")
    print("(JWT verification, request parsing) nor Supabase's API gateway in front of it.")
    print(f"With {CALLERS} callers the stand-in is one Python process (GIL) sharing the CPUs with everything else: "
          "its calls/s")
    print("is a floor for the HTTP path, not PostgREST's throughput.")
    print(f"sequential: one caller, {n} calls per transport after {WARMUP} warm-up, alternating; "
          f"concurrent: {CALLERS} threads for {seconds:g} s per transport")
    for label, seq, conc in results:
        print(f"\n{label}")
        d, r = percentiles(seq["psycopg direct"]), percentiles(seq["PostgREST stand-in"])
        for name, p in (("psycopg direct", d), ("PostgREST stand-in", r)):
            rate, lat = conc[name]
            print(f"  {name:19} sequential p50 {p['p50']:6.3f} ms  p99 {p['p99']:6.3f} ms   "
                  f"{CALLERS} callers {rate:7.0f} calls/s  p50 {statistics.median(lat):6.2f} ms")
        print(f"  {'PostgREST adds':19} {r['p50'] - d['p50']:+.3f} ms per call at p50, {r['p99'] - d['p99']:+.3f} ms "
              f"at p99 ({r['p50'] / d['p50']:.1f}x); throughput "
              f"{conc['PostgREST stand-in'][0] / conc['psycopg direct'][0]:.2f}x of direct with {CALLERS} callers")
    print("\nfirst call in a fresh process (median of 5; app_health)")
    for name, f in first.items():
        print(f"  {name:19} import lib.db {f['lib']:6.1f} ms  build transport (imports its client) "
              f"{f['construct']:6.1f} ms  first call {f['first']:6.2f} ms  second call {f['second']:5.2f} ms")
    print(f"\n({stored} messages stored by ingest_webhook in the run)")


if __name__ == "__main__":
    main()
