"""GET /api/cron/media — the media sweep (Vercel Cron, `Authorization: Bearer $CRON_SECRET`): stores
inbound media the webhook's background attempt did not, with back-off, inside the time limit."""

from lib import cron_auth
from lib.http import JsonHandler, Request, Response


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        cron_auth.require_cron(req)
        from lib.media import jobs  # noqa: PLC0415 - the S3 client loads for the sweep only

        return Response(200, jobs.sweep(budget_seconds=45))
