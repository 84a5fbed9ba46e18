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
        """`?force=true`: when the provider stays unreachable, delete here now; the sync job removes
        the orphan instance later."""
        owner = auth.user_id(req)
        number_id = uuid_param(req, "number_not_found")
        if req.query.get("force") == "true":
            from lib import conversations  # noqa: PLC0415

            return Response(200, conversations.force_delete(owner, number_id))
        return Response(200, numbers.delete(owner, number_id))
