"""Monitoring fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd; plain, STARTTLS, implicit TLS),
a real HTTP receiver standing in for Slack, and the environment that points alerts at them."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from lib import config, recorder
from lib.dev.pg import free_port
from tests.receiver import Receiver

SMTP_USER, SMTP_PASSWORD = "alerts", "smtp-password-0123456789"


def _tls(server, session) -> bool:
    """Is this session encrypted: after STARTTLS (session.ssl) or from the start (implicit TLS)?"""
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


class Mailbox:
    """What the SMTP server received, and what it saw of each session (TLS, AUTH)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[dict] = []
        self.auth_attempts: list[dict] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                   "tls": _tls(server, session), "authenticated": session.authenticated})
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Message]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(f"expected {n} emails, got {len(self.messages)}")
            return list(self.messages)

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        with self.lock:
            self.auth_attempts.append({"tls": _tls(server, session), "mechanism": mechanism})
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
            and auth_data.password.decode() == SMTP_PASSWORD
        return AuthResult(success=ok)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _server_context(files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(files[0]), str(files[1]))
    return ctx


def client_context(files: tuple[Path, Path]):
    """The client side trusts our test certificate (and nothing is unverified)."""
    return lambda: ssl.create_default_context(cafile=str(files[0]))


def _start(mailbox: Mailbox, **kw) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kw)
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server (no TLS offered, no AUTH)."""
    box = Mailbox()
    c = _start(box)
    yield box, c.port
    c.stop()


@pytest.fixture
def smtp_starttls(tls_files) -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    c = _start(box, tls_context=_server_context(tls_files), require_starttls=True, auth_require_tls=True,
               authenticator=box.authenticator)
    yield box, c.port
    c.stop()


@pytest.fixture
def smtp_auth_without_tls() -> Iterator[tuple[Mailbox, int]]:
    """A server that would accept AUTH in clear: we must never send it credentials."""
    box = Mailbox()
    c = _start(box, auth_require_tls=False, authenticator=box.authenticator)
    yield box, c.port
    c.stop()


@pytest.fixture
def smtps(tls_files) -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    # aiosmtpd requires STARTTLS for AUTH unless told otherwise; this connection is TLS from the start.
    c = _start(box, ssl_context=_server_context(tls_files), authenticator=box.authenticator, auth_require_tls=False)
    yield box, c.port
    c.stop()


@pytest.fixture
def slack() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def alert_env(monkeypatch, smtp, slack):
    """Alerts pointed at the plain SMTP server and the Slack receiver."""
    box, port = smtp
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("ALERT_EMAIL_FROM", "alerts@inbox.test")
    monkeypatch.setenv("ALERT_EMAIL_TO", "oncall@inbox.test, backup@inbox.test")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    config.reset()
    yield {"mailbox": box, "slack": slack}
    config.reset()


@pytest.fixture(autouse=True)
def _empty_recorder():
    recorder.drain()
    recorder.reset_interval()
    yield
    recorder.drain()


MONITOR_TABLES = ("private.alert_outbox", "private.incidents", "private.alert_cooldowns", "private.monitor_probes",
                  "private.metrics", "private.metric_samples", "private.webhook_auth_failures",
                  "private.monitor_cursors", "private.number_monitor")
DEFAULT_SETTINGS = {"cooldown_seconds": 900, "server_down_after_seconds": 300, "error_rate": 0.10,
                    "error_window_seconds": 300, "min_calls": 20, "auth_failures": 20, "auth_window_seconds": 300,
                    "phone_unseen_days": 10}


def clean_monitor(url: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"truncate {', '.join(MONITOR_TABLES)} restart identity cascade")
        for k, v in DEFAULT_SETTINGS.items():
            conn.execute("update private.monitor_settings set value = %s where key = %s", (v, k))


@pytest.fixture(autouse=True)
def _clean_monitor_tables(request):
    """Monitoring tables are not tied to users (the shared clean-up truncates users): empty them
    before and after each test, so rows left by other modules' health calls do not leak in."""
    uses_db = "db_url" in request.fixturenames
    if uses_db:
        clean_monitor(request.getfixturevalue("db_url"))
    yield
    if uses_db:
        clean_monitor(request.getfixturevalue("db_url"))
