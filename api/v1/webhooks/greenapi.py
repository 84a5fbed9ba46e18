"""POST /api/v1/webhooks/greenapi — notifications from GREEN-API (Bearer webhookUrlToken per number)."""

from lib.http import JsonHandler, Request, Response
from lib.webhooks.receive import receive


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        return Response(*receive("green-api", req.headers, req.body, None, req.client))
