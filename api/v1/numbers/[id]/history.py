"""GET /api/v1/numbers/{id}/history — the number's history imports (state, pages, imported);
POST — import the history the provider holds `{"since"?}` (default 7 days), or resume the open import."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, conversations.history(owner, uuid_param(req, "number_not_found")))

    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        number_id = uuid_param(req, "number_not_found")
        from lib.schemas.base import parse  # noqa: PLC0415 - pydantic only where a body is validated
        from lib.schemas.conversations import HistoryRequest  # noqa: PLC0415

        body = parse(HistoryRequest, req.json_object() if req.body else {})
        return Response(200, conversations.import_history(owner, number_id, body.since))
