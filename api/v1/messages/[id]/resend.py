"""POST /api/v1/messages/{id}/resend — send a failed message again as a new message (once per
Idempotency-Key, or once per failed message without one)."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        status, message = conversations.resend(owner, uuid_param(req, "message_not_found"),
                                               req.header("Idempotency-Key"))
        return Response(status, message)
