"""POST /api/v1/messages/{id}/reaction — react to a message `{"emoji"}`; an empty emoji removes ours."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param
from lib.schemas.base import parse
from lib.schemas.conversations import ReactionRequest


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        message_id = uuid_param(req, "message_not_found")
        body = parse(ReactionRequest, req.json_object())
        return Response(200, conversations.react(owner, message_id, body.emoji))
