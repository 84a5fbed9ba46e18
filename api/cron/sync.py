"""GET /api/cron/sync — the sync job (Vercel Cron, `Authorization: Bearer $CRON_SECRET`)."""

from lib import auth, sync
from lib.errors import Unauthorized
from lib.http import JsonHandler, Request, Response


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        if not auth.is_cron(req):
            raise Unauthorized("this endpoint is for the scheduler", code="unauthorized")
        return Response(200, sync.run())
