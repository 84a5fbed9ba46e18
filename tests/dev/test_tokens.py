from __future__ import annotations

import subprocess
import sys
import time
import uuid

import jwt
import pytest

from lib.dev.env import DEV_JWT_SECRET
from lib.dev.tokens import user_token


def test_tokens_are_signed_the_way_supabase_signs_them():
    uid = str(uuid.uuid4())
    token = user_token("s3cret-s3cret-s3cret-s3cret-s3cret!", uid, ttl=60)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, "s3cret-s3cret-s3cret-s3cret-s3cret!", algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == uid and claims["role"] == "authenticated"
    assert 55 <= claims["exp"] - time.time() <= 61
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-another-secret-xx", algorithms=["HS256"], audience="authenticated")


def test_the_token_command_prints_a_token_for_the_dev_secret(monkeypatch):
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    uid = str(uuid.uuid4())
    out = subprocess.run([sys.executable, "-m", "lib.dev", "token", "--user", uid], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"}).stdout.strip()
    assert jwt.decode(out, DEV_JWT_SECRET, algorithms=["HS256"], audience="authenticated")["sub"] == uid


def test_a_malformed_user_id_is_refused():
    with pytest.raises(ValueError):
        user_token("x" * 32, "not-a-uuid")
