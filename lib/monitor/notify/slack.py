"""Alert messages to Slack through an incoming webhook (`SLACK_WEBHOOK_URL`).

Slack answers 200 `ok` when it took the message; anything else is a failure the outbox retries.
The URL is a secret (whoever has it can post to the channel): it is registered for redaction.
"""

from __future__ import annotations

import httpx

from lib import config, log

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class SlackError(Exception):
    pass


def configured() -> bool:
    return bool(config.settings().slack_webhook_url)


def payload(title: str, body: str) -> dict:
    return {"text": f"*{title}*\n{body}"}


def send(title: str, body: str) -> None:
    url = config.require(config.settings().slack_webhook_url, "SLACK_WEBHOOK_URL")
    log.register_secret(url)
    try:
        resp = httpx.post(url, json=payload(title, body), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise SlackError(f"Slack could not be reached: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise SlackError(f"Slack answered {resp.status_code}: {resp.text[:200]}")
