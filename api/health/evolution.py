"""GET /api/health/evolution — Evolution reachability and instance health; 200 healthy, 503 not.
Details only with `Authorization: Bearer $CRON_SECRET`; a public caller costs one cheap probe."""

from lib import cron_auth, health
from lib.http import JsonHandler, Request, Response


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        detailed = cron_auth.is_cron(req)
        healthy, report = health.evolution(detailed=detailed)
        body = {"status": "ok" if healthy else "unhealthy"}
        if detailed:
            body.update(report)
        return Response(200 if healthy else 503, body)
