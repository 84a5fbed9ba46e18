"""Operations: probes, keepalive, alert rules and the outbox, notifications, metrics, the status page.

Import-light on purpose: `lib.db` imports `recorder` (standard library only) on every cold start.
"""
