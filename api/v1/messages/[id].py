"""GET /api/v1/messages/{id}[?include_deleted=true] — a message with its reactions and edits;
PATCH — edit the text of a message we sent `{"text"}`; DELETE — delete a message we sent, for everyone."""

from lib import auth, conversations
from lib.errors import InvalidRequest
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        flag = req.query.get("include_deleted", "false")
        if flag not in ("true", "false"):
            raise InvalidRequest("include_deleted is true or false", code="invalid_include_deleted")
        return Response(200, conversations.get_message(owner, uuid_param(req, "message_not_found"), flag == "true"))

    def patch(self, req: Request) -> Response:
        owner = auth.user_id(req)
        message_id = uuid_param(req, "message_not_found")
        from lib.schemas.base import parse  # noqa: PLC0415 - pydantic only where a body is validated
        from lib.schemas.conversations import EditMessageRequest  # noqa: PLC0415

        body = parse(EditMessageRequest, req.json_object())
        return Response(200, conversations.edit(owner, message_id, body.text))

    def delete(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, conversations.delete(owner, uuid_param(req, "message_not_found")))
