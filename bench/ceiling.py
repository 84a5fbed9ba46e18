"""Our webhook path against the ceiling our own design allows, in one process tree and one run.

    .venv/bin/python -m bench.ceiling [seconds] [connections] [--tokens N] [--chats N]

Both run on the local server stack (lib.dev.server + lib.http), the same embedded PostgreSQL and
the same pool size (DB_POOL_MAX, default 5), driven by wrk (Debian package; installed when
missing) with signed Evolution `messages.upsert` bodies, 10 % of them redeliveries. The ceiling
handler parses the JSON and makes one `insert … on conflict do nothing`. Prints events/s,
p50/p99, the ratio, and rows stored against the inserts the servers acknowledged.

Evolution mints one webhook JWT per event with `iat` in whole seconds, so a number's events of one
second share a token, which we verify once (lib/webhook_auth.py caches the check). By default every
request carries one token (one busy number); `--tokens N` rotates N distinct tokens instead — with N
above the cache's 4,096 every request pays a full verification, as when each event comes from
another number. By default every event comes from one customer (one chat row written by every
event); `--chats N` spreads them over N customers of the number.

Each run also prints the CPU time spent per event by the server process, PostgreSQL and wrk, and the
rate at which that would use every core of this machine: the throughput the hardware allows the
path, whatever the concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._env import Env
from lib import config, db
from lib.dev.server import serve_in_thread
from lib.webhook_auth import _signed_claims, evolution_number_key, sign_evolution

SECRET = "bench-evolution-webhook-secret-0123456789"
THREADS = 2  # wrk threads
CUSTOMER = 5511900000000  # the first customer's phone; `--chats N` uses the N after it
HERE = Path(__file__).resolve().parent
LUA = r"""
local tokens, headers = TOKENS, HEADERS
local counter, prefix = 0, ""
inserted = 0
local threads = {}
local slot = 0
function setup(thread) table.insert(threads, thread); thread:set("tid", tostring(#threads)) end
function init(args) slot = tonumber(tid) - 1; prefix = tid .. "-" .. tostring(math.random(1, 1000000000)) end
function request()
  counter = counter + 1
  local n = counter
  if counter % 10 == 0 then n = counter - 1 end   -- a redelivery of the previous event
  local body = string.format(TEMPLATE, CUSTOMER + (n % CHATS), prefix .. "-" .. n)
  -- The threads take turns through the list, so no token is used by two threads in a row.
  headers["Authorization"] = "Bearer " .. tokens[((counter * THREADS + slot) % #tokens) + 1]
  return wrk.format("POST", nil, headers, body)
end
function response(status, headers, body)
  if string.find(body, '"inserted":1', 1, true) then inserted = inserted + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("inserted") end
  io.write(string.format("RESULT inserted=%d p50=%.3f p99=%.3f errors=%d\n", total,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


def wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    return found


def _ticks(pid: int, children: bool) -> int:
    """User + system clock ticks of a process (and of its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    # Fields 14-17 of proc(5): utime, stime, cutime, cstime (here 0-based after the command name).
    return sum(int(f) for f in fields[11:15 if children else 13])


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds used so far by the cluster: the postmaster, its live children and the ones it reaped."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = _ticks(postmaster, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
        if parent == postmaster:
            total += _ticks(int(stat.parent.name), children=True)
    return total / os.sysconf("SC_CLK_TCK")


def upsert_template() -> str:
    """A signed-path `messages.upsert` body for wrk's string.format: the customer's phone (%d), the id (%s)."""
    template = json.dumps({"event": "messages.upsert", "instance": "inbox-bench", "apikey": "tok", "data": {
        "key": {"remoteJid": "__JID__@s.whatsapp.net", "fromMe": False, "id": "__ID__"},
        "pushName": "Bench", "message": {"conversation": "a message of a customer"},
        "messageType": "conversation", "messageTimestamp": 1764150000}})
    return template.replace("%", "%%").replace("__JID__", "%d").replace("__ID__", "%s")


def run(url: str, headers: dict[str, str], tokens: list[str], template: str, seconds: int,
        connections: int, pgdata: Path, chats: int = 1) -> dict[str, float]:
    lua = LUA.replace("TEMPLATE", json.dumps(template)).replace("CUSTOMER", str(CUSTOMER))
    lua = lua.replace("THREADS", str(THREADS))
    lua = lua.replace("CHATS", str(chats)).replace("TOKENS", "{" + ",".join(map(json.dumps, tokens)) + "}")
    lua = lua.replace("HEADERS", "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    command = [wrk(), f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url]
    pg_before = postgres_cpu(pgdata)
    before = os.times()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"wrk failed: {proc.stdout} {proc.stderr}")
    if "RESULT" not in proc.stdout:
        raise RuntimeError(f"wrk printed no result: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    after = os.times()
    pg_after = postgres_cpu(pgdata)
    out = proc.stdout
    os.unlink(f.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"RESULT inserted=(\d+) p50=([\d.]+) p99=([\d.]+) errors=(\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = {"server": after.user + after.system - before.user - before.system,
           "PostgreSQL": pg_after - pg_before,
           "wrk": after.children_user + after.children_system - before.children_user - before.children_system}
    return {"rate": rate, "inserted": int(m.group(1)), "p50": float(m.group(2)), "p99": float(m.group(3)),
            "errors": int(m.group(4)), "cpu_us": {k: v / requests * 1e6 for k, v in cpu.items()}}


def budget(result: dict) -> str:
    """CPU µs per event by process, and the rate at which they would fill every core."""
    per = result["cpu_us"]
    total = sum(per.values())
    parts = ", ".join(f"{k} {v:.0f}" for k, v in per.items())
    cores = os.cpu_count()
    return f"CPU µs/event: {parts}; total {total:.0f} → all {cores} cores at {cores * 1e6 / total:,.0f} events/s"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.ceiling")
    parser.add_argument("seconds", type=int, nargs="?", default=15)
    parser.add_argument("connections", type=int, nargs="?", default=16)
    parser.add_argument("--tokens", type=int, default=1, help="distinct webhook tokens to rotate")
    parser.add_argument("--chats", type=int, default=1, help="customers the events come from")
    opts = parser.parse_args()
    seconds, connections = opts.seconds, opts.connections
    os.environ.setdefault("DB_POOL_MAX", "5")
    with Env() as env:
        os.environ["EVOLUTION_WEBHOOK_SECRET"] = SECRET
        config.reset()
        pool = int(os.environ["DB_POOL_MAX"])
        db.use(db.PostgresTransport(env.url, timeout=5, pool_max=pool))
        number = env.sql.execute("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                                 "values (%s, 'evolution', 'inbox-bench', 'active') returning id::text",
                                 (env.user,)).fetchone()[0]
        env.sql.execute("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (number,))
        env.sql.execute("create table public.bench_ceiling (id text primary key)")
        key, now = evolution_number_key(SECRET, number), int(time.time())
        # Distinct tokens differ in a claim Evolution does not send (`n`). All are minted now, so both runs
        # end inside the token age window (lib/webhook_auth.py) for any run of a few minutes.
        tokens = [sign_evolution(key, iat=now, **({"n": i} if opts.tokens > 1 else {})) for i in range(opts.tokens)]
        headers = {"Content-Type": "application/json"}
        template = upsert_template()
        ceiling_server, ceiling_base = serve_in_thread(api_dir=HERE / "ceiling_api" / "api")
        try:
            ours = run(f"{env.base}/api/v1/webhooks/evolution/{number}", headers, tokens, template, seconds,
                       connections, env.cluster.pgdata, opts.chats)
            ceiling = run(f"{ceiling_base}/api/ceiling", headers, tokens, template, seconds, connections,
                          env.cluster.pgdata, opts.chats)
            verified = _signed_claims.cache_info()
        finally:
            ceiling_server.shutdown()
            ceiling_server.server_close()
        stored = env.sql.execute("select count(*) from public.messages").fetchone()[0]
        ceiling_stored = env.sql.execute("select count(*) from public.bench_ceiling").fetchone()[0]
    print(f"{connections} connections, {seconds} s each, pool {pool}, 10 % redeliveries, "
          f"{opts.tokens} distinct webhook token(s), {opts.chats} customer chat(s)")
    print(f"ours     {ours['rate']:8.0f} events/s  p50 {ours['p50']:6.1f} ms  p99 {ours['p99']:6.1f} ms  "
          f"errors {ours['errors']}  rows stored {stored} / inserts acknowledged {ours['inserted']}")
    print(f"ceiling  {ceiling['rate']:8.0f} events/s  p50 {ceiling['p50']:6.1f} ms  p99 {ceiling['p99']:6.1f} ms  "
          f"errors {ceiling['errors']}  rows stored {ceiling_stored} / inserts acknowledged {ceiling['inserted']}")
    print(f"ratio    {ours['rate'] / ceiling['rate']:.2f}x the ceiling")
    print(f"webhook tokens verified in full {verified.misses}, from the cache {verified.hits}")
    print(f"ours     {budget(ours)}")
    print(f"ceiling  {budget(ceiling)}")
    if ours["errors"] or ceiling["errors"]:
        raise SystemExit("errors during a run: the figures above are not valid")


if __name__ == "__main__":
    main()
