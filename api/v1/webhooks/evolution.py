"""POST /api/v1/webhooks/evolution — events from Evolution API (per-instance webhooks, jwt_key)."""

from lib.http import JsonHandler, Request, Response
from lib.webhooks.receive import receive


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        return receive("evolution", req)
