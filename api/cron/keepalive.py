"""GET /api/cron/keepalive — live check of every active session, restart of stuck ones (Vercel
Cron, weekly, `Authorization: Bearer $CRON_SECRET`); resumes where the last run stopped."""

from lib import cron_auth
from lib.http import JsonHandler, Request, Response
from lib.monitor import keepalive


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        cron_auth.require_cron(req)
        return Response(200, keepalive.run())
