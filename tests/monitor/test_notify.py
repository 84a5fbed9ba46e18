"""Email over a real SMTP server on 127.0.0.1 (plain, STARTTLS, implicit TLS) and Slack over a real
HTTP receiver."""

from __future__ import annotations

import pytest

from lib import config
from lib.monitor.notify import email, slack
from tests.monitor.conftest import SMTP_PASSWORD, SMTP_USER, client_context


@pytest.fixture
def mail_env(monkeypatch):
    def use(url: str):
        monkeypatch.setenv("SMTP_URL", url)
        monkeypatch.setenv("ALERT_EMAIL_FROM", "alerts@inbox.test")
        monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@inbox.test,  backup@inbox.test")
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://inbox.test")
        config.reset()
    yield use
    config.reset()


def test_plain_smtp_without_credentials_delivers_to_every_recipient(smtp, mail_env):
    box, port = smtp
    mail_env(f"smtp://127.0.0.1:{port}")
    email.send("Evolution server unreachable", "It has not answered since 02:00.")
    [msg] = box.wait_for(1)
    assert msg["Subject"] == "[wa-inbox] Evolution server unreachable"
    assert msg["From"] == "alerts@inbox.test" and msg["To"] == "oncall@inbox.test, backup@inbox.test"
    assert "It has not answered since 02:00." in msg.get_payload() and "https://inbox.test/api/status" in msg.get_payload()
    assert box.envelopes[0]["to"] == ["oncall@inbox.test", "backup@inbox.test"]


def test_starttls_is_used_when_offered_and_credentials_go_only_over_it(smtp_starttls, mail_env, tls_files):
    box, port = smtp_starttls
    mail_env(f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}")
    email.send("t", "b", tls_context=client_context(tls_files))
    box.wait_for(1)
    assert box.envelopes[0]["tls"] is True and box.envelopes[0]["authenticated"] is True
    assert box.auth_attempts and all(a["tls"] for a in box.auth_attempts)


def test_credentials_are_never_sent_when_the_server_offers_no_starttls(smtp_auth_without_tls, mail_env):
    box, port = smtp_auth_without_tls
    mail_env(f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}")
    with pytest.raises(email.EmailError, match="STARTTLS"):
        email.send("t", "b")
    assert box.auth_attempts == [] and box.messages == []


def test_an_untrusted_certificate_is_refused(smtp_starttls, mail_env):
    import ssl  # noqa: PLC0415

    box, port = smtp_starttls
    mail_env(f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}")
    with pytest.raises(ssl.SSLError):
        email.send("t", "b")  # the system trust store does not know our test CA
    assert box.auth_attempts == []


def test_smtps_is_implicit_tls(smtps, mail_env, tls_files):
    box, port = smtps
    mail_env(f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}")
    email.send("t", "b", tls_context=client_context(tls_files))
    box.wait_for(1)
    assert box.envelopes[0]["tls"] is True and box.envelopes[0]["authenticated"] is True


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("mail.example.com", 25, False, None, None)),
    ("smtp://u%40x:p%2Fw@mail.example.com:587", ("mail.example.com", 587, False, "u@x", "p/w")),
    ("smtps://u:p@mail.example.com", ("mail.example.com", 465, True, "u", "p")),
])
def test_smtp_url_forms(url, expected):
    t = email.parse_url(url)
    assert (t.host, t.port, t.implicit_tls, t.user, t.password) == expected
    assert t.password is None or f"'{t.password}'" not in repr(t)  # never in a log line


def test_a_malformed_smtp_url_is_named():
    from lib.errors import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError, match="SMTP_URL"):
        config.load({"SMTP_URL": "http://mail.example.com"})


def test_slack_posts_the_text_and_fails_on_a_non_200(slack, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    config.reset()
    slack_mod = __import__("lib.monitor.notify.slack", fromlist=["send"])
    slack_mod.send("Number left active", "Front desk is logged_out")
    assert slack.received[0]["body"] == {"text": "*Number left active*\nFront desk is logged_out"}
    slack.statuses.append(500)
    with pytest.raises(slack_mod.SlackError, match="500"):
        slack_mod.send("t", "b")
    config.reset()


def test_channels_report_whether_they_are_configured(monkeypatch):
    for k in ("SMTP_URL", "ALERT_EMAIL_TO", "ALERT_EMAIL_FROM", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(k, raising=False)
    config.reset()
    assert not email.configured() and not slack.configured()
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:1")
    config.reset()
    assert not email.configured()  # no recipients
    monkeypatch.setenv("ALERT_EMAIL_TO", "a@b.test")
    monkeypatch.setenv("ALERT_EMAIL_FROM", "c@d.test")
    config.reset()
    assert email.configured() and not slack.configured()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
    config.reset()
    assert slack.configured()
    config.reset()
