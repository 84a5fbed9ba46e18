"""Alert email over SMTP with the standard library.

`SMTP_URL` is `smtp://[user:pass@]host[:port]` (port 25 by default; 587 for submission) or
`smtps://[user:pass@]host[:port]` (implicit TLS, port 465 by default). With `smtp://`, STARTTLS
is used whenever the server offers it, and credentials are never sent over a connection that is
not encrypted: a server that does not offer STARTTLS gets no AUTH (the send fails and is retried;
the alert stays in the outbox). Certificates are verified against the system's trust store.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from lib import config, log

TIMEOUT_SECONDS = 10.0


class EmailError(Exception):
    pass


@dataclass(frozen=True)
class SmtpTarget:
    implicit_tls: bool
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise EmailError("SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://...")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(implicit, parts.hostname, parts.port or (465 if implicit else 25),
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


def configured() -> bool:
    s = config.settings()
    return bool(s.smtp_url and s.alert_email_to and s.alert_email_from)


def recipients() -> list[str]:
    return [a.strip() for a in (config.settings().alert_email_to or "").split(",") if a.strip()]


def build(title: str, body: str) -> EmailMessage:
    s = config.settings()
    msg = EmailMessage()
    msg["From"] = s.alert_email_from
    msg["To"] = ", ".join(recipients())
    msg["Subject"] = f"[wa-inbox] {title}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="wa-inbox")
    footer = f"\n\nStatus page: {s.base_url}/api/status" if s.base_url else ""
    msg.set_content(body + footer)
    return msg


def send(title: str, body: str, tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context) -> None:
    url = config.require(config.settings().smtp_url, "SMTP_URL")
    target = parse_url(url)
    log.register_secret(target.password)
    msg = build(title, body)
    context = tls_context()
    if target.implicit_tls:
        server: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        server = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS)
    with server:
        server.ehlo()
        encrypted = target.implicit_tls
        if not encrypted and server.has_extn("starttls"):
            server.starttls(context=context)
            server.ehlo()
            encrypted = True
        if target.user:
            if not encrypted:
                raise EmailError("the SMTP server does not offer STARTTLS; credentials are not sent in clear")
            server.login(target.user, target.password or "")
        server.send_message(msg)
