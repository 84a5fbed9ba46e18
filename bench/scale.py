"""Cost flat as the data grows: the same measurements on an empty database and on one seeded with
10,000 numbers, 100,000 chats and 2,000,000 messages, in one run, plus the plans of the hot queries.

    .venv/bin/python -m bench.scale [seconds of webhook load]

Prints webhook ingest throughput (wrk, as bench.ceiling), p50 of the list and read endpoints, the
ratios, and EXPLAIN ANALYZE of the queries the hot SQL functions run. The crons at 10,000 numbers:
`python -m bench.crons 10000`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import httpx

from bench._env import Env
from bench.ceiling import SECRET, run, upsert_template
from lib import config, db
from lib.webhook_auth import evolution_number_key, sign_evolution

SEED = """
create temporary table seed_users as
  select gen_random_uuid() as id, g as n from generate_series(1, 99) g;
insert into auth.users (id) select id from seed_users;
create temporary table seed_numbers as
  select gen_random_uuid() as id, u.id as owner_id, g as n
    from generate_series(1, 9900) g join seed_users u on u.n = g % 99 + 1;
insert into public.numbers (id, owner_id, label, provider, provider_instance_id, status, created_at)
select id, owner_id, 'n' || n, case when n % 2 = 0 then 'evolution' else 'green-api' end, 'seed-' || n, 'active',
       now() - make_interval(secs => n) from seed_numbers;
create temporary table seed_chats as
  select gen_random_uuid() as id, s.id as number_id, s.owner_id, g as n
    from generate_series(1, 100000) g join seed_numbers s on s.n = g % 9900 + 1;
insert into public.chats (id, number_id, owner_id, wa_chat_id, name, last_message_at)
select id, number_id, owner_id, '55' || (11000000000 + n) || '@c.us', 'c' || n, now() from seed_chats;
insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, type, body, status,
                             sent_at, created_at)
select c.id, c.owner_id, c.number_id, 'SEED' || g, case when g % 3 = 0 then 'outbound' else 'inbound' end, 'text',
       'message ' || g, case when g % 3 = 0 then 'read' else 'received' end,
       now() - make_interval(secs => g), now() - make_interval(secs => g)
  from generate_series(1, 2000000) g join seed_chats c on c.n = g % 100000 + 1;
analyze;
"""

PLANS = {
    "a message by its provider id (exactly-once insert)":
        "select id from public.messages where number_id = %(number)s and provider_message_id = 'SEED77'",
    "a chat by its WhatsApp id (resolve_chat)":
        "select id from public.chats where number_id = %(number)s and wa_chat_id = '5511000000777@c.us'",
    "a number by its instance (webhooks without a number id)":
        "select id from public.numbers where provider = 'evolution' and provider_instance_id = 'seed-2' "
        "and deleted_at is null",
    "the owner's numbers, a page (list_numbers)":
        "select id from public.numbers where owner_id = %(owner)s and deleted_at is null order by created_at, id "
        "limit 51",
    "dead letters due (sync)":
        "select id from private.dead_letters where state = 'pending' and next_attempt_at <= now() "
        "and reason = 'unknown_number' order by next_attempt_at limit 50",
    "sends never confirmed (sync)":
        "select id from public.messages where direction = 'outbound' and provider_message_id is null "
        "and status = 'pending' and created_at < now() - interval '15 minutes'",
}


def p50(client: httpx.Client, path: str, headers: dict[str, str], n: int = 200) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, headers=headers)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return statistics.median(samples)


def measure(env: Env, number: str, chat: str, token: str, seconds: int) -> dict[str, float]:
    sig = sign_evolution(evolution_number_key(SECRET, number))
    ingest = run(f"{env.base}/api/v1/webhooks/evolution/{number}",
                 {"Content-Type": "application/json"}, [sig], upsert_template(), seconds, 16, env.cluster.pgdata)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=env.base, timeout=10) as client:
        return {"ingest": ingest["rate"], "list numbers": p50(client, "/api/v1/numbers", auth),
                "read number": p50(client, f"/api/v1/numbers/{number}", auth),
                "read chat": p50(client, f"/api/v1/chats/{chat}", auth)}


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    os.environ.setdefault("DB_POOL_MAX", "5")
    with Env() as env:
        os.environ["EVOLUTION_WEBHOOK_SECRET"] = SECRET
        config.reset()
        db.use(db.PostgresTransport(env.url, timeout=5, pool_max=int(os.environ["DB_POOL_MAX"])))
        q = env.sql.execute
        number = q("insert into public.numbers (owner_id, provider, provider_instance_id, status) "
                   "values (%s, 'evolution', 'inbox-bench', 'active') returning id::text", (env.user,)).fetchone()[0]
        q("insert into private.number_secrets (number_id, api_token) values (%s, 'tok')", (number,))
        q("insert into public.numbers (owner_id, label, provider, provider_instance_id, status) "
          "select %s, 'mine ' || g, 'green-api', 'mine-' || g, 'active' from generate_series(1, 99) g", (env.user,))
        chat = q("insert into public.chats (number_id, owner_id, wa_chat_id) values (%s, %s, '5511999990002@c.us') "
                 "returning id::text", (number, env.user)).fetchone()[0]
        empty = measure(env, number, chat, env.token, seconds)
        t = time.perf_counter()
        with env.sql.transaction():
            q(SEED)
        seeded_in = time.perf_counter() - t
        counts = q("select (select count(*) from public.numbers), (select count(*) from public.chats), "
                   "(select count(*) from public.messages)").fetchone()
        seeded = measure(env, number, chat, env.token, seconds)
        plans = {}
        for label, query in PLANS.items():
            rows = q("explain (analyze, costs off, timing on, summary on) " + query,
                     {"number": number, "owner": env.user}).fetchall()
            plans[label] = [r[0] for r in rows]
    print(f"seeded {counts[0]:,} numbers, {counts[1]:,} chats, {counts[2]:,} messages in {seeded_in:.0f} s")
    print(f"{'':16}{'empty':>12}{'seeded':>12}{'ratio':>8}")
    for key in empty:
        unit = "events/s" if key == "ingest" else "ms p50"
        print(f"{key:16}{empty[key]:12.1f}{seeded[key]:12.1f}{seeded[key] / empty[key]:8.2f}  {unit}")
    for label, lines in plans.items():
        print(f"\n-- {label}")
        for line in lines:
            print("   " + line)


if __name__ == "__main__":
    main()
