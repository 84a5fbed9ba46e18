"""GET /api/v1/numbers — the caller's numbers (paginated); POST — add a number."""

from lib import auth, numbers
from lib.http import JsonHandler, Request, Response
from lib.pagination import cursor_from_query, next_cursor


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        owner = auth.user_id(req)
        limit, cursor = cursor_from_query(req.query)
        page = numbers.list_numbers(owner, limit, cursor)
        return Response(200, {"items": page["items"], "next_cursor": next_cursor(page)})

    def post(self, req: Request) -> Response:
        owner = auth.user_id(req)
        from lib.schemas.base import parse  # noqa: PLC0415 - pydantic only where a body is validated
        from lib.schemas.numbers import CreateNumberRequest  # noqa: PLC0415

        body = parse(CreateNumberRequest, req.json_object())
        status, number = numbers.create(owner, body, req.header("Idempotency-Key"))
        return Response(status, number)
