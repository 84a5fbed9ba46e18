"""GET /api/v1/providers — the providers this user may add, and what each can do (the provider selector)."""

from lib import auth, conversations
from lib.http import JsonHandler, Request, Response


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        return Response(200, conversations.providers(auth.user_id(req)))
