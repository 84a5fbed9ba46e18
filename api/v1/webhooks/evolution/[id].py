"""POST /api/v1/webhooks/evolution/{number id} — one number's Evolution events, signed with that
number's own `jwt_key` (derived from EVOLUTION_WEBHOOK_SECRET and the id)."""

from lib.http import JsonHandler, Request, Response
from lib.webhooks.receive import receive


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        return Response(*receive("evolution", req.headers, req.body, req.query.get("id", ""), req.client))
