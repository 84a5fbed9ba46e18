"""POST /api/v1/numbers/{id}/reconnect — a fresh QR for a disconnected number; 409 when connected."""

from lib import auth, numbers
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, numbers.reconnect(owner, uuid_param(req, "number_not_found")))
