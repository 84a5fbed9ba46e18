"""GET /api/health — liveness: the function runs. No dependencies touched, no secrets."""

from lib.http import JsonHandler, Request


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> dict:
        return {"status": "ok"}
