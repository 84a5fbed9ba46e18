"""One chat used from every side at once: sends through the API (each racing its own echo and
acknowledgements), the contact writing, and the owner reading — nothing refused, lost or doubled."""

from __future__ import annotations

import threading
import uuid

import httpx

SENDERS, SENDS_EACH, INBOUND, READS = 6, 8, 16, 16


def test_sends_inbound_messages_and_reads_at_once_on_one_chat(line, api, alice, sql):
    line.says("hello")
    chat = line.chat_id()
    barrier = threading.Barrier(SENDERS + 2)
    answers: list[tuple[str, int, str]] = []
    sent_ids: list[str] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            barrier.wait()
            for i in range(SENDS_EACH):
                r = client.post(f"/api/v1/chats/{chat}/send", json={"text": f"reply {n}.{i}"},
                                headers={**alice.headers, "Idempotency-Key": str(uuid.uuid4())})
                with lock:
                    answers.append(("send", r.status_code, r.text))
                    if r.status_code == 201:
                        sent_ids.append(r.json()["id"])

    def contact() -> None:
        barrier.wait()
        for i in range(INBOUND):
            line.sim.inject_message(line.instance, line.contact_jid, f"question {i}")

    def reader() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            barrier.wait()
            for _ in range(READS):
                r = client.post(f"/api/v1/chats/{chat}/read", headers=alice.headers)
                with lock:
                    answers.append(("read", r.status_code, r.text))

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    threads += [threading.Thread(target=contact), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    line.sim.wait_idle(30)

    refused = [a for a in answers if a[1] not in (200, 201)]
    assert refused == [], refused[:3]
    assert sum(1 for a in answers if a[0] == "read") == READS
    assert len(sent_ids) == SENDERS * SENDS_EACH
    rows = sql.execute("select direction, count(*), count(distinct provider_message_id), "
                       "count(*) filter (where provider_message_id is null), "
                       "count(*) filter (where status in ('unknown', 'failed')) "
                       "from public.messages where chat_id = %s group by direction order by direction",
                       (chat,)).fetchall()
    # one row per message (the echo folded into our send), none failed or left with an unknown outcome
    assert rows == [("inbound", 1 + INBOUND, 1 + INBOUND, 0, 0),
                    ("outbound", SENDERS * SENDS_EACH, SENDERS * SENDS_EACH, 0, 0)]
    ours = {r[0] for r in sql.execute("select id::text from public.messages where chat_id = %s "
                                      "and direction = 'outbound'", (chat,))}
    assert ours == set(sent_ids)
