"""QR codes are written in one place (private.store_qr) for both sources: the API's connect answer
(save_qr) and a provider's webhook (ingest_webhook)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lib import db
from tests.conftest import make_user
from tests.db.test_lifecycle import make_number

NOW = datetime.now(UTC)


@pytest.fixture
def number(sql, database):
    return make_number(sql, make_user(sql), status="connecting")


def webhook_qr(nid, code, expires_at):
    return db.call("ingest_webhook", p_provider="evolution", p_instance="inbox-a", p_number_id=nid, p_apikey=None,
                   p_events=[{"kind": "qr", "data_url": code, "expires_at": expires_at.isoformat(),
                              "timestamp": NOW.isoformat()}], p_event_type="qrcode.updated")


def save_qr(nid, code, expires_at):
    return db.call("save_qr", p_number_id=nid, p_qr_code=code, p_pairing_code=None, p_expires_at=expires_at)


def stored(sql, nid):
    return sql.execute("select status, qr_code from public.numbers where id = %s", (nid,)).fetchone()


@pytest.mark.parametrize(("first", "second"), [(save_qr, webhook_qr), (webhook_qr, save_qr), (webhook_qr, webhook_qr)])
def test_a_code_expiring_earlier_never_replaces_a_fresher_one_whichever_source(sql, number, first, second):
    first(number, "fresh", NOW + timedelta(seconds=60))
    second(number, "late", NOW + timedelta(seconds=20))  # produced before `fresh`, delivered after it
    assert stored(sql, number) == ("qr", "fresh")
    second(number, "newer", NOW + timedelta(seconds=90))
    assert stored(sql, number) == ("qr", "newer")


def test_a_webhook_qr_moves_the_number_to_qr_and_reports_the_transition(sql, number):
    result = webhook_qr(number, "code", NOW + timedelta(seconds=40))
    assert stored(sql, number) == ("qr", "code")
    assert [t["to"] for t in result["transitions"]] == ["qr"], json.dumps(result)


def test_save_qr_answers_the_number_with_the_code_it_kept(sql, number):
    save_qr(number, "fresh", NOW + timedelta(seconds=60))
    answer = save_qr(number, "late", NOW + timedelta(seconds=20))
    assert answer["qr"]["data_url"] == "fresh"
