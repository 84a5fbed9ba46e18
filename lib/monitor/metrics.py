"""The metrics report: JSON for people and programs, Prometheus text for scrapers.

Everything comes from one SQL call (`monitor_report`), which first rolls up the last minutes, so
a scrape is current even between two health runs. Windowed figures are gauges over the last five
minutes (plus the current one): the counts live in the database, not in a process, so there is no
process-lifetime counter to expose; use them as they are (no `rate()`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lib import db
from lib.recorder import quantile

PROVIDERS = ("evolution", "green-api")
COUNTS = ("messages_received", "messages_sent", "messages_failed", "provider_calls", "provider_errors",
          "dead_letters", "auth_failures")
TIMINGS = ("provider_calls", "delivery_lag_ms", "webhook_ms")


def fetch(hours: int = 24) -> dict[str, Any]:
    return db.call("monitor_report", p_hours=hours, p_rollup=True)


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per provider: counts, error rate and p50/p95 of the timings."""
    out: dict[str, dict[str, Any]] = {p: {m: 0 for m in COUNTS} for p in PROVIDERS}
    for r in rows:
        p = out.setdefault(r["provider"], {m: 0 for m in COUNTS})
        p[r["metric"]] = int(r["count"])
        if r["metric"] in TIMINGS and r.get("hist"):
            name = "provider_latency_ms" if r["metric"] == "provider_calls" else r["metric"]
            p[name] = {"p50": quantile(r["hist"], 0.5), "p95": quantile(r["hist"], 0.95)}
    for p in out.values():
        calls = p.get("provider_calls", 0)
        p["error_rate"] = round(p.get("provider_errors", 0) / calls, 4) if calls else None
    return out


def hourly(series: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """{metric: {provider: [[t, count, p50, p95], ...]}} for the charts."""
    out: dict[str, dict[str, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    for r in series:
        hist = r.get("hist")
        out[r["metric"]][r["provider"]].append([r["t"], r["count"], quantile(hist, 0.5), quantile(hist, 0.95)])
    return {k: dict(v) for k, v in out.items()}


def as_json(report: dict[str, Any]) -> dict[str, Any]:
    return {"generated_at": report["now"], "evolution": report.get("evolution"), "numbers": report["numbers"],
            "last_5m": summarise(report["last_minutes"]), "hourly_24h": hourly(report["series"]),
            "open_incidents": report["incidents"], "recent_alerts": report["alerts"],
            "outbox_pending": report["outbox_pending"], "auth_failures_last_hour": report["auth_failures_last_hour"]}


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fmt(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def as_prometheus(report: dict[str, Any]) -> str:
    lines: list[str] = []

    def metric(name: str, help_text: str, samples: list[tuple[dict[str, str], float | None]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            if value is None:
                continue
            label = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{label}}} {_fmt(value)}" if label else f"{name} {_fmt(value)}")

    evo = report.get("evolution") or {}
    metric("wa_evolution_up", "1 when the last Evolution server probe succeeded",
           [({}, 1.0 if evo.get("ok") else 0.0)] if evo else [])
    metric("wa_evolution_probe_latency_ms", "latency of the last Evolution server probe",
           [({}, evo.get("latency_ms"))] if evo else [])
    metric("wa_numbers", "live numbers by provider and status",
           [({"provider": p, "status": st}, n) for p, by in sorted(report["numbers"].items())
            for st, n in sorted(by.items())])
    summary = summarise(report["last_minutes"])
    for m in COUNTS:
        metric(f"wa_{m}_5m", f"{m.replace('_', ' ')} over the last 5 minutes",
               [({"provider": p}, s.get(m, 0)) for p, s in sorted(summary.items())])
    metric("wa_provider_error_ratio_5m", "provider errors / provider calls over the last 5 minutes",
           [({"provider": p}, s["error_rate"]) for p, s in sorted(summary.items())])
    for key, name in (("provider_latency_ms", "wa_provider_latency_ms"), ("delivery_lag_ms", "wa_delivery_lag_ms"),
                      ("webhook_ms", "wa_webhook_handling_ms")):
        metric(name, f"{key.replace('_', ' ')} quantiles over the last 5 minutes",
               [({"provider": p, "quantile": q}, (s.get(key) or {}).get(f"p{int(float(q) * 100)}"))
                for p, s in sorted(summary.items()) for q in ("0.5", "0.95")])
    metric("wa_open_incidents", "open incidents by rule",
           [({"rule": rule}, float(n)) for rule, n in sorted(_count(report["incidents"], "rule").items())])
    metric("wa_alert_outbox_pending", "alert messages not yet delivered", [({}, report["outbox_pending"])])
    return "\n".join(lines) + "\n"


def _count(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        out[r[key]] += 1
    return out
