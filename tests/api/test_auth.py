"""Every /api/v1 route except webhooks requires a valid Supabase access token, verified locally."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lib import config
from tests.conftest import TEST_JWT_SECRET

ROUTES = [("GET", "/api/v1/numbers"), ("POST", "/api/v1/numbers"),
          ("GET", f"/api/v1/numbers/{uuid.uuid4()}"), ("DELETE", f"/api/v1/numbers/{uuid.uuid4()}"),
          ("POST", f"/api/v1/numbers/{uuid.uuid4()}/reconnect"), ("POST", f"/api/v1/chats/{uuid.uuid4()}/send")]


def _claims(uid, **over):
    now = int(time.time())
    return {"sub": uid, "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 600, **over}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("case", ["missing", "garbage", "wrong_secret", "expired", "wrong_aud", "no_sub", "none_alg",
                                  "basic"])
def test_bad_credentials_are_401_on_every_route(api, alice, method, path, case):
    uid = alice.id
    tokens = {
        "missing": None,
        "garbage": "Bearer not.a.jwt",
        "wrong_secret": "Bearer " + jwt.encode(_claims(uid), "another-secret-another-secret-0000", algorithm="HS256"),
        "expired": "Bearer " + jwt.encode(_claims(uid, exp=int(time.time()) - 3600), TEST_JWT_SECRET, algorithm="HS256"),
        "wrong_aud": "Bearer " + jwt.encode(_claims(uid, aud="anon"), TEST_JWT_SECRET, algorithm="HS256"),
        "no_sub": "Bearer " + jwt.encode({k: v for k, v in _claims(uid).items() if k != "sub"}, TEST_JWT_SECRET,
                                         algorithm="HS256"),
        "none_alg": "Bearer " + jwt.encode(_claims(uid), None, algorithm="none"),
        "basic": "Basic dXNlcjpwYXNz",
    }
    headers = {"Authorization": tokens[case]} if tokens[case] else {}
    r = api.request(method, path, headers=headers, json={})
    assert r.status_code == 401, r.text
    expected = {"missing": "unauthorized", "basic": "unauthorized", "expired": "token_expired"}.get(case, "invalid_token")
    assert r.json()["error"]["code"] == expected


def test_a_valid_token_is_accepted(api, alice):
    r = api.get("/api/v1/numbers", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


@pytest.fixture
def jwks_server():
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "key-1", "alg": "ES256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}).encode()
    hits = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()
    srv.server_close()


def test_asymmetric_tokens_are_verified_against_the_cached_jwks(api, alice, jwks_server, monkeypatch):
    key, url, hits = jwks_server
    monkeypatch.setenv("SUPABASE_URL", url)
    config.reset()
    token = jwt.encode(_claims(alice.id), key, algorithm="ES256", headers={"kid": "key-1"})
    for _ in range(3):
        r = api.get("/api/v1/numbers", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    assert hits == ["/auth/v1/.well-known/jwks.json"]  # fetched once, then cached
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(_claims(alice.id), other, algorithm="ES256", headers={"kid": "key-1"})
    assert api.get("/api/v1/numbers", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
