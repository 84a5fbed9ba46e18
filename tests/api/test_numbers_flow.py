"""Adding, polling, reconnecting and deleting numbers over real HTTP, real database, simulators."""

from __future__ import annotations

import base64

import pytest


def create(api, user, **body):
    return api.post("/api/v1/numbers", json=body, headers=user.headers)


@pytest.mark.parametrize("provider", ["evolution", "green-api"])
def test_add_a_number_and_get_its_qr(api, sims, alice, sql, provider):
    r = create(api, alice, provider=provider, label="Support")
    assert r.status_code == 201, r.text
    number = r.json()
    assert number["provider"] == provider and number["status"] == "qr" and number["label"] == "Support"
    png = base64.b64decode(number["qr"]["data_url"].split(",", 1)[1])
    assert png.startswith(b"\x89PNG") and number["qr"]["expires_at"]
    assert "token" not in r.text.lower()
    polled = api.get(f"/api/v1/numbers/{number['id']}", headers=alice.headers)
    assert polled.status_code == 200 and polled.json()["qr"]["data_url"] == number["qr"]["data_url"]  # no new call
    row = sql.execute("select provider_instance_id, managed_instance from public.numbers where id = %s",
                      (number["id"],)).fetchone()
    assert row[0] and row[1] is True
    assert sql.execute("select api_token is not null from private.number_secrets where number_id = %s",
                       (number["id"],)).fetchone()[0]


def test_default_provider_is_green_api(api, sims, alice):
    assert create(api, alice).json()["provider"] == "green-api"


def test_legacy_green_api_credentials_are_linked(api, sims, alice, monkeypatch):
    monkeypatch.delenv("GREEN_API_PARTNER_TOKEN")
    from lib import config, providers
    config.reset()
    providers.reset()
    iid, token = sims["green-api"].add_instance()
    sims["green-api"].instances[iid].state = "authorized"
    r = create(api, alice, green_api={"id_instance": iid, "api_token_instance": token, "api_url": sims["green-api"].url})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active" and r.json()["qr"] is None
    assert sims["green-api"].instances[iid].settings["webhookUrl"].endswith("/api/v1/webhooks/greenapi")
    assert token not in r.text


def test_a_retried_create_with_the_same_key_makes_one_number(api, sims, alice, sql):
    headers = {**alice.headers, "Idempotency-Key": "add-support-1"}
    first = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=headers)
    again = api.post("/api/v1/numbers", json={"provider": "evolution"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(sims["evolution"].instances) == 1
    assert sql.execute("select count(*) from public.numbers").fetchone()[0] == 1


@pytest.mark.parametrize(("rollout", "allowed"), [("off", False), ("beta", False), ("all", True)])
def test_evolution_is_behind_the_rollout_flag(api, sims, alice, monkeypatch, rollout, allowed):
    monkeypatch.setenv("EVOLUTION_ROLLOUT", rollout)
    from lib import config
    config.reset()
    r = create(api, alice, provider="evolution")
    assert (r.status_code == 201) is allowed
    if not allowed:
        assert r.status_code == 403 and r.json()["error"]["code"] == "provider_not_enabled"
        assert not sims["evolution"].instances


def test_a_deployment_that_sets_no_rollout_offers_evolution_to_nobody(api, sims, alice, bob, sql, monkeypatch):
    """Configuring an Evolution server (URL, key, secret) is not enough: until EVOLUTION_ROLLOUT is
    set, nobody, not even a user on the beta allow-list, can add an Evolution number."""
    monkeypatch.delenv("EVOLUTION_ROLLOUT")
    from lib import config, providers
    config.reset()
    providers.reset()
    sql.execute("insert into private.provider_rollout (user_id, provider) values (%s, 'evolution')", (bob.id,))
    for user in (alice, bob):
        items = {p["name"]: p for p in api.get("/api/v1/providers", headers=user.headers).json()["items"]}
        assert items["evolution"]["available"] is False and items["green-api"]["available"] is True
        r = create(api, user, provider="evolution")
        assert r.status_code == 403 and r.json()["error"]["code"] == "provider_not_enabled"
    assert not sims["evolution"].instances


def test_beta_users_on_the_allow_list_get_evolution(api, sims, alice, sql, monkeypatch):
    monkeypatch.setenv("EVOLUTION_ROLLOUT", "beta")
    from lib import config
    config.reset()
    sql.execute("insert into private.provider_rollout (user_id, provider) values (%s, 'evolution')", (alice.id,))
    assert create(api, alice, provider="evolution").status_code == 201


def test_provider_failure_on_create_leaves_no_visible_number(api, sims, alice, sql):
    sims["evolution"].fail("status", status=401, body={"status": 401, "error": "Unauthorized",
                                                       "response": {"message": "Unauthorized"}})
    r = create(api, alice, provider="evolution")
    assert r.status_code == 502 and r.json()["error"]["code"] == "provider_auth_failed"
    assert api.get("/api/v1/numbers", headers=alice.headers).json()["items"] == []
    assert sql.execute("select status, deleted_at is not null from public.numbers").fetchone() == ("deleted", True)


def test_provider_unreachable_on_create_is_503(api, sims, alice):
    sims["green-api"].fail("down")
    r = create(api, alice, provider="green-api")
    assert r.status_code == 503 and r.json()["error"]["code"] == "provider_unreachable"
    sims["green-api"].clear_failures()


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"provider": "twilio"}, 400, "validation_failed"),
    ({"label": 5}, 400, "validation_failed"),
    ({"phone": "abc"}, 400, "validation_failed"),
    ({"unknown_field": 1}, 400, "validation_failed"),
    ({"green_api": {"id_instance": "x"}}, 400, "validation_failed"),
])
def test_bad_create_bodies(api, sims, alice, body, status, code):
    r = create(api, alice, **body)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert r.json()["error"]["details"]["problems"]


def test_reconnect_gives_a_fresh_qr_and_409_when_connected(api, sims, alice):
    number = create(api, alice, provider="evolution").json()
    instance = f"inbox-{number['id']}"
    sims["evolution"].scan(instance)
    r = api.post(f"/api/v1/numbers/{number['id']}/reconnect", headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_connected"
    sims["evolution"].disconnect(instance, 401)
    r = api.post(f"/api/v1/numbers/{number['id']}/reconnect", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "qr" and r.json()["qr"]["data_url"]


def test_delete_tears_down_the_instance_and_is_repeatable(api, sims, alice, sql):
    number = create(api, alice, provider="evolution").json()
    sims["evolution"].scan(f"inbox-{number['id']}")
    r = api.delete(f"/api/v1/numbers/{number['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "deleted"
    assert not sims["evolution"].instances  # logged out and deleted on the server
    assert api.delete(f"/api/v1/numbers/{number['id']}", headers=alice.headers).status_code == 200
    assert sql.execute("select count(*) from public.number_status_events where to_status = 'deleted'").fetchone()[0] == 1


def test_delete_of_a_partner_instance_deletes_it_at_green_api(api, sims, alice):
    number = create(api, alice, provider="green-api").json()
    assert api.delete(f"/api/v1/numbers/{number['id']}", headers=alice.headers).status_code == 200
    assert all(i.deleted for i in sims["green-api"].instances.values())


def test_delete_while_the_provider_is_down_is_503_and_keeps_the_number(api, sims, alice):
    number = create(api, alice, provider="evolution").json()
    sims["evolution"].fail("down")
    r = api.delete(f"/api/v1/numbers/{number['id']}", headers=alice.headers)
    assert r.status_code == 503
    sims["evolution"].clear_failures()
    assert api.get(f"/api/v1/numbers/{number['id']}", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "https://evil.example.com", "http://7103.api.greenapi.com",
                                 "https://green-api.com.evil.example"])
def test_user_supplied_green_api_hosts_must_be_green_apis(api, sims, alice, url):
    r = create(api, alice, green_api={"id_instance": "7103123456", "api_token_instance": "ab" * 25, "api_url": url})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_green_api_host"
    assert not [q for q in sims["green-api"].requests if "7103123456" in q.path]
