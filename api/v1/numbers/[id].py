"""GET /api/v1/numbers/{id} — the number, its status and current QR (poll it while scanning);
DELETE — tear the instance down and soft-delete the number (repeatable)."""

from lib import auth, numbers
from lib.http import JsonHandler, Request, Response
from lib.pagination import uuid_param


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, numbers.get(owner, uuid_param(req, "number_not_found")))

    def delete(self, req: Request) -> Response:
        owner = auth.user_id(req)
        return Response(200, numbers.delete(owner, uuid_param(req, "number_not_found")))
