"""GET /api/cron/sync — the sync job (Vercel Cron, `Authorization: Bearer $CRON_SECRET`)."""

from lib import cron_auth, sync
from lib.http import JsonHandler, Request, Response


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        cron_auth.require_cron(req)
        return Response(200, sync.run())
