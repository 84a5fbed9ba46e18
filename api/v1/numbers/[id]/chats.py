"""POST /api/v1/numbers/{id}/chats — start a conversation: `{"phone"}` checked on WhatsApp → the chat
(200 existing, 201 new) or 422 `not_on_whatsapp`."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param
from lib.schemas.base import parse
from lib.schemas.conversations import StartChatRequest


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        number_id = uuid_param(req, "number_not_found")
        body = parse(StartChatRequest, req.json_object())
        status, chat = conversations.start_chat(owner, number_id, body.phone)
        return Response(status, chat)
