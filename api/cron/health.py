"""GET /api/cron/health — probes, metrics rollup, alert rules, outbox delivery (Vercel Cron, every
5 minutes, `Authorization: Bearer $CRON_SECRET`)."""

from lib import cron_auth
from lib.http import JsonHandler, Request, Response
from lib.monitor import health_job


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        cron_auth.require_cron(req)
        return Response(200, health_job.run())
