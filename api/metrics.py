"""GET /api/metrics — JSON, or Prometheus text for `Accept: text/plain` / `?format=prometheus`.
`Authorization: Bearer $METRICS_TOKEN` (or `$CRON_SECRET`)."""

from lib.errors import InvalidRequest
from lib.http import JsonHandler, Raw, Request, Response
from lib.monitor import metrics, web

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        web.require_reader(req)
        fmt = req.query.get("format")
        if fmt not in (None, "json", "prometheus"):
            raise InvalidRequest("format is json or prometheus", code="invalid_format")
        accept = (req.header("Accept") or "").lower()
        wants_text = fmt == "prometheus" or (fmt is None and "text/plain" in accept and "json" not in accept)
        report = metrics.fetch()
        if wants_text:
            return Response(200, Raw(PROMETHEUS, metrics.as_prometheus(report).encode()))
        return Response(200, metrics.as_json(report))
