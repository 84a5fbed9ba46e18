"""The status page: one server-rendered HTML document, inline SVG charts, no scripts, no build.

What an operator opens first: is the Evolution server up, how many numbers are in each state per
provider, throughput, error rate and latency over the last 24 h, open incidents and the last
alerts. It refreshes itself every minute (`<meta http-equiv=refresh>`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from html import escape
from typing import Any

from lib.monitor import metrics

COLORS = {"evolution": "#2563eb", "green-api": "#16a34a"}
STATUSES = ("active", "connecting", "qr", "pending", "disconnected", "logged_out", "blocked")
W, H, PAD_L, PAD_B, PAD_T, PAD_R = 560, 180, 48, 24, 12, 12


def _when(value: Any) -> str:
    if not value:
        return "—"
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        return escape(str(value))
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def chart(title: str, series: dict[str, list[tuple[float, float]]], unit: str, t0: float, t1: float) -> str:
    """A line chart: one polyline per series over [t0, t1]; empty series show 'no data'."""
    points = [v for s in series.values() for _, v in s]
    top = max(points) * 1.15 if points and max(points) > 0 else 1.0
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def xy(t: float, v: float) -> str:
        x = PAD_L + (t - t0) / max(1.0, t1 - t0) * iw
        y = PAD_T + ih - v / top * ih
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i in range(5):
        y = PAD_T + ih * i / 4
        label = top * (4 - i) / 4
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" class="ax" text-anchor="end">{_num(label)}</text>')
    for hours_ago in (24, 18, 12, 6, 0):
        t = t1 - hours_ago * 3600
        x = PAD_L + (t - t0) / max(1.0, t1 - t0) * iw
        text = "now" if hours_ago == 0 else f"-{hours_ago}h"
        parts.append(f'<text x="{x:.1f}" y="{H - 6}" class="ax" text-anchor="middle">{text}</text>')
    legend_x = PAD_L + 6
    for name, pts in series.items():
        color = COLORS.get(name.split(" ")[0], "#6b7280")  # one colour per provider; dashed: p95, sent
        dash = ' stroke-dasharray="4 3"' if name.endswith(("p95", "sent")) else ""
        if len(pts) == 1:
            parts.append(f'<circle cx="{xy(*pts[0]).split(",")[0]}" cy="{xy(*pts[0]).split(",")[1]}" r="3" '
                         f'fill="{color}"><title>{escape(name)}: {_num(pts[0][1])} {escape(unit)}</title></circle>')
        elif pts:
            coords = " ".join(xy(t, v) for t, v in pts)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"{dash}>'
                         f"<title>{escape(name)}</title></polyline>")
        parts.append(f'<text x="{legend_x}" y="{PAD_T + 10}" class="lg" fill="{color}">{escape(name)}</text>')
        legend_x += 8 + 7 * len(name)
    if not points:
        parts.append(f'<text x="{W / 2}" y="{H / 2}" class="ax" text-anchor="middle">no data in the last 24 h</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tries(n: int) -> str:
    return f" ({n} tries)" if n > 1 else ""


def _num(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.2f}".rstrip("0").rstrip(".") or "0"


def _series(hourly: dict[str, dict[str, list[list[float]]]], metric: str, index: int,
            suffix: str = "") -> dict[str, list[tuple[float, float]]]:
    return {f"{p}{suffix}": [(r[0], r[index]) for r in rows if r[index] is not None]
            for p, rows in sorted(hourly.get(metric, {}).items())}


def _error_rate(hourly: dict[str, dict[str, list[list[float]]]]) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for p, calls in sorted(hourly.get("provider_calls", {}).items()):
        errs = {r[0]: r[1] for r in hourly.get("provider_errors", {}).get(p, [])}
        out[p] = [(t, round(100.0 * errs.get(t, 0) / n, 2)) for t, n, *_ in calls if n]
    return out


def render(report: dict[str, Any], now: float | None = None) -> str:
    data = metrics.as_json(report)
    t1 = now if now is not None else time.time()
    t0 = t1 - 24 * 3600
    hourly = data["hourly_24h"]
    evo = data["evolution"]
    if not evo:
        evo_html = '<p class="muted">Evolution is not probed yet (not configured, or the health cron has not run).</p>'
        evo_class = "unknown"
    elif evo.get("ok"):
        evo_class = "ok"
        evo_html = (f"<p><b>Up</b> — {escape(str(evo.get('latency_ms')))} ms at {_when(evo.get('checked_at'))}; "
                    f"version {escape(str(evo.get('version') or 'unknown'))}</p>")
    else:
        evo_class = "down"
        evo_html = (f"<p><b>Down</b> since {_when(evo.get('down_since'))} — {escape(str(evo.get('error')))}; "
                    f"last probe {_when(evo.get('checked_at'))}</p>")
    rows = []
    for provider, by in sorted(data["numbers"].items()):
        cells = "".join(f"<td>{by.get(s, 0)}</td>" for s in STATUSES)
        total = sum(v for k, v in by.items() if k != "deleted")
        rows.append(f"<tr><th>{escape(provider)}</th>{cells}<td>{total}</td></tr>")
    numbers = ("<table><tr><th>provider</th>" + "".join(f"<th>{s}</th>" for s in STATUSES) + "<th>total</th></tr>"
               + ("".join(rows) or f'<tr><td colspan="{len(STATUSES) + 2}">no numbers</td></tr>') + "</table>")
    last5 = data["last_5m"]
    now_rows = "".join(
        f"<tr><th>{escape(p)}</th><td>{s['messages_received']}</td><td>{s['messages_sent']}</td>"
        f"<td>{s['messages_failed']}</td><td>{s['provider_calls']}</td>"
        f"<td>{'—' if s['error_rate'] is None else f'{100 * s['error_rate']:.1f}%'}</td>"
        f"<td>{(s.get('provider_latency_ms') or {}).get('p95', '—')}</td>"
        f"<td>{(s.get('delivery_lag_ms') or {}).get('p95', '—')}</td><td>{s['dead_letters']}</td>"
        f"<td>{s['auth_failures']}</td></tr>" for p, s in sorted(last5.items()))
    throughput = _series(hourly, "messages_received", 1, " received") | _series(hourly, "messages_sent", 1, " sent")
    latency = _series(hourly, "provider_calls", 2, " p50") | _series(hourly, "provider_calls", 3, " p95")
    probes = {"evolution probe": [(p[0], p[2]) for p in report.get("probes", []) if p[1] and p[2] is not None]}
    none = '<tr><td colspan="4">none</td></tr>'
    incidents = "".join(
        f"<tr><td>{escape(i['rule'])}</td><td>{escape(i['title'])}</td><td>{escape(i['subject'])}</td>"
        f"<td>{_when(i['opened_at'])}</td></tr>" for i in data["open_incidents"]) or none
    alerts = "".join(
        f"<tr><td>{_when(a['created_at'])}</td><td>{escape(a['channel'])}</td><td>{escape(a['title'])}</td>"
        f"<td class=\"{escape(a['state'])}\">{escape(a['state'])}{_tries(a['attempts'])}</td></tr>"
        for a in data["recent_alerts"]) or none
    charts = "".join(f"<figure><figcaption>{escape(cap)}</figcaption>{chart(cap, ser, unit, t0, t1)}</figure>"
                     for cap, ser, unit in (("Messages per hour", throughput, "messages"),
                                            ("Provider error rate, %", _error_rate(hourly), "%"),
                                            ("Provider call latency, ms (p50, p95)", latency, "ms"),
                                            ("Evolution probe latency, ms", probes, "ms")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60"><link rel="icon" href="data:,">
<title>wa-inbox status</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827;background:#f9fafb}}
h1{{font-size:20px;margin:0 0 4px}} h2{{font-size:16px;margin:24px 0 8px}}
section{{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin-bottom:16px}}
table{{border-collapse:collapse}} td,th{{padding:4px 10px;border-bottom:1px solid #f3f4f6;text-align:left}}
.ok{{border-left:6px solid #16a34a}} .down{{border-left:6px solid #dc2626}} .unknown{{border-left:6px solid #9ca3af}}
.muted{{color:#6b7280}} .grid{{stroke:#e5e7eb}} .ax{{font-size:10px;fill:#6b7280}} .lg{{font-size:11px}}
td.pending{{color:#b45309}} td.sent{{color:#15803d}} .charts{{display:flex;flex-wrap:wrap;gap:16px}}
</style></head>
<body>
<h1>wa-inbox status</h1><p class="muted">Generated {_when(data['generated_at'])}; refreshes every minute.
Alert messages waiting: {data['outbox_pending']}.</p>
<section id="evolution" class="{evo_class}"><h2>Evolution server</h2>{evo_html}</section>
<section id="numbers"><h2>Numbers by status</h2>{numbers}</section>
<section id="now"><h2>Last 5 minutes</h2><table><tr><th>provider</th><th>received</th><th>sent</th><th>failed</th>
<th>provider calls</th><th>error rate</th><th>latency p95 ms</th><th>delivery lag p95 ms</th><th>dead letters</th>
<th>auth failures</th></tr>{now_rows}</table></section>
<section id="charts"><h2>Last 24 hours</h2><div class="charts">
{charts}
</div></section>
<section id="incidents"><h2>Open incidents</h2><table><tr><th>rule</th><th>what</th><th>subject</th><th>since</th></tr>
{incidents}</table></section>
<section id="alerts"><h2>Last alerts</h2><table><tr><th>when</th><th>channel</th><th>alert</th><th>delivery</th></tr>
{alerts}</table></section>
</body></html>
"""
