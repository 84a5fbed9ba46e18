"""POST /api/v1/webhooks/evolution — Evolution events of numbers configured before per-number
webhook keys (one shared `jwt_key`, so the body's `apikey` must match too). `resync-webhooks`
moves every number to /api/v1/webhooks/evolution/{number id}."""

from lib.http import JsonHandler, Request, Response
from lib.webhooks.receive import receive


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        return Response(*receive("evolution", req.headers, req.body, None, req.client))
