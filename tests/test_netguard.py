"""lib.netguard without DNS: a table of names stands in for the resolver."""

from __future__ import annotations

import pytest

from lib import errors, netguard

NAMES = {"cdn.example.com": ["93.184.215.14"], "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
         "split.example.com": ["93.184.215.14", "10.0.0.1"], "mapped.example.com": ["::ffff:127.0.0.1"]}


@pytest.fixture(autouse=True)
def resolver(monkeypatch):
    def resolve(host):
        if host in NAMES:
            return NAMES[host]
        raise OSError("no such name")
    monkeypatch.setattr(netguard, "resolve", resolve)


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.png", "http://93.184.215.14/a.png",
                                 "https://v6.example.com/x", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x"])
def test_public_targets_pass(url):
    netguard.check_public_url(url)


@pytest.mark.parametrize("url", ["ftp://cdn.example.com/a", "https://user:pw@cdn.example.com/a", "http:///x",
                                 "http://127.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/x", "http://10.0.0.1/x",
                                 "http://172.16.5.5/x", "http://192.168.1.1/x", "http://100.64.0.1/x", "http://0.0.0.0/x",
                                 "http://localhost/x", "http://postgres/x", "http://db.internal/x", "http://a.local/x",
                                 "https://split.example.com/x", "https://mapped.example.com/x",
                                 "https://unknown.example.com/x"])
def test_non_public_targets_are_refused(url):
    with pytest.raises(errors.InvalidRequest) as info:
        netguard.check_public_url(url)
    assert info.value.code == "media_url_not_allowed"
