"""JSON logs (python-json-logger) with a request id, and redaction of every secret we know of.

Redaction works twice: by shape (GREEN-API puts the instance token in the URL path, Bearer
headers, `apikey=`/`"token": "..."` pairs, passwords in connection URLs) and by value (every
secret the process loads is registered with `register_secret`, so it is masked wherever it
appears). Both apply to the message, to `extra` fields and to exception text.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

MASK = "[redacted]"
_SECRET_KEYS = re.compile(
    r"(?i)^(authorization|apikey|api_key|x-api-key|token|.*_token|.*token_instance|apitokeninstance|"
    r"webhookurltoken|jwt_key|secret|.*_secret|password|.*_key|hash|cookie)$")
_PATTERNS = [
    # GREEN-API: {apiUrl}/waInstance{id}/{method}/{token}[/...]
    (re.compile(r"(waInstance\d+/[A-Za-z]+/)[^/?#\s\"']+"), r"\1" + MASK),
    # GREEN-API partner: /partner/{method}/{partnerToken}
    (re.compile(r"(/partner/[A-Za-z]+/)[^/?#\s\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(?i)([\"']?(?:apikey|api_key|token|apiTokenInstance|webhookUrlToken|jwt_key|password|secret|hash)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\"'&,\s}]+"), r"\1" + MASK),
    # credentials inside connection URLs: scheme://user:password@host
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1" + MASK + "@"),
]

# Secrets made of these characters (hex and UUID tokens, JWTs, URL-safe base64) are found as whole
# runs of them in one pass over the text and looked up in a set, so a line's cost does not grow
# with the number of secrets known; the few with other characters are searched for one by one.
_RUN = re.compile(r"[A-Za-z0-9_.\-]{6,}")
_RUN_SECRET = re.compile(r"[A-Za-z0-9_.\-]+")
MAX_SECRETS = 50_000  # the oldest are forgotten first (a process serves few numbers at a time)
_secrets: dict[str, None] = {}   # insertion-ordered, for eviction
_odd_secrets: dict[str, None] = {}
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later log line (ignored when too short to be a secret)."""
    if not value or len(value) < 6:
        return
    with _secrets_lock:
        target = _secrets if _RUN_SECRET.fullmatch(value) else _odd_secrets
        if value in target:
            return
        target[value] = None
        if len(target) > MAX_SECRETS:
            del target[next(iter(target))]


def _mask_run(match: re.Match) -> str:
    run = match.group(0)
    return MASK if run in _secrets else run


def redact(text: str) -> str:
    if _secrets:
        text = _RUN.sub(_mask_run, text)
    for value in list(_odd_secrets):
        if value in text:
            text = text.replace(value, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return MASK if _SECRET_KEYS.match(key) and value else redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(key, v) for v in value]
    return value


class _Formatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        rid = request_id.get()
        if rid and "request_id" not in log_data:
            log_data["request_id"] = rid
        return {k: redact_value(k, v) for k, v in log_data.items()}

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return redact(super().formatException(ei))


_configured = False
_configure_lock = threading.Lock()


def configure(level: str = "INFO", stream=None) -> None:
    """Install the JSON handler on the root logger once per process."""
    global _configured
    with _configure_lock:
        if _configured:
            return
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(_Formatter(
            "{asctime}{levelname}{name}{message}", style="{",
            rename_fields={"levelname": "level", "asctime": "ts"},
            static_fields={"service": "wa-inbox-backend"}))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
        # httpx logs full request URLs at INFO; GREEN-API URLs contain tokens. Ours are enough.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)
        _configured = True


def get(name: str) -> logging.Logger:
    return logging.getLogger(name)
