"""POST /api/v1/numbers/{id}/restart — restart a stuck session; 409 `reconnect_required` when it needs a QR."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, conversations.restart(owner, uuid_param(req, "number_not_found")))
