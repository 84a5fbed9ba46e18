"""GET /api/status — the status page (HTML). `Authorization: Bearer $METRICS_TOKEN` (or
`$CRON_SECRET`); a browser opens `?token=...` once and is remembered by an HttpOnly cookie."""

from lib.http import JsonHandler, Raw, Request, Response
from lib.monitor import metrics, status_page, web


class handler(JsonHandler):  # noqa: N801 - Vercel looks for a class named `handler`
    def get(self, req: Request) -> Response:
        login = web.token_login(req)
        if login is not None:
            return Response(303, None, login)
        web.require_reader(req, allow_cookie=True)
        html = status_page.render(metrics.fetch())
        return Response(200, Raw("text/html; charset=utf-8", html.encode()),
                        {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                         "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})
