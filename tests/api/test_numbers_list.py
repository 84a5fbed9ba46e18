from __future__ import annotations

import pytest

from tests.api.conftest import add_number


def test_pagination_walks_every_number_once(api, alice, sql):
    made = [add_number(sql, alice.id, label=f"n{i}") for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/numbers", params=params, headers=alice.headers).json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7 and pages == 3


def test_deleted_numbers_are_not_listed(api, alice, sql):
    keep = add_number(sql, alice.id)
    gone = add_number(sql, alice.id)
    sql.execute("update public.numbers set deleted_at = now(), status = 'deleted' where id = %s", (gone,))
    assert [i["id"] for i in api.get("/api/v1/numbers", headers=alice.headers).json()["items"]] == [keep]


@pytest.mark.parametrize(("params", "code"), [({"limit": "0"}, "invalid_limit"), ({"limit": "abc"}, "invalid_limit"),
                                              ({"limit": "101"}, "invalid_limit"), ({"cursor": "%%%"}, "invalid_cursor"),
                                              ({"cursor": "eyJ0IjoieCJ9"}, "invalid_cursor")])
def test_bad_paging_parameters_are_400(api, alice, params, code):
    r = api.get("/api/v1/numbers", params=params, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_a_forged_cursor_with_a_bad_time_is_400_not_500(api, alice):
    import base64
    import json
    import uuid
    cursor = base64.urlsafe_b64encode(json.dumps({"t": "not-a-time", "i": str(uuid.uuid4())}).encode()).decode()
    r = api.get("/api/v1/numbers", params={"cursor": cursor}, headers=alice.headers)
    assert r.status_code == 400


def test_delete_is_repeatable_and_keeps_history(api, alice, sql):
    nid = add_number(sql, alice.id, provider="green-api", instance=None)
    sql.execute("update public.numbers set provider_instance_id = null where id = %s", (nid,))
    first = api.delete(f"/api/v1/numbers/{nid}", headers=alice.headers)
    again = api.delete(f"/api/v1/numbers/{nid}", headers=alice.headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "deleted" and first.json()["deleted_at"] == again.json()["deleted_at"]
    assert sql.execute("select count(*) from public.numbers where id = %s", (nid,)).fetchone()[0] == 1
    assert sql.execute("select count(*) from private.number_secrets where number_id = %s", (nid,)).fetchone()[0] == 0
    assert api.get(f"/api/v1/numbers/{nid}", headers=alice.headers).status_code == 404
